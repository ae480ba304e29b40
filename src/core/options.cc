#include "core/options.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace edgeloop {

const char* option_type_name(OptionType t) {
  switch (t) {
    case OptionType::kString: return "string";
    case OptionType::kInt: return "integer";
    case OptionType::kNumber: return "number";
    case OptionType::kBool: return "boolean";
    case OptionType::kDuration: return "duration";
    case OptionType::kSize: return "size";
    case OptionType::kList: return "list";
    case OptionType::kMap: return "map";
    case OptionType::kAny: return "any";
  }
  return "?";
}

static std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<double> parse_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return make_error(Errc::kTypeMismatch, "expected a number, got an empty value");
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || std::isnan(v)) {
    return make_error(Errc::kTypeMismatch, "expected a number, got '" + s + "'");
  }
  return v;
}

Result<int64_t> parse_int(std::string_view text) {
  text = trim(text);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) {
    return make_error(Errc::kTypeMismatch, "expected an integer, got '" + std::string(text) + "'");
  }
  return v;
}

Result<bool> parse_bool(std::string_view text) {
  text = trim(text);
  if (text == "true" || text == "yes" || text == "on" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "no" || text == "off" || text == "False" || text == "FALSE") return false;
  return make_error(Errc::kTypeMismatch, "expected true or false, got '" + std::string(text) + "'");
}

// Splits "10.5ms" into 10.5 and "ms".
static bool split_unit(std::string_view text, double& value, std::string_view& unit) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.' ||
                             text[i] == '-' || text[i] == '+' || text[i] == 'e' || text[i] == 'E')) {
    // 'e' belongs to the number only when followed by a digit or sign (not "1e" of nothing).
    if ((text[i] == 'e' || text[i] == 'E') &&
        (i + 1 >= text.size() || !(std::isdigit(static_cast<unsigned char>(text[i + 1])) ||
                                   text[i + 1] == '-' || text[i + 1] == '+'))) {
      break;
    }
    ++i;
  }
  auto num = parse_number(text.substr(0, i));
  if (!num.ok()) return false;
  value = *num;
  unit = trim(text.substr(i));
  return true;
}

Result<int64_t> parse_duration_ns(std::string_view text) {
  text = trim(text);
  double v = 0;
  std::string_view unit;
  if (!split_unit(text, v, unit)) {
    return make_error(Errc::kTypeMismatch, "expected a duration like 500ms, 10s, 5m, got '" + std::string(text) + "'");
  }
  double mult = 0;
  if (unit.empty() || unit == "s") mult = 1e9;
  else if (unit == "ns") mult = 1;
  else if (unit == "us") mult = 1e3;
  else if (unit == "ms") mult = 1e6;
  else if (unit == "m" || unit == "min") mult = 60e9;
  else if (unit == "h") mult = 3600e9;
  else if (unit == "d") mult = 86400e9;
  else return make_error(Errc::kTypeMismatch, "unknown duration unit '" + std::string(unit) + "' (ns, us, ms, s, m, h, d)");
  if (v < 0) return make_error(Errc::kTypeMismatch, "a duration cannot be negative: '" + std::string(text) + "'");
  const double ns = v * mult;
  if (ns > 9.2e18) return make_error(Errc::kTypeMismatch, "duration too long: '" + std::string(text) + "'");
  return static_cast<int64_t>(std::llround(ns));
}

Result<int64_t> parse_size_bytes(std::string_view text) {
  text = trim(text);
  double v = 0;
  std::string_view unit;
  if (!split_unit(text, v, unit)) {
    return make_error(Errc::kTypeMismatch, "expected a size like 4096, 64KiB, 1MiB, got '" + std::string(text) + "'");
  }
  double mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KiB" || unit == "K") mult = 1024;
  else if (unit == "MiB" || unit == "M") mult = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G") mult = 1024.0 * 1024 * 1024;
  else if (unit == "KB" || unit == "kB") mult = 1e3;
  else if (unit == "MB") mult = 1e6;
  else if (unit == "GB") mult = 1e9;
  else return make_error(Errc::kTypeMismatch, "unknown size unit '" + std::string(unit) + "' (B, KiB, MiB, GiB, kB, MB, GB)");
  if (v < 0 || v * mult > 9.2e18) return make_error(Errc::kTypeMismatch, "size out of range: '" + std::string(text) + "'");
  return static_cast<int64_t>(std::llround(v * mult));
}

