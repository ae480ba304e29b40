// Text templates over an Event, compiled once and rendered on the dispatch thread with no
// allocation beyond the output string's growth: topics ("bench/t1/{key}/alert") and payloads
// ('{"ts":{ts},"mean":{mean}}').
//
// Placeholders: {key}, {topic} (the key's first topic), {topic[N]} (its level N, 0-based),
// {ts} (event time, int ns), {ts_ms}, {time} (ISO-8601 UTC with ms), {kind}, {KIND} (upper
// case), {state} (raised/cleared/none), {rule}, {pipeline}, {seq}, {values} (a JSON object of
// every value), {fields} ("name=value name=value"), and any value field name of the event's
// Schema (a number, shortest round-trip; NaN and infinities as null). Built-in names win over
// field names.
//
// Braces: `{{` is a literal '{' and the next `}}` after it a literal '}' (so "{{key}}" renders
// "{key}"). Any other brace that opens no placeholder (a '{' not followed by a letter or '_')
// is itself, so JSON needs no doubling: '{"a":{"b":{mean}}}' is a JSON object.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/key_table.h"
#include "core/metrics.h"
#include "core/record.h"
#include "core/result.h"

namespace edgeloop {

class EventTemplate {
 public:
  // kJson escapes the strings it inserts ({key}, {rule}, ...) for use inside JSON strings.
  enum class Escape { kNone, kJson };

  // `fields`: the value names known now; when given, an unknown name is a compile error.
  // Without it, a name that is not built in is taken as a value field, resolved per Schema
  // when rendered (an unknown one renders as null and is counted).
  static Result<EventTemplate> compile(std::string_view text, Escape escape = Escape::kNone,
                                       const std::vector<std::string>* fields = nullptr);
  // kJson when the text, leading spaces aside, starts with '{' or '['.
  static Escape escape_for(std::string_view text);
  static const std::vector<std::string>& builtin_names();

  EventTemplate() = default;

  // Appends the rendering of `e` to `out`. Not thread-safe (it caches per-Schema lookups).
  void render(const Event& e, const KeyTable& keys, std::string& out);

  const std::string& text() const { return text_; }
  // The value field names it uses (not built in), in order of first use.
  const std::vector<std::string>& field_names() const { return fields_; }
  // Ok when `schema` has every value field the template uses; else names the missing ones.
  Status check(const Schema& schema) const;
  // Renders of a value field that the event's schema lacks (rendered as null).
  uint64_t unknown_fields() const { return unknown_; }
  // Also count those in `counter` (e.g. edgeloop_action_errors_total), or nullptr.
  void set_unknown_counter(Counter* counter) { unknown_counter_ = counter; }

 private:
  enum class Part : uint8_t {
    kLiteral, kKey, kTopic, kTopicLevel, kTs, kTsMs, kTime, kKind, kKindUpper, kState,
    kRule, kPipeline, kSeq, kValues, kFields, kField,
  };
  struct Segment {
    Part part = Part::kLiteral;
    int arg = 0;       // kTopicLevel: the level; kField: the index into fields_
    std::string text;  // kLiteral: the text
  };
  struct Resolved {
    const Schema* schema = nullptr;
    std::vector<int> index;  // per fields_ entry: its index in the schema, or -1
  };
  const Resolved& resolve(const Schema* schema);
  void append_string(std::string& out, std::string_view s) const;

  std::string text_;
  Escape escape_ = Escape::kNone;
  std::vector<Segment> segments_;
  std::vector<std::string> fields_;
  std::vector<Resolved> cache_;
  Resolved none_;  // for events without a schema
  uint64_t unknown_ = 0;
  Counter* unknown_counter_ = nullptr;
};

// For templates meant to produce JSON: Ok when a rendering (with placeholder values) parses as
// JSON; else says what it rendered.
Status check_renders_json(const EventTemplate& t);

// Helpers shared with other renderers.
// Shortest round-trip text of `v` (std::to_chars); "null" for NaN and infinities.
void append_number(std::string& out, double v);
void append_int(std::string& out, int64_t v);
// "2024-11-25T13:06:40.123Z" for Unix nanoseconds `ns`.
void append_iso8601_ms(std::string& out, int64_t ns);
// `s` with JSON string escapes (no surrounding quotes).
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace edgeloop
