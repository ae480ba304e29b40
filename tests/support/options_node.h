// Config nodes built in code for tests: the options of a stage, source or action as the YAML
// loader would produce them, with marks that name "test.yaml".
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/config_node.h"

namespace edgeloop::testing {

inline Mark test_mark(int line = 1) { return Mark{std::make_shared<std::string>("test.yaml"), line, 5}; }

using OptValue = std::variant<std::string, std::vector<std::string>>;

// A map node of options: {"size", "10"}, {"aggregates", std::vector<std::string>{"mean", "max"}}.
inline ConfigNode options_node(std::initializer_list<std::pair<std::string, OptValue>> kv) {
  ConfigNode m = ConfigNode::map(test_mark(1));
  int line = 2;
  for (const auto& [k, v] : kv) {
    if (const auto* s = std::get_if<std::string>(&v)) {
      m.set(k, ConfigNode::scalar(*s, test_mark(line++)));
    } else {
      ConfigNode seq = ConfigNode::sequence(test_mark(line++));
      for (const auto& item : std::get<std::vector<std::string>>(v)) seq.push(ConfigNode::scalar(item, test_mark(line)));
      m.set(k, std::move(seq));
    }
  }
  return m;
}

}  // namespace edgeloop::testing
