#include "actions/template.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>

#include "actions/builtins.h"
#include "actions/log_action.h"
#include "core/registry.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace edgeloop {
namespace {

struct Fixture {
  std::unique_ptr<KeyTable> keys = std::make_unique<KeyTable>(1024);
  Schema schema{{"mean", "max"}};
  std::string rule = "hot";
  std::string pipeline = "t1";
  Event event;

  Fixture() {
    auto id = keys->intern("d0007", "bench/t1/d0007/temp", 0);
    event.kind = EventKind::kAlert;
    event.state = AlertState::kRaised;
    event.key = *id;
    event.nfields = 2;
    event.ts_ns = 1732540000123456789;
    event.seq = 42;
    event.f[0] = 85.5;
    event.f[1] = 100;
    event.schema = &schema;
    event.name = &rule;
    event.pipeline_name = &pipeline;
  }
};

std::string render(std::string_view text, const Fixture& fx, EventTemplate::Escape esc = EventTemplate::Escape::kNone) {
  auto t = EventTemplate::compile(text, esc);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  if (!t.ok()) return "<error>";
  std::string out;
  t->render(fx.event, *fx.keys, out);
  return out;
}

TEST(EventTemplate, T1TopicAndPayload) {
  Fixture fx;
  EXPECT_EQ(render("bench/t1/{key}/alert", fx), "bench/t1/d0007/alert");
  EXPECT_EQ(render(R"({"ts":{ts},"mean":{mean}})", fx), R"({"ts":1732540000123456789,"mean":85.5})");
}

TEST(EventTemplate, EveryBuiltin) {
  Fixture fx;
  EXPECT_EQ(render("{topic}", fx), "bench/t1/d0007/temp");
  EXPECT_EQ(render("{topic[0]}|{topic[2]}|{topic[3]}|{topic[4]}", fx), "bench|d0007|temp|");
  EXPECT_EQ(render("{ts_ms}", fx), "1732540000123");
  EXPECT_EQ(render("{time}", fx), "2024-11-25T13:06:40.123Z");
  EXPECT_EQ(render("{kind} {KIND} {state}", fx), "alert ALERT raised");
  EXPECT_EQ(render("{pipeline}/{rule} #{seq}", fx), "t1/hot #42");
  EXPECT_EQ(render("{values}", fx), R"({"mean":85.5,"max":100})");
  EXPECT_EQ(render("{fields}", fx), "mean=85.5 max=100");
  EXPECT_EQ(render("{max}-{mean}", fx), "100-85.5");
  fx.event.state = AlertState::kCleared;
  fx.event.kind = EventKind::kInsight;
  EXPECT_EQ(render("{kind} {state}", fx), "insight cleared");
}

TEST(EventTemplate, TimeRendering) {
  std::string s;
  append_iso8601_ms(s, 0);
  EXPECT_EQ(s, "1970-01-01T00:00:00.000Z");
  s.clear();
  append_iso8601_ms(s, -1);  // floor: the last ms of 1969
  EXPECT_EQ(s, "1969-12-31T23:59:59.999Z");
  s.clear();
  append_iso8601_ms(s, 951782400000000000);  // a leap day
  EXPECT_EQ(s, "2000-02-29T00:00:00.000Z");
  s.clear();
  append_iso8601_ms(s, 4102444799999000000);
  EXPECT_EQ(s, "2099-12-31T23:59:59.999Z");
}

TEST(EventTemplate, NumbersAreShortestRoundTrip) {
  std::string s;
  append_number(s, 0.1);
  s += ' ';
  append_number(s, 1e21);
  s += ' ';
  append_number(s, -0.0);
  s += ' ';
  append_number(s, 80.00000000000001);
  s += ' ';
  append_number(s, std::nan(""));
  s += ' ';
  append_number(s, std::numeric_limits<double>::infinity());
  s += ' ';
  append_number(s, 3);
  EXPECT_EQ(s, "0.1 1e+21 -0 80.00000000000001 null null 3");
  Fixture fx;
  fx.event.f[0] = std::nan("");
  EXPECT_EQ(render("{values}", fx), R"({"mean":null,"max":100})");
}

TEST(EventTemplate, BracesAndEscapes) {
  Fixture fx;
  EXPECT_EQ(render("{{key}} {{{key}}}", fx), "{key} {d0007}");
  EXPECT_EQ(render("{ \"a\": 1 }", fx), "{ \"a\": 1 }");
  EXPECT_EQ(render("{{{{x}}}}", fx), "{{x}}");
  EXPECT_EQ(render("{{a}} }}", fx), "{a} }}");  // only the }} after a {{ is an escape
  // JSON nests without doubling.
  EXPECT_EQ(render("{\"a\":{\"b\":{mean}}}", fx), "{\"a\":{\"b\":85.5}}");
  EXPECT_EQ(render("{\"a\":{\"b\":1}}", fx), "{\"a\":{\"b\":1}}");
  EXPECT_EQ(render("}{", fx), "}{");
  EXPECT_EQ(render("", fx), "");
}

TEST(EventTemplate, JsonEscapingOfStrings) {
  Fixture fx;
  auto id = fx.keys->intern("we\"ird\\key\n", "t/we\"ird", 0);
  fx.event.key = *id;
  EXPECT_EQ(EventTemplate::escape_for(R"(  {"k":"{key}"})"), EventTemplate::Escape::kJson);
  EXPECT_EQ(EventTemplate::escape_for("a/{key}"), EventTemplate::Escape::kNone);
  EXPECT_EQ(render(R"({"k":"{key}"})", fx, EventTemplate::Escape::kJson), R"({"k":"we\"ird\\key\n"})");
  EXPECT_EQ(render("{key}", fx, EventTemplate::Escape::kNone), "we\"ird\\key\n");
  std::string s;
  append_json_escaped(s, std::string_view("a\x01z\t", 4));
  EXPECT_EQ(s, "a\\u0001z\\t");
}

