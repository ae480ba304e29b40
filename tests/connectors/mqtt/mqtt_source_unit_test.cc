// source.mqtt's message path and factory, without a broker.
#include <gtest/gtest.h>

#include "codecs/builtins.h"
#include "connectors/mqtt/builtins.h"
#include "connectors/mqtt/mqtt_publish.h"
#include "connectors/mqtt/mqtt_source.h"
#include "core/registry.h"
#include "fakes.h"

namespace edgeloop {
namespace {

ConfigNode scalar(const std::string& s) { return ConfigNode::scalar(s, Mark{}); }

ConfigNode source_node(const std::string& key = "{2}") {
  ConfigNode n = ConfigNode::map(Mark{});
  n.set("type", scalar("mqtt"));
  ConfigNode subs = ConfigNode::sequence(Mark{});
  subs.push(scalar("bench/t1/+/temp"));
  n.set("subscribe", subs);
  n.set("key", scalar(key));
  return n;
}

struct Bound {
  Registry registry;
  std::unique_ptr<KeyTable> keys = std::make_unique<KeyTable>(1024);
  test::CollectingOutput output;
  test::CollectingDeadLetters dead;
  Metrics metrics;
  SourceContext ctx;
  std::unique_ptr<MqttSource> source;

  explicit Bound(const ConfigNode& node) {
    register_codecs(registry);
    register_mqtt(registry);
    auto opts = registry.options_for("source", "mqtt", node, "sources.t1", {"type"});
    EXPECT_TRUE(opts.ok()) << opts.error().message;
    auto s = MqttSource::from_options(*opts, registry);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    source = std::move(s).value();
    ctx.name = "t1";
    ctx.index = 3;
    ctx.keys = keys.get();
    ctx.output = &output;
    ctx.dead_letters = &dead;
    ctx.metrics = &metrics;
    EXPECT_TRUE(source->bind(ctx).ok());
  }
  double errors(const char* reason) const {
    return metrics.value("edgeloop_source_errors_total", {{"source", "t1"}, {"reason", reason}});
  }
};

TEST(MqttSource, DecodesAndKeysAMessage) {
  Bound b(source_node());
  EXPECT_EQ(b.source->schema().names(), std::vector<std::string>{"v"});
  b.source->handle_message("bench/t1/d0042/temp", R"({"ts":1732540000123456789,"v":21.5})", 77);
  b.source->handle_message("bench/t1/d0042/temp", R"({"ts":1732540000123456790,"v":22})", 78);
  b.source->handle_message("bench/t1/d0001/temp", R"([{"ts":1,"v":1},{"ts":2,"v":2}])", 79);
  auto recs = b.output.records();
  ASSERT_EQ(recs.size(), 4u);
  const KeyId d42 = b.keys->find("d0042");
  const KeyId d1 = b.keys->find("d0001");
  ASSERT_NE(d42, kNoKey);
  ASSERT_NE(d1, kNoKey);
  EXPECT_EQ(b.keys->entry(d42).topic, "bench/t1/d0042/temp");
  EXPECT_EQ(b.keys->entry(d42).source, 3);
  EXPECT_EQ(recs[0].key, d42);
  EXPECT_EQ(recs[0].source, 3);
  EXPECT_EQ(recs[0].ts_ns, 1732540000123456789);
  EXPECT_EQ(recs[0].recv_ns, 77);
  EXPECT_EQ(recs[0].f[0], 21.5);
  EXPECT_EQ(recs[1].key, d42);
  EXPECT_EQ(recs[1].f[0], 22.0);
  EXPECT_EQ(recs[2].key, d1);
  EXPECT_EQ(recs[3].key, d1);
  EXPECT_EQ(recs[3].ts_ns, 2'000'000'000);
  EXPECT_EQ(b.metrics.value("edgeloop_source_messages_total", {{"source", "t1"}}), 3.0);
  EXPECT_EQ(b.metrics.value("edgeloop_source_records_total", {{"source", "t1"}}), 4.0);
  EXPECT_EQ(b.dead.count(), 0u);
}

TEST(MqttSource, EveryBadMessageIsCountedAndDeadLettered) {
  Bound b(source_node());
  b.source->handle_message("bench/t1/d1/temp", R"({"ts":1,"v":)", 1);
  b.source->handle_message("bench/t1/d1/temp", R"({"ts":1})", 2);
  b.source->handle_message("bench/t1/d1/temp", R"({"ts":1,"v":true})", 3);
  b.source->handle_message("bench/t1/d1/temp", std::string(70000, ' '), 4);
  b.source->handle_message("bench/t1", R"({"ts":1,"v":1})", 5);
  b.source->handle_message("bench/t1//temp", R"({"ts":1,"v":1})", 6);
  b.source->handle_message("bench/t1/d1/temp", R"({"ts":1,"v":1})", 7);  // a good one in between
  EXPECT_EQ(b.errors("malformed"), 1.0);
  EXPECT_EQ(b.errors("missing_field"), 1.0);
  EXPECT_EQ(b.errors("wrong_type"), 1.0);
  EXPECT_EQ(b.errors("too_large"), 1.0);
  EXPECT_EQ(b.errors("bad_topic"), 2.0);
  EXPECT_EQ(b.output.count(), 1u);
  auto dl = b.dead.letters();
  ASSERT_EQ(dl.size(), 6u);
  EXPECT_EQ(dl[0].source, "t1");
  EXPECT_EQ(dl[0].topic, "bench/t1/d1/temp");
  EXPECT_EQ(dl[0].payload, R"({"ts":1,"v":)");
  EXPECT_EQ(dl[0].recv_ns, 1);
  EXPECT_EQ(dl[0].reason.rfind("malformed JSON", 0), 0u) << dl[0].reason;
  EXPECT_EQ(dl[1].reason, "missing field 'v'");
  EXPECT_EQ(dl[2].reason, "field 'v' is a boolean, expected a number");
  EXPECT_EQ(dl[3].reason, "payload of 70000 bytes is larger than max_payload (65536 bytes)");
  EXPECT_EQ(dl[4].reason, "topic has no level 2 (key '{2}')");
  EXPECT_EQ(dl[4].topic, "bench/t1");
  EXPECT_EQ(dl[5].reason, "topic gives an empty key (key '{2}')");
  EXPECT_EQ(b.keys->size(), 1u);  // bad messages add no keys
}

TEST(MqttSource, KeyTableFullIsDeadLettered) {
  Bound b(source_node());
  b.keys = std::make_unique<KeyTable>(1);
  b.ctx.keys = b.keys.get();
  ASSERT_TRUE(b.source->bind(b.ctx).ok());
  b.source->handle_message("bench/t1/a/temp", R"({"ts":1,"v":1})", 1);
  b.source->handle_message("bench/t1/b/temp", R"({"ts":1,"v":1})", 2);
  EXPECT_EQ(b.output.count(), 1u);
  EXPECT_EQ(b.errors("key_limit"), 1.0);
  ASSERT_EQ(b.dead.count(), 1u);
  EXPECT_EQ(b.dead.letters()[0].topic, "bench/t1/b/temp");
}

TEST(MqttSource, CodecOptionsAndWholeTopicKey) {
  ConfigNode n = source_node("{topic}");
  ConfigNode codec = ConfigNode::map(Mark{});  // no `type`: json
  codec.set("timestamp", scalar(""));
  ConfigNode values = ConfigNode::sequence(Mark{});
  values.push(scalar("temp"));
  values.push(scalar("hum"));
  codec.set("values", values);
  n.set("codec", codec);
  Bound b(n);
  EXPECT_EQ(b.source->schema().names(), (std::vector<std::string>{"temp", "hum"}));
  b.source->handle_message("plant/line1/pump3", R"({"hum":40,"temp":21})", 55);
  auto recs = b.output.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].ts_ns, 55);
  EXPECT_EQ(recs[0].f[0], 21.0);
  EXPECT_EQ(recs[0].f[1], 40.0);
  EXPECT_EQ(b.keys->name(recs[0].key), "plant/line1/pump3");
}

TEST(MqttSource, FactoryErrors) {
  Registry reg;
  register_codecs(reg);
  register_mqtt(reg);
  auto make = [&](const ConfigNode& node) { return reg.make_source(node, "sources.s"); };
  ConfigNode n = source_node();
  n.set("subscribe", scalar("a/#/b"));
  auto bad_filter = make(n);
  ASSERT_FALSE(bad_filter.ok());
  EXPECT_NE(bad_filter.error().message.find("'a/#/b' is not a valid topic filter"), std::string::npos)
      << bad_filter.error().message;

  n = source_node("{x}");
  auto bad_key = make(n);
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.error().message.find("sources.s.key"), std::string::npos) << bad_key.error().message;

