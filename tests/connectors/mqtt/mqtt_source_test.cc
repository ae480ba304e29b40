// source.mqtt against a real mosquitto on a free loopback port.
#include <gtest/gtest.h>

#include "codecs/builtins.h"
#include "connectors/mqtt/builtins.h"
#include "connectors/mqtt/mqtt_source.h"
#include "connectors/mqtt/native_subscriber.h"
#include "core/registry.h"
#include "fakes.h"
#include "mosquitto_broker.h"

namespace edgeloop {
namespace {

using namespace std::chrono_literals;

ConfigNode scalar(const std::string& s) { return ConfigNode::scalar(s, Mark{}); }

// Each test runs with both clients: libmosquitto and the native subscriber.
class MqttSourceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!test::mosquitto_available()) GTEST_SKIP() << "no " << test::kMosquittoPath;
    ASSERT_TRUE(broker_.start().ok()) << broker_.log();
    register_codecs(registry_);
    register_mqtt(registry_);
  }

  // A source on bench/t1/+/temp keyed by level 2, started and connected.
  void start_source(const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    ConfigNode n = ConfigNode::map(Mark{});
    n.set("client", scalar(GetParam()));
    n.set("type", scalar("mqtt"));
    n.set("port", scalar(std::to_string(broker_.port())));
    n.set("subscribe", scalar("bench/t1/+/temp"));
    n.set("key", scalar("{2}"));
    n.set("reconnect_min", scalar("1s"));
    n.set("reconnect_max", scalar("2s"));
    for (const auto& [k, v] : extra) n.set(k, scalar(v));
    auto s = registry_.make_source(n, "sources.t1");
    ASSERT_TRUE(s.ok()) << s.error().message;
    source_ = std::move(s).value();
    ctx_.name = "t1";
    ctx_.index = 1;
    ctx_.keys = keys_.get();
    ctx_.output = &output_;
    ctx_.dead_letters = &dead_;
    ctx_.metrics = &metrics_;
    ASSERT_TRUE(source_->start(ctx_).ok());
    ASSERT_TRUE(test::wait_until([&] { return source_->health() == Health::kConnected; }, 10s));
    EXPECT_EQ(metrics_.value("edgeloop_connector_up", {{"connector", "t1"}}), 1.0);
    // The SUBACK is not observable from outside: publish probes until one arrives.
    test::MqttTestClient probe;
    ASSERT_TRUE(probe.connect(broker_.host(), broker_.port()).ok());
    ASSERT_TRUE(test::wait_until(
        [&] {
          (void)probe.publish("bench/t1/probe/temp", R"({"ts":1,"v":0})");
          return output_.wait_for_count(1, 20ms);
        },
        10s));
    probe.wait_published();
    std::this_thread::sleep_for(50ms);  // stragglers of the probe
    output_.clear();
    base_messages_ = messages();
  }

  double messages() const { return metrics_.value("edgeloop_source_messages_total", {{"source", "t1"}}); }
  double errors(const char* reason) const {
    return metrics_.value("edgeloop_source_errors_total", {{"source", "t1"}, {"reason", reason}});
  }

  void TearDown() override {
    if (source_) source_->stop();
  }

  test::MosquittoBroker broker_;
  Registry registry_;
  std::unique_ptr<KeyTable> keys_ = std::make_unique<KeyTable>(100000);
  test::CollectingOutput output_;
  test::CollectingDeadLetters dead_;
  Metrics metrics_;
  SourceContext ctx_;
  std::unique_ptr<Source> source_;
  double base_messages_ = 0;
};

TEST_P(MqttSourceTest, ReceivesDecodesAndKeys) {
  start_source();
  test::MqttTestClient pub;
  ASSERT_TRUE(pub.connect(broker_.host(), broker_.port()).ok());
  ASSERT_TRUE(pub.publish("bench/t1/d0007/temp", R"({"ts":1732540000123456789,"v":85.25})").ok());
  ASSERT_TRUE(pub.publish("bench/t1/d0008/temp", R"({"v":60,"ts":1732540000123456790})").ok());
  ASSERT_TRUE(pub.publish("bench/t1/d0007/humidity", R"({"ts":1,"v":1})").ok());  // not subscribed
  ASSERT_TRUE(output_.wait_for_count(2, 10s));
  std::this_thread::sleep_for(50ms);
  auto recs = output_.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(keys_->name(recs[0].key), "d0007");
  EXPECT_EQ(keys_->entry(recs[0].key).topic, "bench/t1/d0007/temp");
  EXPECT_EQ(recs[0].ts_ns, 1732540000123456789);
  EXPECT_EQ(recs[0].f[0], 85.25);
  EXPECT_EQ(recs[0].source, 1);
  EXPECT_GT(recs[0].recv_ns, 1732540000123456789);  // stamped on arrival (Unix ns)
  EXPECT_EQ(keys_->name(recs[1].key), "d0008");
  EXPECT_EQ(recs[1].ts_ns, 1732540000123456790);
  EXPECT_EQ(recs[1].f[0], 60.0);
  EXPECT_EQ(dead_.count(), 0u);
}