TEST(EventTemplate, UnknownFieldsRenderNullAndAreCounted) {
  Fixture fx;
  auto t = EventTemplate::compile("{mean}/{nope}/{nope}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->field_names(), (std::vector<std::string>{"mean", "nope"}));
  Counter counter;
  t->set_unknown_counter(&counter);
  std::string out;
  t->render(fx.event, *fx.keys, out);
  EXPECT_EQ(out, "85.5/null/null");
  EXPECT_EQ(t->unknown_fields(), 2u);
  EXPECT_EQ(counter.value(), 2u);
  // Another schema: resolved on its own (the per-schema cache is keyed by pointer).
  Schema other({"nope"});
  Event e = fx.event;
  e.schema = &other;
  e.nfields = 1;
  e.f[0] = 7;
  out.clear();
  t->render(e, *fx.keys, out);
  EXPECT_EQ(out, "null/7/7");
  EXPECT_EQ(t->unknown_fields(), 3u);
  // A field the schema names but the event does not carry (nfields) is unknown too.
  e.nfields = 0;
  out.clear();
  t->render(e, *fx.keys, out);
  EXPECT_EQ(out, "null/null/null");
  EXPECT_TRUE(t->check(fx.schema).ok() == false);
  EXPECT_EQ(t->check(fx.schema).error().message,
            "template '{mean}/{nope}/{nope}' uses value fields the events do not have: nope (they have: mean, max)");
}

TEST(EventTemplate, EventWithoutKeyOrNames) {
  auto keys = std::make_unique<KeyTable>(16);
  Event e;
  e.ts_ns = 5;
  auto t = EventTemplate::compile("[{key}|{topic}|{rule}|{pipeline}|{values}|{fields}|{ts}]");
  ASSERT_TRUE(t.ok());
  std::string out;
  t->render(e, *keys, out);
  EXPECT_EQ(out, "[||||{}||5]");
}

TEST(EventTemplate, CompileErrorsListTheKnownPlaceholders) {
  auto bad = EventTemplate::compile("a/{key");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "template 'a/{key' at offset 2: unterminated or malformed placeholder '{key' (known placeholders: key, topic, "
            "topic[N], ts, ts_ms, time, kind, KIND, state, rule, pipeline, seq, values, fields; or a value field name; "
            "write {{ and }} for literal braces)");
  EXPECT_FALSE(EventTemplate::compile("{key name}").ok());
  EXPECT_FALSE(EventTemplate::compile("{topic[x]}").ok());
  EXPECT_FALSE(EventTemplate::compile("{topic[1}").ok());
  auto idx = EventTemplate::compile("{key[1]}");
  ASSERT_FALSE(idx.ok());
  EXPECT_NE(idx.error().message.find("only {topic[N]} takes an index, not {key[N]}"), std::string::npos);
  const std::vector<std::string> fields = {"mean"};
  auto unknown = EventTemplate::compile("{mean} {maen}", EventTemplate::Escape::kNone, &fields);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown placeholder '{maen}'"), std::string::npos) << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("value fields: mean"), std::string::npos) << unknown.error().message;
  EXPECT_TRUE(EventTemplate::compile("{mean}", EventTemplate::Escape::kNone, &fields).ok());
}

