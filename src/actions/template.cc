#include "actions/template.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <memory>

namespace edgeloop {

// ---------------------------------------------------------------------------------------------
// Number and text helpers

void append_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out.append("null");
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) {
    out.append("null");
    return;
  }
  out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes always fit an int64
  out.append(buf, static_cast<std::size_t>(end - buf));
}

static void append_digits(std::string& out, int64_t v, int width) {
  char buf[24];
  int n = 0;
  for (; n < width || v > 0; ++n) {
    buf[n] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  while (n > 0) out.push_back(buf[--n]);
}

void append_iso8601_ms(std::string& out, int64_t ns) {
  // Floor division, so that times before 1970 render correctly too.
  int64_t ms = ns / 1'000'000;
  if (ns % 1'000'000 < 0) --ms;
  int64_t days = ms / 86'400'000;
  int64_t ms_of_day = ms % 86'400'000;
  if (ms_of_day < 0) {
    ms_of_day += 86'400'000;
    --days;
  }
  // civil_from_days (H. Hinnant): proleptic Gregorian calendar.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  if (y < 0) {
    out.push_back('-');
    y = -y;
  }
  append_digits(out, y, 4);
  out.push_back('-');
  append_digits(out, m, 2);
  out.push_back('-');
  append_digits(out, d, 2);
  out.push_back('T');
  append_digits(out, ms_of_day / 3'600'000, 2);
  out.push_back(':');
  append_digits(out, ms_of_day / 60'000 % 60, 2);
  out.push_back(':');
  append_digits(out, ms_of_day / 1'000 % 60, 2);
  out.push_back('.');
  append_digits(out, ms_of_day % 1'000, 3);
  out.push_back('Z');
}

void append_json_escaped(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::size_t run = 0;  // start of the pending plain run
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, sizeof esc);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
}

// ---------------------------------------------------------------------------------------------
// Compiling

const std::vector<std::string>& EventTemplate::builtin_names() {
  static const std::vector<std::string> names = {"key",   "topic",  "topic[N]", "ts",   "ts_ms", "time",  "kind",
                                                 "KIND",  "state",  "rule",     "pipeline", "seq", "values", "fields"};
  return names;
}

EventTemplate::Escape EventTemplate::escape_for(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{' || c == '[' ? Escape::kJson : Escape::kNone;
  }
  return Escape::kNone;
}

static bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; }

static std::string known_list(const std::vector<std::string>* fields) {
  std::string s;
  for (const auto& n : EventTemplate::builtin_names()) s += (s.empty() ? "" : ", ") + n;
  if (fields) {
    s += "; value fields: ";
    if (fields->empty()) s += "(none)";
    for (std::size_t i = 0; i < fields->size(); ++i) s += (i ? ", " : "") + (*fields)[i];
  } else {
    s += "; or a value field name";
  }
  return s;
}

Result<EventTemplate> EventTemplate::compile(std::string_view text, Escape escape, const std::vector<std::string>* fields) {
  EventTemplate t;
  t.text_ = std::string(text);
  t.escape_ = escape;
  std::string literal;
  auto flush = [&] {
    if (literal.empty()) return;
    t.segments_.push_back(Segment{Part::kLiteral, 0, std::move(literal)});
    literal.clear();
  };
  auto fail = [&](std::size_t at, const std::string& what) -> Error {
    return make_error(Errc::kInvalidArgument, "template '" + std::string(text) + "' at offset " + std::to_string(at) + ": " +
                                                  what + " (known placeholders: " + known_list(fields) +
                                                  "; write {{ and }} for literal braces)");
  };
  const std::size_t n = text.size();
  std::size_t i = 0;
  int open_escapes = 0;  // `{{` written so far whose `}}` has not come yet
  while (i < n) {
    const char c = text[i];
    if (c == '}') {
      // `}}` closes an escaped `{{` as one brace; any other '}' is itself (JSON's nesting).
      literal.push_back('}');
      if (open_escapes > 0 && i + 1 < n && text[i + 1] == '}') {
        --open_escapes;
        i += 2;
      } else {
        ++i;
      }
      continue;
    }
    if (c != '{') {
      literal.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 < n && text[i + 1] == '{') {
      literal.push_back('{');
      ++open_escapes;
      i += 2;
      continue;
    }
    if (i + 1 >= n || !is_name_start(text[i + 1])) {
      literal.push_back('{');  // not a placeholder: JSON's own braces
      ++i;
      continue;
    }
    std::size_t k = i + 1;
    while (k < n && is_name_char(text[k])) ++k;
    const std::string name(text.substr(i + 1, k - i - 1));
    int level = -1;
    if (k < n && text[k] == '[') {
      std::size_t d = k + 1;
      int v = 0;
      while (d < n && text[d] >= '0' && text[d] <= '9' && v < 1000) v = v * 10 + (text[d++] - '0');
      if (d == k + 1 || d >= n || text[d] != ']') return fail(i, "malformed index in '{" + name + "[...'");
      level = v;
      k = d + 1;
    }
    if (k >= n || text[k] != '}') return fail(i, "unterminated or malformed placeholder '" + std::string(text.substr(i, k - i + 1)) + "'");
    i = k + 1;
    Segment seg;
    if (level >= 0) {
      if (name != "topic") return fail(i, "only {topic[N]} takes an index, not {" + name + "[N]}");
      seg.part = Part::kTopicLevel;
      seg.arg = level;
    } else if (name == "key") seg.part = Part::kKey;
    else if (name == "topic") seg.part = Part::kTopic;
    else if (name == "ts") seg.part = Part::kTs;
    else if (name == "ts_ms") seg.part = Part::kTsMs;
    else if (name == "time") seg.part = Part::kTime;
    else if (name == "kind") seg.part = Part::kKind;
    else if (name == "KIND") seg.part = Part::kKindUpper;
    else if (name == "state") seg.part = Part::kState;
    else if (name == "rule") seg.part = Part::kRule;
    else if (name == "pipeline") seg.part = Part::kPipeline;
    else if (name == "seq") seg.part = Part::kSeq;
    else if (name == "values") seg.part = Part::kValues;
    else if (name == "fields") seg.part = Part::kFields;
    else {
      if (fields) {
        bool known = false;
        for (const auto& f : *fields) known = known || f == name;
        if (!known) return fail(i - name.size() - 2, "unknown placeholder '{" + name + "}'");
      }
      seg.part = Part::kField;
      int slot = -1;
      for (std::size_t f = 0; f < t.fields_.size(); ++f)
        if (t.fields_[f] == name) slot = static_cast<int>(f);
      if (slot < 0) {
        t.fields_.push_back(name);
        slot = static_cast<int>(t.fields_.size() - 1);
      }
      seg.arg = slot;
    }
    flush();
    t.segments_.push_back(std::move(seg));
  }
  flush();
  t.none_.index.assign(t.fields_.size(), -1);
  return t;
}

Status EventTemplate::check(const Schema& schema) const {
  std::string missing;
  for (const auto& f : fields_)
    if (schema.index_of(f) < 0) missing += (missing.empty() ? "" : ", ") + f;
  if (missing.empty()) return Status::Ok();
  std::string have;
  for (const auto& n : schema.names()) have += (have.empty() ? "" : ", ") + n;
  return make_error(Errc::kInvalidConfig, "template '" + text_ + "' uses value fields the events do not have: " + missing +
                                              " (they have: " + (have.empty() ? "none" : have) + ")");
}

// ---------------------------------------------------------------------------------------------
// Rendering

const EventTemplate::Resolved& EventTemplate::resolve(const Schema* schema) {
  if (!schema || fields_.empty()) return none_;
  for (const auto& r : cache_)
    if (r.schema == schema) return r;
  if (cache_.size() >= 64) cache_.clear();  // bounded: schemas live as long as the runtime
  Resolved r;
  r.schema = schema;
  for (const auto& f : fields_) r.index.push_back(schema->index_of(f));
  cache_.push_back(std::move(r));
  return cache_.back();
}

void EventTemplate::append_string(std::string& out, std::string_view s) const {
  if (escape_ == Escape::kJson) append_json_escaped(out, s);
  else out.append(s);
}

static std::string_view topic_level(std::string_view topic, int level) {
  std::size_t start = 0;
  for (int l = 0; l < level; ++l) {
    const std::size_t slash = topic.find('/', start);
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
  const std::size_t end = topic.find('/', start);
  return topic.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

void EventTemplate::render(const Event& e, const KeyTable& keys, std::string& out) {
  const bool has_key = e.key != kNoKey && e.key < keys.size();
  const std::size_t nvalues = e.schema ? std::min<std::size_t>(e.nfields, e.schema->size()) : 0;
  for (const Segment& s : segments_) {
    switch (s.part) {
      case Part::kLiteral: out.append(s.text); break;
      case Part::kKey:
        if (has_key) append_string(out, keys.name(e.key));
        break;
      case Part::kTopic:
        if (has_key) append_string(out, keys.entry(e.key).topic);
        break;
      case Part::kTopicLevel:
        if (has_key) append_string(out, topic_level(keys.entry(e.key).topic, s.arg));
        break;
      case Part::kTs: append_int(out, e.ts_ns); break;
      case Part::kTsMs: append_int(out, e.ts_ns / 1'000'000 - (e.ts_ns % 1'000'000 < 0 ? 1 : 0)); break;
      case Part::kTime: append_iso8601_ms(out, e.ts_ns); break;
      case Part::kKind: out.append(event_kind_name(e.kind)); break;
      case Part::kKindUpper:
        for (const char* p = event_kind_name(e.kind); *p; ++p) out.push_back(static_cast<char>(*p - ('a' <= *p && *p <= 'z' ? 32 : 0)));
        break;
      case Part::kState: out.append(alert_state_name(e.state)); break;
      case Part::kRule:
        if (e.name) append_string(out, *e.name);
        break;
      case Part::kPipeline:
        if (e.pipeline_name) append_string(out, *e.pipeline_name);
        break;
      case Part::kSeq: append_int(out, static_cast<int64_t>(e.seq)); break;
      case Part::kValues:
        out.push_back('{');
        for (std::size_t i = 0; i < nvalues; ++i) {
          if (i) out.push_back(',');
          out.push_back('"');
          append_json_escaped(out, e.schema->name(i));
          out.append("\":");
          append_number(out, e.f[i]);
        }
        out.push_back('}');
        break;
      case Part::kFields:
        for (std::size_t i = 0; i < nvalues; ++i) {
          if (i) out.push_back(' ');
          out.append(e.schema->name(i));
          out.push_back('=');
          append_number(out, e.f[i]);
        }
        break;
      case Part::kField: {
        const int idx = resolve(e.schema).index[static_cast<std::size_t>(s.arg)];
        if (idx >= 0 && static_cast<std::size_t>(idx) < nvalues) {
          append_number(out, e.f[static_cast<std::size_t>(idx)]);
        } else {
          out.append("null");
          ++unknown_;
          if (unknown_counter_) unknown_counter_->add();
        }
        break;
      }
    }
  }
}

Status check_renders_json(const EventTemplate& t) {
  EventTemplate copy = t;  // rendering caches per schema; keep the original untouched
  auto keys_owner = std::make_unique<KeyTable>(1);  // large: not on the stack
  KeyTable& keys = *keys_owner;
  auto id = keys.intern("key", "a/b", 0);
  const std::string name = "name";
  Event e;
  e.key = id.ok() ? *id : kNoKey;
  e.name = &name;
  e.pipeline_name = &name;
  std::string out;
  copy.render(e, keys, out);
  if (nlohmann::json::accept(out)) return Status::Ok();
  return make_error(Errc::kInvalidArgument, "template '" + t.text() + "' does not render valid JSON (e.g. '" + out +
                                                "'); note that `{{` is one literal '{' and the `}}` after it one '}'");
}

}  // namespace edgeloop
