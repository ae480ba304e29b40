// Per-plugin option tables: each plugin declares its options once (name, type, default,
// bounds, description); the table validates config, rejects unknown keys and generates the
// config reference in docs/.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_node.h"
#include "core/result.h"

namespace edgeloop {

enum class OptionType {
  kString,
  kInt,
  kNumber,
  kBool,
  kDuration,  // "250ms", "10s", "5m", "1h", "100us"; a bare number is seconds
  kSize,      // "64KiB", "1MiB", "1000"; bytes
  kList,      // a YAML list (or one scalar, taken as a list of one)
  kMap,       // a YAML map, checked by the plugin itself
  kAny,       // anything, checked by the plugin itself
};

const char* option_type_name(OptionType t);

struct OptionSpec {
  std::string name;
  OptionType type = OptionType::kString;
  std::string default_value;  // as written in YAML; empty with required=false means "unset"
  std::string description;
  bool required = false;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // for strings: the allowed values
};

using OptionTable = std::vector<OptionSpec>;

// Parses "10s" etc. into nanoseconds.
Result<int64_t> parse_duration_ns(std::string_view text);
// Parses "64KiB" etc. into bytes.
Result<int64_t> parse_size_bytes(std::string_view text);
Result<double> parse_number(std::string_view text);
Result<int64_t> parse_int(std::string_view text);
Result<bool> parse_bool(std::string_view text);

// Validated option values of one plugin instance.
class Options {
 public:
  Options() = default;
  Options(Options&&) = default;
  Options& operator=(Options&&) = default;
  Options(const Options&) = delete;  // values point into owned_
  Options& operator=(const Options&) = delete;
  // `node` must be a map (or null: every option takes its default). `path` names the
  // plugin's place in the config for error messages, e.g. "sources.plant".
  static Result<Options> parse(const OptionTable& table, const ConfigNode& node, std::string path,
                               const std::vector<std::string>& ignored_keys = {});

  // The same, keeping `node` alive with the Options (for nodes built on the fly).
  static Result<Options> parse_owned(const OptionTable& table, std::shared_ptr<const ConfigNode> node, std::string path,
                                     const std::vector<std::string>& ignored_keys = {});

  bool has(std::string_view name) const;  // set in the config (not a default)
  std::string str(std::string_view name) const;
  int64_t integer(std::string_view name) const;
  double number(std::string_view name) const;
  bool flag(std::string_view name) const;
  int64_t duration_ns(std::string_view name) const;
  int64_t size_bytes(std::string_view name) const;
  std::vector<std::string> list(std::string_view name) const;  // scalars of a list option
  const ConfigNode* node(std::string_view name) const;         // the raw node, if set
  const std::string& path() const { return path_; }
  const Mark& mark() const { return mark_; }
  // An error about option `name`, pointing at its place in the file.
  Error error(std::string_view name, std::string_view message) const;

 private:
  struct Value {
    OptionType type;
    bool set = false;
    std::string text;
    double number = 0;
    int64_t integer = 0;
    const ConfigNode* node = nullptr;
    Mark mark;
  };
  const Value* get(std::string_view name) const;

  std::string path_;
  Mark mark_;
  std::map<std::string, Value, std::less<>> values_;
  // Defaults, as nodes. Set values point into the document, which must outlive the Options.
  std::vector<ConfigNode> owned_;
  std::shared_ptr<const ConfigNode> doc_;  // set by parse_owned
};

// Markdown reference for one plugin's options (used to generate docs/config-reference.md).
std::string options_markdown(const OptionTable& table);

}  // namespace edgeloop
