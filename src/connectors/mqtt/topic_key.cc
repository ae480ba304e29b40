#include "connectors/mqtt/topic_key.h"

namespace edgeloop {

Result<TopicKey> TopicKey::compile(std::string_view text) {
  TopicKey k;
  k.text_ = std::string(text);
  auto fail = [&](std::size_t at, const std::string& what) {
    return make_error(Errc::kInvalidArgument, "key template '" + std::string(text) + "' at offset " + std::to_string(at) +
                                                  ": " + what + " (use {N} for topic level N, 0-based, or {topic})");
  };
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) k.parts_.push_back(Part{-1, std::move(literal)});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal.push_back(c);
      i += 2;
      continue;
    }
    if (c == '}') return fail(i, "unmatched '}' (write }} for a literal one)");
    if (c != '{') {
      literal.push_back(c);
      ++i;
      continue;
    }
    const std::size_t close = text.find('}', i);
    if (close == std::string_view::npos) return fail(i, "unterminated '{'");
    const std::string_view name = text.substr(i + 1, close - i - 1);
    Part p;
    if (name == "topic") {
      p.level = -2;
    } else {
      int v = 0;
      if (name.empty() || name.size() > 2) return fail(i, "unknown placeholder '{" + std::string(name) + "}'");
      for (char d : name) {
        if (d < '0' || d > '9') return fail(i, "unknown placeholder '{" + std::string(name) + "}'");
        v = v * 10 + (d - '0');
      }
      if (v > kMaxLevel) return fail(i, "level " + std::to_string(v) + " is past the last supported (" + std::to_string(kMaxLevel) + ")");
      p.level = v;
      k.max_level_ = std::max(k.max_level_, v);
    }
    flush();
    k.parts_.push_back(std::move(p));
    i = close + 1;
  }
  flush();
  if (k.parts_.empty()) return make_error(Errc::kInvalidArgument, "key template is empty (use {topic} for the whole topic)");
  k.whole_topic_ = k.parts_.size() == 1 && k.parts_[0].level == -2;
  return k;
}

bool TopicKey::render(std::string_view topic, std::string& buf, std::string_view& key, int& missing_level) const {
  if (whole_topic_) {
    key = topic;
    missing_level = -1;
    return !topic.empty();
  }
  // Level boundaries, up to the highest level used (left uninitialised past that on purpose:
  // this runs per message).
  std::size_t begin[kMaxLevel + 1];
  std::size_t end[kMaxLevel + 1];
  int found = 0;
  std::size_t start = 0;
  while (found <= max_level_) {
    const std::size_t slash = topic.find('/', start);
    begin[found] = start;
    end[found] = slash == std::string_view::npos ? topic.size() : slash;
    ++found;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (max_level_ >= found) {
    missing_level = max_level_;
    for (const auto& p : parts_)
      if (p.level >= found) {
        missing_level = p.level;
        break;
      }
    return false;
  }
  auto level = [&](int l) { return topic.substr(begin[l], end[l] - begin[l]); };
  if (parts_.size() == 1 && parts_[0].level >= 0) {
    key = level(parts_[0].level);
  } else {
    buf.clear();
    for (const auto& p : parts_) {
      if (p.level == -1) buf.append(p.text);
      else if (p.level == -2) buf.append(topic);
      else buf.append(level(p.level));
    }
    key = buf;
  }
  missing_level = -1;
  return !key.empty();
}

}  // namespace edgeloop
