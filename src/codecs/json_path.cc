#include "codecs/json_path.h"

namespace edgeloop {

static Result<std::vector<std::string>> parse_pointer(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 1;  // after the leading '/'
  while (true) {
    const std::size_t end = path.find('/', pos);
    const std::string_view raw = path.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    std::string seg;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        seg += raw[i];
        continue;
      }
      if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        seg += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        return make_error(Errc::kInvalidArgument, "JSON pointer '" + std::string(path) +
                                                      "': '~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')");
      }
    }
    if (seg.empty()) return make_error(Errc::kInvalidArgument, "JSON pointer '" + std::string(path) + "' has an empty segment");
    out.push_back(std::move(seg));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

Result<std::vector<std::string>> parse_field_path(std::string_view path) {
  if (path.empty()) return make_error(Errc::kInvalidArgument, "empty field path");
  if (path.front() == '/') return parse_pointer(path);
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = path.find('.', pos);
    const std::string_view seg = path.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (seg.empty()) {
      return make_error(Errc::kInvalidArgument,
                        "field path '" + std::string(path) + "' has an empty segment (use a JSON pointer like /a/b for keys with dots)");
    }
    out.emplace_back(seg);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

std::string field_path_text(const std::vector<std::string>& segments) {
  std::string s;
  for (const auto& seg : segments) {
    if (!s.empty()) s += '.';
    s += seg;
  }
  return s;
}

}  // namespace edgeloop
