#include "core/config_node.h"

namespace edgeloop {

std::string Mark::to_string() const {
  std::string s = file ? *file : std::string("<config>");
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  return s;
}

ConfigNode ConfigNode::scalar(std::string value, Mark mark) {
  ConfigNode n;
  n.kind_ = Kind::kScalar;
  n.scalar_ = std::move(value);
  n.mark_ = std::move(mark);
  return n;
}

ConfigNode ConfigNode::sequence(Mark mark) {
  ConfigNode n;
  n.kind_ = Kind::kSequence;
  n.mark_ = std::move(mark);
  return n;
}

ConfigNode ConfigNode::map(Mark mark) {
  ConfigNode n;
  n.kind_ = Kind::kMap;
  n.mark_ = std::move(mark);
  return n;
}

const char* ConfigNode::kind_name() const {
  switch (kind_) {
    case Kind::kNull: return "nothing";
    case Kind::kScalar: return "a scalar";
    case Kind::kSequence: return "a list";
    case Kind::kMap: return "a map";
  }
  return "?";
}

const ConfigNode* ConfigNode::find(std::string_view key) const {
  for (const auto& [k, v] : entries_)
    if (k == key) return &v;
  return nullptr;
}

void ConfigNode::set(std::string key, ConfigNode value) {
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

std::string config_error_text(const Mark& mark, std::string_view path, std::string_view message) {
  std::string s = mark.to_string();
  s += ": ";
  if (!path.empty()) {
    s += path;
    s += ": ";
  }
  s += message;
  return s;
}

}  // namespace edgeloop