  n = source_node();
  n.set("codec", scalar("protobuf"));
  auto bad_codec = make(n);
  ASSERT_FALSE(bad_codec.ok());
  EXPECT_NE(bad_codec.error().message.find("unknown codec type 'protobuf' (one of: "), std::string::npos)
      << bad_codec.error().message;

  n = source_node();
  n.set("qos", scalar("2"));
  EXPECT_FALSE(make(n).ok());
  n = source_node();
  n.set("cert_file", scalar("/x.pem"));
  auto cert = make(n);
  ASSERT_FALSE(cert.ok());
  EXPECT_NE(cert.error().message.find("cert_file and key_file go together"), std::string::npos) << cert.error().message;
  n = source_node();
  n.set("clean_session", scalar("false"));
  EXPECT_FALSE(make(n).ok());  // needs a client_id

  ConfigNode missing = ConfigNode::map(Mark{});
  missing.set("type", scalar("mqtt"));
  auto no_subs = make(missing);
  ASSERT_FALSE(no_subs.ok());
  EXPECT_NE(no_subs.error().message.find("missing required key 'subscribe'"), std::string::npos) << no_subs.error().message;
}

TEST(MqttSource, TlsFilesAreCheckedAtStart) {
  ConfigNode n = source_node();
  n.set("ca_file", scalar("/nonexistent/ca.pem"));
  Bound b(n);
  Status st = b.source->start(b.ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("TLS files"), std::string::npos) << st.error().message;
  EXPECT_EQ(b.source->health(), Health::kDown);
}