TEST(EventTemplate, RendersJsonCheck) {
  auto good = EventTemplate::compile(R"({"ts":{ts},"mean":{mean},"k":"{key}","v":{values}})");
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(check_renders_json(*good).ok());
  auto nested = EventTemplate::compile(R"({"cmd":{"speed":"low"}})");
  ASSERT_TRUE(nested.ok());
  EXPECT_TRUE(check_renders_json(*nested).ok());
  auto broken = EventTemplate::compile(R"({"ts":{ts},"mean":{mean})");
  ASSERT_TRUE(broken.ok());
  auto st = check_renders_json(*broken);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "template '{\"ts\":{ts},\"mean\":{mean}' does not render valid JSON (e.g. "
                                "'{\"ts\":0,\"mean\":null'); note that `{{` is one literal '{' and the `}}` after it one '}'");
}

TEST(EventTemplate, AppendsWithoutAllocatingOnceWarm) {
  Fixture fx;
  auto t = EventTemplate::compile(R"({"ts":{ts},"mean":{mean},"t":"{time}","v":{values}})");
  ASSERT_TRUE(t.ok());
  std::string out;
  out.reserve(256);
  const char* data = out.data();
  for (int i = 0; i < 100; ++i) {
    out.clear();
    t->render(fx.event, *fx.keys, out);
  }
  EXPECT_EQ(out.data(), data);  // the buffer was never reallocated
  EXPECT_EQ(out, R"({"ts":1732540000123456789,"mean":85.5,"t":"2024-11-25T13:06:40.123Z","v":{"mean":85.5,"max":100}})");
}

TEST(LogAction, WritesOneLinePerEvent) {
  Fixture fx;
  std::ostringstream sink_text;
  auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(sink_text));
  logger->set_pattern("%l|%v");
  auto action = LogAction::create(kDefaultLogFormat, "warn", logger);
  ASSERT_TRUE(action.ok()) << action.error().message;
  Metrics metrics;
  ActionContext ctx;
  ctx.name = "log1";
  ctx.keys = fx.keys.get();
  ctx.metrics = &metrics;
  ASSERT_TRUE((*action)->start(ctx).ok());
  (*action)->on_event(fx.event);
  fx.event.state = AlertState::kCleared;
  (*action)->on_event(fx.event);
  (*action)->stop();
  EXPECT_EQ(sink_text.str(),
            "warning|ALERT raised t1/hot key=d0007 mean=85.5 max=100 ts=2024-11-25T13:06:40.123Z\n"
            "warning|ALERT cleared t1/hot key=d0007 mean=85.5 max=100 ts=2024-11-25T13:06:40.123Z\n");
  EXPECT_EQ(metrics.value("edgeloop_action_events_total", {{"action", "log1"}}), 2.0);
}

TEST(LogAction, RegisteredWithOptions) {
  Registry reg;
  register_actions(reg);
  ConfigNode node = ConfigNode::map(Mark{});
  node.set("type", ConfigNode::scalar("log", Mark{}));
  node.set("format", ConfigNode::scalar("{key} {mean", Mark{}));
  auto bad = reg.make_action(node, "actions.a");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::kInvalidConfig);
  EXPECT_NE(bad.error().message.find("actions.a.format"), std::string::npos) << bad.error().message;
  node.set("format", ConfigNode::scalar("{key} {mean}", Mark{}));
  auto good = reg.make_action(node, "actions.a");
  EXPECT_TRUE(good.ok()) << good.error().message;
}

}  // namespace
}  // namespace edgeloop
