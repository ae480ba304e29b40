// The stream key of an MQTT message, from its topic: a template over topic levels, 0-based.
// "{2}" of "bench/t1/d0001/temp" is "d0001"; "{1}/{2}" is "t1/d0001"; "{topic}" is the whole
// topic. Other text is copied; `{{` and `}}` are literal braces.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgeloop {

class TopicKey {
 public:
  static constexpr int kMaxLevel = 63;

  static Result<TopicKey> compile(std::string_view text);
  TopicKey() = default;

  // Renders the key of `topic`. The result points into `topic` (for "{topic}" or a single
  // level) or into `buf` (reused, so no allocation once warm). Returns false on a topic that
  // lacks a level (`missing_level` says which) or when the key would be empty (it is -1).
  bool render(std::string_view topic, std::string& buf, std::string_view& key, int& missing_level) const;

  const std::string& text() const { return text_; }
  bool whole_topic() const { return whole_topic_; }

 private:
  struct Part {
    int level = -1;    // -1: literal text; -2: the whole topic
    std::string text;  // literal
  };
  std::string text_;
  std::vector<Part> parts_;
  int max_level_ = -1;
  bool whole_topic_ = false;
};

}  // namespace edgeloop
