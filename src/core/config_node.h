// A parsed config document: maps, sequences and scalars, each with the place it came from,
// so that every error can name file, line and key. The YAML loader (src/config) builds it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgeloop {

struct Mark {
  std::shared_ptr<const std::string> file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based

  std::string to_string() const;  // "file:line:column"
};

class ConfigNode {
 public:
  enum class Kind { kNull, kScalar, kSequence, kMap };

  ConfigNode() = default;
  static ConfigNode scalar(std::string value, Mark mark);
  static ConfigNode sequence(Mark mark);
  static ConfigNode map(Mark mark);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_scalar() const { return kind_ == Kind::kScalar; }
  bool is_sequence() const { return kind_ == Kind::kSequence; }
  bool is_map() const { return kind_ == Kind::kMap; }
  const Mark& mark() const { return mark_; }
  void set_mark(Mark m) { mark_ = std::move(m); }
  const char* kind_name() const;

  // Scalars.
  const std::string& str() const { return scalar_; }

  // Sequences.
  const std::vector<ConfigNode>& items() const { return items_; }
  void push(ConfigNode n) { items_.push_back(std::move(n)); }

  // Maps, in document order.
  const std::vector<std::pair<std::string, ConfigNode>>& entries() const { return entries_; }
  const ConfigNode* find(std::string_view key) const;
  void set(std::string key, ConfigNode value);

 private:
  Kind kind_ = Kind::kNull;
  Mark mark_;
  std::string scalar_;
  std::vector<ConfigNode> items_;
  std::vector<std::pair<std::string, ConfigNode>> entries_;
};

// Builds "file:line:col: path: message" for a config error.
std::string config_error_text(const Mark& mark, std::string_view path, std::string_view message);

}  // namespace edgeloop
