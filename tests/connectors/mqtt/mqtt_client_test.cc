// MqttClient's will against a real mosquitto: asked before the first connect and again after
// each disconnect, so every session carries the will computed for it.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "connectors/mqtt/mqtt_client.h"
#include "mosquitto_broker.h"

namespace edgeloop {
namespace {

using namespace std::chrono_literals;

// The broker drops a client that sends a packet over 200 bytes without a DISCONNECT, so it
// publishes that client's will: an unclean end of session on demand.
constexpr const char* kBrokerConfig = "max_packet_size 200\n";

TEST(MqttClientWill, RecomputedForEverySessionAndClearedWhenEmpty) {
  if (!test::mosquitto_available()) GTEST_SKIP() << "no " << test::kMosquittoPath;
  test::MosquittoBroker broker(kBrokerConfig);
  ASSERT_TRUE(broker.start().ok()) << broker.log();
  test::MqttTestClient sub;
  ASSERT_TRUE(sub.connect(broker.host(), broker.port()).ok());
  ASSERT_TRUE(sub.subscribe("will/#", 1).ok());

  std::atomic<int> will_calls{0};
  std::atomic<int> disconnected{0};
  MqttClient::Callbacks cb;
  cb.on_disconnected = [&] { ++disconnected; };
  cb.will = [&] {
    const int n = ++will_calls;
    if (n >= 3) return MqttWill{};  // the third session has none
    return MqttWill{"will/c1", "gone-" + std::to_string(n), 1, false};
  };
  MqttConnectConfig cfg;
  cfg.port = broker.port();
  cfg.reconnect_min_s = 1;
  cfg.reconnect_max_s = 1;
  MqttClient client("will test", cfg, cb);
  ASSERT_TRUE(client.start().ok());
  EXPECT_EQ(will_calls.load(), 1);  // before the first connect
  ASSERT_TRUE(test::wait_until([&] { return client.health() == Health::kConnected; }, 10s));

  const std::string big(500, 'x');
  auto drop_session = [&](uint64_t connects_after) {
    ASSERT_EQ(client.publish("big", big, 0, false), 0);
    ASSERT_TRUE(test::wait_until([&] { return client.connects() == connects_after; }, 10s)) << broker.log();
  };

  drop_session(2);
  auto w1 = sub.wait_for([](const test::ReceivedMessage& m) { return m.topic == "will/c1"; });
  ASSERT_TRUE(w1.has_value()) << broker.log();
  EXPECT_EQ(w1->payload, "gone-1");
  EXPECT_EQ(w1->qos, 1);
  EXPECT_FALSE(w1->retain);
  EXPECT_EQ(will_calls.load(), 2);
  EXPECT_EQ(disconnected.load(), 1);

  drop_session(3);
  auto w2 = sub.wait_for([](const test::ReceivedMessage& m) { return m.topic == "will/c1" && m.payload != "gone-1"; });
  ASSERT_TRUE(w2.has_value()) << broker.log();
  EXPECT_EQ(w2->payload, "gone-2");
  EXPECT_EQ(will_calls.load(), 3);

  // The third session's will was cleared: its end publishes nothing. The marker, sent after
  // the client is back, arrives after anything the broker published for the dropped session.
  drop_session(4);
  ASSERT_TRUE(sub.publish("will/marker", "m", 1).ok());
  ASSERT_TRUE(sub.wait_for([](const test::ReceivedMessage& m) { return m.topic == "will/marker"; }).has_value());
  int wills = 0;
  for (const auto& m : sub.messages()) wills += m.topic == "will/c1" ? 1 : 0;
  EXPECT_EQ(wills, 2);
  EXPECT_EQ(will_calls.load(), 4);

  // A clean stop sends a DISCONNECT (no will) and asks for no further will.
  client.stop();
  EXPECT_EQ(will_calls.load(), 4);
  EXPECT_EQ(client.health(), Health::kDown);
  EXPECT_EQ(client.disconnects(), 4u);
}

TEST(MqttClientWill, UnsetWillKeepsThePlainClient) {
  if (!test::mosquitto_available()) GTEST_SKIP() << "no " << test::kMosquittoPath;
  test::MosquittoBroker broker(kBrokerConfig);
  ASSERT_TRUE(broker.start().ok()) << broker.log();
  test::MqttTestClient sub;
  ASSERT_TRUE(sub.connect(broker.host(), broker.port()).ok());
  ASSERT_TRUE(sub.subscribe("#", 1).ok());
  MqttConnectConfig cfg;
  cfg.port = broker.port();
  MqttClient client("no will", cfg, MqttClient::Callbacks{});
  ASSERT_TRUE(client.start().ok());
  ASSERT_TRUE(test::wait_until([&] { return client.health() == Health::kConnected; }, 10s));
  ASSERT_EQ(client.publish("big", std::string(500, 'x'), 0, false), 0);
  ASSERT_TRUE(test::wait_until([&] { return client.connects() == 2; }, 10s)) << broker.log();
  ASSERT_TRUE(sub.publish("marker", "m", 1).ok());
  ASSERT_TRUE(sub.wait_for([](const test::ReceivedMessage& m) { return m.topic == "marker"; }).has_value());
  ASSERT_EQ(sub.count(), 1u);  // the dropped session published nothing
  EXPECT_EQ(sub.messages()[0].topic, "marker");
}

}  // namespace
}  // namespace edgeloop