static std::string known_keys(const OptionTable& table) {
  std::string s;
  for (const auto& o : table) {
    if (!s.empty()) s += ", ";
    s += o.name;
  }
  return s.empty() ? "(none)" : s;
}

Result<Options> Options::parse(const OptionTable& table, const ConfigNode& node, std::string path,
                               const std::vector<std::string>& ignored_keys) {
  Options out;
  out.path_ = std::move(path);
  out.mark_ = node.mark();
  if (!node.is_null() && !node.is_map()) {
    return make_error(Errc::kInvalidConfig,
                      config_error_text(node.mark(), out.path_, std::string("expected a map of options, got ") + node.kind_name()));
  }
  // Unknown keys first: a typo is the most common config error.
  for (const auto& [key, value] : node.entries()) {
    bool known = false;
    for (const auto& o : table) known = known || o.name == key;
    for (const auto& k : ignored_keys) known = known || k == key;
    if (!known) {
      return make_error(Errc::kInvalidConfig,
                        config_error_text(value.mark(), out.path_,
                                          "unknown key '" + key + "' (expected one of: " + known_keys(table) + ")"));
    }
  }
  out.owned_.reserve(table.size());
  for (const auto& spec : table) {
    Value v;
    v.type = spec.type;
    const ConfigNode* n = node.is_map() ? node.find(spec.name) : nullptr;
    const std::string where = out.path_.empty() ? spec.name : out.path_ + "." + spec.name;
    if (n && n->is_null()) n = nullptr;
    if (!n) {
      if (spec.required) {
        return make_error(Errc::kInvalidConfig,
                          config_error_text(node.mark(), out.path_,
                                            "missing required key '" + spec.name + "' (" + option_type_name(spec.type) +
                                                ": " + spec.description + ")"));
      }
      if (spec.default_value.empty()) {
        out.values_.emplace(spec.name, std::move(v));
        continue;
      }
      out.owned_.push_back(ConfigNode::scalar(spec.default_value, node.mark()));
      n = &out.owned_.back();
    } else {
      v.set = true;
    }
    v.node = n;
    v.mark = n->mark();
    auto fail = [&](const std::string& msg) {
      return make_error(Errc::kInvalidConfig, config_error_text(n->mark(), where, msg));
    };
    const bool needs_scalar = spec.type != OptionType::kList && spec.type != OptionType::kMap && spec.type != OptionType::kAny;
    if (needs_scalar && !n->is_scalar()) {
      return fail(std::string("expected a ") + option_type_name(spec.type) + ", got " + n->kind_name());
    }
    v.text = n->is_scalar() ? n->str() : std::string();
    double numeric = 0;
    bool check_bounds = false;
    switch (spec.type) {
      case OptionType::kString:
        if (!spec.choices.empty()) {
          bool ok = false;
          std::string all;
          for (const auto& c : spec.choices) {
            ok = ok || c == v.text;
            all += (all.empty() ? "" : ", ") + c;
          }
          if (!ok) return fail("'" + v.text + "' is not one of: " + all);
        }
        break;
      case OptionType::kInt: {
        auto r = parse_int(v.text);
        if (!r.ok()) return fail(r.error().message);
        v.integer = *r;
        numeric = static_cast<double>(*r);
        check_bounds = true;
        break;
      }
      case OptionType::kNumber: {
        auto r = parse_number(v.text);
        if (!r.ok()) return fail(r.error().message);
        v.number = *r;
        numeric = *r;
        check_bounds = true;
        break;
      }
      case OptionType::kBool: {
        auto r = parse_bool(v.text);
        if (!r.ok()) return fail(r.error().message);
        v.integer = *r ? 1 : 0;
        break;
      }
      case OptionType::kDuration: {
        auto r = parse_duration_ns(v.text);
        if (!r.ok()) return fail(r.error().message);
        v.integer = *r;
        numeric = static_cast<double>(*r) * 1e-9;  // bounds are in seconds
        check_bounds = true;
        break;
      }
      case OptionType::kSize: {
        auto r = parse_size_bytes(v.text);
        if (!r.ok()) return fail(r.error().message);
        v.integer = *r;
        numeric = static_cast<double>(*r);
        check_bounds = true;
        break;
      }
      case OptionType::kList:
        if (n->is_map()) return fail("expected a list, got a map");
        break;
      case OptionType::kMap:
        if (!n->is_map()) return fail(std::string("expected a map, got ") + n->kind_name());
        break;
      case OptionType::kAny:
        break;
    }
    if (check_bounds && (numeric < spec.min || numeric > spec.max)) {
      std::string range = "must be";
      char buf[96];
      if (std::isfinite(spec.min) && std::isfinite(spec.max)) std::snprintf(buf, sizeof buf, " between %g and %g", spec.min, spec.max);
      else if (std::isfinite(spec.min)) std::snprintf(buf, sizeof buf, " at least %g", spec.min);
      else std::snprintf(buf, sizeof buf, " at most %g", spec.max);
      return fail("'" + v.text + "' out of range: " + range + buf);
    }
    out.values_.emplace(spec.name, std::move(v));
  }
  // owned_ grew within its reserved capacity, so the pointers into it stay valid.
  return out;
}

