#include "config/env_subst.h"

#include <cstdlib>

namespace edgeloop {

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

static bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

Result<std::string> substitute_env(std::string_view text, const EnvLookup& env) {
  // Fast path: most scalars hold no `$` at all.
  if (text.find('$') == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out += c;
      ++i;
      continue;
    }
    const char next = text[i + 1];
    if (next == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next != '{') {
      out += c;
      ++i;
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return make_error(Errc::kInvalidConfig,
                        "unterminated '${' in '" + std::string(text) + "' (write $$ for a literal $)");
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    std::size_t n = 0;
    while (n < inner.size() && name_char(inner[n])) ++n;
    const std::string_view name = inner.substr(0, n);
    const std::string_view rest = inner.substr(n);
    const bool has_default = rest.substr(0, 2) == ":-";
    if (name.empty() || !name_start(name.front()) || (!rest.empty() && !has_default)) {
      return make_error(Errc::kInvalidConfig, "bad variable reference '${" + std::string(inner) +
                                                  "}' (expected ${NAME} or ${NAME:-default}, NAME of A-Z a-z 0-9 _)");
    }
    std::optional<std::string> value;
    if (env) value = env(std::string(name));
    if (has_default) {
      if (value && !value->empty()) out += *value;
      else out += rest.substr(2);
    } else if (value) {
      out += *value;
    } else {
      return make_error(Errc::kInvalidConfig, "environment variable '" + std::string(name) +
                                                  "' is not set (use ${" + std::string(name) +
                                                  ":-default} for a default)");
    }
    i = close + 1;
  }
  return out;
}

}  // namespace edgeloop