TEST_P(MqttSourceTest, FloodOfMalformedLosesNoGoodMessage) {
  start_source();
  constexpr int kEach = 10000;
  test::MqttTestClient pub;
  ASSERT_TRUE(pub.connect(broker_.host(), broker_.port()).ok());
  const char* bad[] = {R"({"ts":1,"v":)", R"({"ts":1})", R"({"ts":1,"v":"x"})", "not json", R"([1,2])"};
  for (int i = 0; i < kEach; ++i) {
    const std::string dev = "d" + std::to_string(i % 100);
    ASSERT_TRUE(pub.publish("bench/t1/" + dev + "/temp", R"({"ts":)" + std::to_string(1000 + i) + R"(,"v":)" + std::to_string(i) + "}").ok());
    ASSERT_TRUE(pub.publish("bench/t1/" + dev + "/temp", bad[i % 5]).ok());
  }
  ASSERT_TRUE(pub.wait_published(30s));
  ASSERT_TRUE(output_.wait_for_count(kEach, 30s)) << output_.count();
  ASSERT_TRUE(dead_.wait_for_count(kEach, 30s)) << dead_.count();
  std::this_thread::sleep_for(50ms);
  auto recs = output_.records();
  ASSERT_EQ(recs.size(), static_cast<std::size_t>(kEach));
  // Every good message, in order per device (one connection, one topic each: MQTT keeps order).
  std::vector<bool> seen(kEach, false);
  for (const Record& r : recs) {
    const int i = static_cast<int>(r.f[0]);
    ASSERT_GE(i, 0);
    ASSERT_LT(i, kEach);
    EXPECT_FALSE(seen[static_cast<std::size_t>(i)]);
    seen[static_cast<std::size_t>(i)] = true;
    EXPECT_EQ(r.ts_ns, (1000 + i) * 1'000'000'000LL);
    EXPECT_EQ(keys_->name(r.key), "d" + std::to_string(i % 100));
  }
  EXPECT_EQ(dead_.count(), static_cast<std::size_t>(kEach));
  EXPECT_EQ(errors("malformed"), 2.0 * kEach / 5);  // truncated and "not json"
  EXPECT_EQ(errors("missing_field"), kEach / 5.0);
  EXPECT_EQ(errors("wrong_type"), 2.0 * kEach / 5);  // "x" and a batch of numbers
  EXPECT_EQ(messages() - base_messages_, 2.0 * kEach);
  EXPECT_EQ(keys_->size(), 101u);  // 100 devices and the probe
}

TEST_P(MqttSourceTest, ReconnectsAfterTheBrokerIsKilledAndRestarted) {
  start_source();
  auto* mqtt = dynamic_cast<MqttSource*>(source_.get());
  ASSERT_NE(mqtt, nullptr);
  {
    test::MqttTestClient pub;
    ASSERT_TRUE(pub.connect(broker_.host(), broker_.port()).ok());
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(pub.publish("bench/t1/d1/temp", R"({"ts":1,"v":)" + std::to_string(i) + "}").ok());
    ASSERT_TRUE(pub.wait_published());
    ASSERT_TRUE(output_.wait_for_count(100, 10s));
    broker_.kill();  // mid-stream: a crash, not a clean shutdown
  }
  ASSERT_TRUE(test::wait_until([&] { return source_->health() == Health::kDown; }, 10s));
  EXPECT_EQ(metrics_.value("edgeloop_connector_up", {{"connector", "t1"}}), 0.0);
  EXPECT_EQ(mqtt->disconnects(), 1u);
  ASSERT_TRUE(broker_.start().ok()) << broker_.log();  // the same port
  ASSERT_TRUE(test::wait_until([&] { return source_->health() == Health::kConnected; }, 15s));
  EXPECT_EQ(mqtt->connects(), 2u);
  EXPECT_EQ(metrics_.value("edgeloop_connector_up", {{"connector", "t1"}}), 1.0);
  // Subscribed again (the new broker knows nothing of the old session): it receives again.
  test::MqttTestClient pub;
  ASSERT_TRUE(pub.connect(broker_.host(), broker_.port()).ok());
  ASSERT_TRUE(test::wait_until(
      [&] {
        (void)pub.publish("bench/t1/d2/temp", R"({"ts":2,"v":500})");
        return output_.wait_for_count(101, 20ms);
      },
      10s));
  auto recs = output_.records();
  EXPECT_EQ(keys_->name(recs[100].key), "d2");
  EXPECT_EQ(recs[100].f[0], 500.0);
}

TEST_P(MqttSourceTest, StopIsPromptWhileTheBrokerIsDown) {
  start_source();
  broker_.stop();
  ASSERT_TRUE(test::wait_until([&] { return source_->health() == Health::kDown; }, 10s));
  std::this_thread::sleep_for(1200ms);  // into libmosquitto's back-off sleep
  const auto t0 = std::chrono::steady_clock::now();
  source_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(source_->health(), Health::kDown);
}

TEST_P(MqttSourceTest, Qos1SubscriptionAndLargePayloads) {
  start_source({{"qos", "1"}});
  test::MqttTestClient pub;
  ASSERT_TRUE(pub.connect(broker_.host(), broker_.port()).ok());
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(pub.publish("bench/t1/q/temp", R"({"ts":1,"v":)" + std::to_string(i) + "}", 1).ok());
  }
  const std::string big(1 << 20, 'x');  // larger than the receive buffer and than max_payload
  ASSERT_TRUE(pub.publish("bench/t1/q/temp", big, 1).ok());
  ASSERT_TRUE(pub.publish("bench/t1/q/temp", R"({"ts":1,"v":2000})", 1).ok());
  ASSERT_TRUE(pub.wait_published(30s));
  ASSERT_TRUE(output_.wait_for_count(2001, 30s)) << output_.count();
  ASSERT_TRUE(dead_.wait_for_count(1, 10s));
  std::this_thread::sleep_for(100ms);
  auto recs = output_.records();
  ASSERT_EQ(recs.size(), 2001u);
  for (int i = 0; i <= 2000; ++i) EXPECT_EQ(recs[static_cast<std::size_t>(i)].f[0], i);  // once each, in order
  ASSERT_EQ(dead_.count(), 1u);
  EXPECT_EQ(dead_.letters()[0].payload.size(), big.size());
  EXPECT_EQ(errors("too_large"), 1.0);
  auto* mqtt = dynamic_cast<MqttSource*>(source_.get());
  EXPECT_EQ(mqtt->connects(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Clients, MqttSourceTest, ::testing::Values("libmosquitto", "native"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// The native client's keep-alive: idle past 1.5 x keepalive, it must still be the same session.
TEST(NativeSubscriberKeepAlive, PingsKeepAnIdleSessionAlive) {
  if (!test::mosquitto_available()) GTEST_SKIP() << "no " << test::kMosquittoPath;
  test::MosquittoBroker broker;
  ASSERT_TRUE(broker.start().ok()) << broker.log();
  std::atomic<int> received{0};
  MqttClient::Callbacks cb;
  cb.on_message = [&](std::string_view topic, std::string_view payload) {
    if (topic == "k/a" && payload == "hello") ++received;
  };
  MqttConnectConfig cfg;
  cfg.port = broker.port();
  cfg.keepalive_s = 5;
  NativeSubscriber sub("keepalive", cfg, cb);
  sub.set_subscriptions({"k/#"}, 0);
  ASSERT_TRUE(sub.start().ok());
  ASSERT_TRUE(test::wait_until([&] { return sub.health() == Health::kConnected; }, 10s));
  std::this_thread::sleep_for(8500ms);  // the broker drops a silent client after 7.5 s
  EXPECT_EQ(sub.health(), Health::kConnected);
  EXPECT_EQ(sub.connects(), 1u);
  EXPECT_EQ(sub.disconnects(), 0u);
  test::MqttTestClient pub;
  ASSERT_TRUE(pub.connect(broker.host(), broker.port()).ok());
  ASSERT_TRUE(test::wait_until(
      [&] {
        (void)pub.publish("k/a", "hello");
        return received.load() > 0;
      },
      5s));
  sub.stop();
  EXPECT_EQ(sub.health(), Health::kDown);
  EXPECT_EQ(broker.log().find("exceeded timeout"), std::string::npos) << broker.log();
}

TEST(NativeSubscriberConfig, RefusedCredentialsAreRetriedAndStopIsPrompt) {
  if (!test::mosquitto_available()) GTEST_SKIP() << "no " << test::kMosquittoPath;
  test::MosquittoBroker broker("allow_anonymous false\n");
  ASSERT_TRUE(broker.start().ok()) << broker.log();
  MqttConnectConfig cfg;
  cfg.port = broker.port();
  cfg.username = "nobody";
  cfg.password = "wrong";
  cfg.reconnect_min_ms = 50;
  cfg.reconnect_max_ms = 100;
  NativeSubscriber sub("refused", cfg, {});
  sub.set_subscriptions({"k/#"}, 0);
  ASSERT_TRUE(sub.start().ok());
  std::this_thread::sleep_for(400ms);  // several refused attempts
  EXPECT_NE(sub.health(), Health::kConnected);
  EXPECT_EQ(sub.connects(), 0u);
  const auto t0 = std::chrono::steady_clock::now();
  sub.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

}  // namespace
}  // namespace edgeloop