Result<Options> Options::parse_owned(const OptionTable& table, std::shared_ptr<const ConfigNode> node, std::string path,
                                     const std::vector<std::string>& ignored_keys) {
  auto r = parse(table, *node, std::move(path), ignored_keys);
  if (r.ok()) r->doc_ = std::move(node);
  return r;
}

const Options::Value* Options::get(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

bool Options::has(std::string_view name) const {
  const Value* v = get(name);
  return v && v->set;
}

std::string Options::str(std::string_view name) const {
  const Value* v = get(name);
  return v ? v->text : std::string();
}

int64_t Options::integer(std::string_view name) const {
  const Value* v = get(name);
  return v ? v->integer : 0;
}

double Options::number(std::string_view name) const {
  const Value* v = get(name);
  if (!v) return 0;
  return v->type == OptionType::kNumber ? v->number : static_cast<double>(v->integer);
}

bool Options::flag(std::string_view name) const { return integer(name) != 0; }
int64_t Options::duration_ns(std::string_view name) const { return integer(name); }
int64_t Options::size_bytes(std::string_view name) const { return integer(name); }

std::vector<std::string> Options::list(std::string_view name) const {
  std::vector<std::string> out;
  const Value* v = get(name);
  if (!v || !v->node) return out;
  if (v->node->is_scalar()) {
    out.push_back(v->node->str());
  } else {
    for (const auto& item : v->node->items())
      if (item.is_scalar()) out.push_back(item.str());
  }
  return out;
}

const ConfigNode* Options::node(std::string_view name) const {
  const Value* v = get(name);
  return v ? v->node : nullptr;
}

Error Options::error(std::string_view name, std::string_view message) const {
  const Value* v = get(name);
  const Mark& m = v && v->node ? v->node->mark() : mark_;
  std::string where = path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  return make_error(Errc::kInvalidConfig, config_error_text(m, where, message));
}

std::string options_markdown(const OptionTable& table) {
  if (table.empty()) return "No options.\n";
  std::string s = "| option | type | default | description |\n|---|---|---|---|\n";
  for (const auto& o : table) {
    std::string desc = o.description;
    if (!o.choices.empty()) {
      desc += " One of:";
      for (std::size_t i = 0; i < o.choices.size(); ++i) desc += (i ? ", `" : " `") + o.choices[i] + "`";
      desc += ".";
    }
    char range[128] = "";
    if (std::isfinite(o.min) || std::isfinite(o.max)) {
      if (std::isfinite(o.min) && std::isfinite(o.max)) std::snprintf(range, sizeof range, " Range %g to %g.", o.min, o.max);
      else if (std::isfinite(o.min)) std::snprintf(range, sizeof range, " At least %g.", o.min);
      else std::snprintf(range, sizeof range, " At most %g.", o.max);
    }
    s += "| `" + o.name + "` | " + option_type_name(o.type) + " | " +
         (o.required ? std::string("required") : o.default_value.empty() ? std::string("-") : "`" + o.default_value + "`") +
         " | " + desc + range + " |\n";
  }
  return s;
}

}  // namespace edgeloop
