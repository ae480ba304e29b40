#include "connectors/http_ingest/key_template.h"

namespace edgeloop {

std::string json_pointer_of(std::string_view path) {
  if (!path.empty() && path.front() == '/') return std::string(path);
  std::string out = "/";
  for (char c : path) {
    if (c == '.') out += '/';
    else if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

Result<KeyTemplate> KeyTemplate::compile(std::string_view text) {
  KeyTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal += '}';
      ++i;
    } else if (c == '{') {
      const std::size_t end = text.find('}', i + 1);
      if (end == std::string_view::npos) {
        return make_error(Errc::kInvalidArgument, "key '" + t.text_ + "': '{' at " + std::to_string(i) + " is not closed");
      }
      const std::string_view field = text.substr(i + 1, end - i - 1);
      if (field.empty() || field.find('{') != std::string_view::npos) {
        return make_error(Errc::kInvalidArgument, "key '" + t.text_ + "': empty or nested field name at " + std::to_string(i));
      }
      if (!literal.empty()) t.parts_.push_back({false, std::move(literal)});
      literal.clear();
      t.parts_.push_back({true, json_pointer_of(field)});
      ++t.fields_;
      i = end;
    } else if (c == '}') {
      return make_error(Errc::kInvalidArgument, "key '" + t.text_ + "': unmatched '}' at " + std::to_string(i) + " (write '}}')");
    } else {
      literal += c;
    }
  }
  if (!literal.empty()) t.parts_.push_back({false, std::move(literal)});
  if (t.parts_.empty()) return make_error(Errc::kInvalidArgument, "key is empty");
  return t;
}

}  // namespace edgeloop
