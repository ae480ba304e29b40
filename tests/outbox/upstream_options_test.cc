// action.upstream's options: defaults, validation, sink-specific keys; the topic template and
// subject tokens.
#include <gtest/gtest.h>

#include "core/registry.h"
#include "outbox/builtins.h"
#include "outbox/upstream_action.h"

namespace edgeloop {
namespace {

ConfigNode node_of(std::initializer_list<std::pair<const char*, const char*>> kv) {
  ConfigNode n = ConfigNode::map(Mark{});
  n.set("type", ConfigNode::scalar("upstream", Mark{}));
  for (const auto& [k, v] : kv) n.set(k, ConfigNode::scalar(v, Mark{}));
  return n;
}

Result<UpstreamConfig> config_of(std::initializer_list<std::pair<const char*, const char*>> kv) {
  Registry reg;
  register_outbox(reg);
  const ConfigNode node = node_of(kv);  // Options point into it
  auto opts = reg.options_for("action", "upstream", node, "actions.up", {"type", "on"});
  if (!opts.ok()) return opts.take_error();
  return upstream_config(*opts);
}

TEST(UpstreamOptions, DefaultsAreTheDocumentedOnes) {
  auto c = config_of({{"path", "/tmp/x.db"}, {"gateway", "gw-1"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->nats);
  EXPECT_EQ(c->outbox.path, "/tmp/x.db");
  EXPECT_EQ(c->outbox.gateway, "gw-1");
  EXPECT_EQ(c->outbox.max_events, 1'000'000u);
  EXPECT_EQ(c->outbox.max_bytes, uint64_t{512} << 20);
  EXPECT_EQ(c->outbox.when_full, WhenFull::kDropOldest);
  EXPECT_EQ(c->outbox.sync, OutboxSync::kFull);
  EXPECT_EQ(c->outbox.max_in_flight, 1024u);
  EXPECT_EQ(c->nats_sink.connect.servers, std::vector<std::string>{"nats://127.0.0.1:4222"});
  EXPECT_EQ(c->nats_sink.prefix, "edgeloop");
  EXPECT_EQ(c->nats_sink.stream.name, "EDGELOOP");
  EXPECT_EQ(c->nats_sink.stream.duplicate_window_ns, 120'000'000'000);
  EXPECT_EQ(c->nats_sink.stream.replicas, 1);
  EXPECT_TRUE(c->nats_sink.stream.create);
  EXPECT_EQ(c->nats_sink.ack_timeout_ms, 5000);
  auto host = config_of({{"path", "/tmp/x.db"}});
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->outbox.gateway, default_gateway_id());
}

TEST(UpstreamOptions, SinkSpecificKeysAreCheckedAgainstTheSink) {
  auto bad = config_of({{"path", "/tmp/x.db"}, {"topic", "a/{key}"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("'topic' is an option of sink: mqtt"), std::string::npos) << bad.error().message;
  auto bad2 = config_of({{"path", "/tmp/x.db"}, {"sink", "mqtt"}, {"stream", "S"}});
  ASSERT_FALSE(bad2.ok());
  EXPECT_NE(bad2.error().message.find("'stream' is an option of sink: nats"), std::string::npos);
  auto mqtt = config_of({{"path", "/tmp/x.db"}, {"sink", "mqtt"}, {"port", "1999"}, {"when_full", "reject_new"},
                         {"synchronous", "normal"}});
  ASSERT_TRUE(mqtt.ok()) << mqtt.error().message;
  EXPECT_FALSE(mqtt->nats);
  EXPECT_EQ(mqtt->mqtt_sink.connect.port, 1999);
  EXPECT_EQ(mqtt->mqtt_sink.topic, "edgeloop/{gateway}/{kind}/{key}");
  EXPECT_EQ(mqtt->outbox.when_full, WhenFull::kRejectNew);
  EXPECT_EQ(mqtt->outbox.sync, OutboxSync::kNormal);
}

TEST(UpstreamOptions, BadValuesAreRejectedWithTheirPlace) {
  EXPECT_FALSE(config_of({{"gateway", "gw"}}).ok());  // path is required
  auto url = config_of({{"path", "/tmp/x.db"}, {"url", "http://x:1"}});
  ASSERT_FALSE(url.ok());
  EXPECT_NE(url.error().message.find("actions.up.url"), std::string::npos) << url.error().message;
  auto multi = config_of({{"path", "/tmp/x.db"}, {"url", "nats://a:1, nats://b:2"}});
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(multi->nats_sink.connect.servers, (std::vector<std::string>{"nats://a:1", "nats://b:2"}));
  EXPECT_FALSE(config_of({{"path", "/tmp/x.db"}, {"when_full", "block"}}).ok());
  EXPECT_FALSE(config_of({{"path", "/tmp/x.db"}, {"gateway", "a b"}}).ok());
  EXPECT_FALSE(config_of({{"path", "/tmp/x.db"}, {"retry_min", "10s"}, {"retry_max", "1s"}}).ok());

  Registry reg;
  register_outbox(reg);
  auto topic = reg.make_action(node_of({{"path", "/tmp/x.db"}, {"sink", "mqtt"}, {"topic", "a/{nope}"}}), "actions.up");
  ASSERT_FALSE(topic.ok());
  EXPECT_NE(topic.error().message.find("unknown placeholder {nope}"), std::string::npos) << topic.error().message;
  auto prefix = reg.make_action(node_of({{"path", "/tmp/x.db"}, {"prefix", "a.*"}}), "actions.up");
  ASSERT_FALSE(prefix.ok());
  auto good = reg.make_action(node_of({{"path", "/tmp/x.db"}}), "actions.up");
  EXPECT_TRUE(good.ok()) << good.error().message;
}

TEST(UpstreamTopic, RendersTheColumns) {
  auto t = UpstreamTopic::compile("up/{gateway}/{kind}/{key}/{pipeline}.{stage}");
  ASSERT_TRUE(t.ok());
  OutboxMessage m;
  m.kind = "alert";
  m.key = "line1/pump-1";
  m.pipeline = "p";
  m.stage = "hot";
  std::string out;
  t->render(m, "gw-1", out);
  EXPECT_EQ(out, "up/gw-1/alert/line1/pump-1/p.hot");
  EXPECT_FALSE(UpstreamTopic::compile("up/+/x").ok());
  EXPECT_FALSE(UpstreamTopic::compile("up/{key").ok());
  EXPECT_FALSE(UpstreamTopic::compile("").ok());
}

TEST(NatsSubjectToken, ReplacesWhatSubjectsCannotHold) {
  EXPECT_EQ(nats_subject_token("gw-1"), "gw-1");
  EXPECT_EQ(nats_subject_token("plant.a b*>"), "plant_a_b__");
  EXPECT_EQ(nats_subject_token(""), "_");
}

}  // namespace
}  // namespace edgeloop