TEST(MqttPublishAction, FactoryErrors) {
  Registry reg;
  register_mqtt(reg);
  ConfigNode n = ConfigNode::map(Mark{});
  n.set("type", scalar("mqtt_publish"));
  auto no_topic = reg.make_action(n, "actions.a");
  ASSERT_FALSE(no_topic.ok());
  EXPECT_NE(no_topic.error().message.find("missing required key 'topic'"), std::string::npos);
  n.set("topic", scalar("out/{key"));
  auto bad_topic = reg.make_action(n, "actions.a");
  ASSERT_FALSE(bad_topic.ok());
  EXPECT_NE(bad_topic.error().message.find("actions.a.topic"), std::string::npos) << bad_topic.error().message;
  n.set("topic", scalar("out/{key}"));
  n.set("payload", scalar(R"({"mean":{mean})"));
  auto bad_json = reg.make_action(n, "actions.a");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.error().message.find("actions.a.payload"), std::string::npos) << bad_json.error().message;
  EXPECT_NE(bad_json.error().message.find("does not render valid JSON"), std::string::npos) << bad_json.error().message;
  n.set("payload", scalar(R"({"mean":{mean}})"));
  auto good = reg.make_action(n, "actions.a");
  EXPECT_TRUE(good.ok()) << good.error().message;
  n.set("payload", scalar("plain {mean} text"));
  EXPECT_TRUE(reg.make_action(n, "actions.a").ok());
}

}  // namespace
}  // namespace edgeloop
