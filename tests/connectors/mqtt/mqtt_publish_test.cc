// action.mqtt_publish against a real mosquitto on a free loopback port.
#include <gtest/gtest.h>

#include "connectors/mqtt/builtins.h"
#include "connectors/mqtt/mqtt_publish.h"
#include "core/registry.h"
#include "fakes.h"
#include "mosquitto_broker.h"

namespace edgeloop {
namespace {

using namespace std::chrono_literals;

ConfigNode scalar(const std::string& s) { return ConfigNode::scalar(s, Mark{}); }

class MqttPublishTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::mosquitto_available()) GTEST_SKIP() << "no " << test::kMosquittoPath;
    ASSERT_TRUE(broker_.start().ok()) << broker_.log();
    register_mqtt(registry_);
    key_ = *keys_->intern("d0007", "bench/t1/d0007/temp", 0);
    event_.kind = EventKind::kAlert;
    event_.state = AlertState::kRaised;
    event_.key = key_;
    event_.nfields = 1;
    event_.f[0] = 85.5;
    event_.ts_ns = 1732540000123456789;
    event_.schema = &schema_;
    event_.name = &rule_;
    event_.pipeline_name = &pipeline_;
  }
  void TearDown() override {
    if (action_) action_->stop();
  }

  // Options beyond type/port/topic come from `extra`.
  void start_action(const std::vector<std::pair<std::string, std::string>>& extra) {
    ConfigNode n = ConfigNode::map(Mark{});
    n.set("type", scalar("mqtt_publish"));
    n.set("port", scalar(std::to_string(broker_.port())));
    n.set("topic", scalar("bench/t1/{key}/alert"));
    n.set("reconnect_min", scalar("1s"));
    n.set("reconnect_max", scalar("1s"));
    for (const auto& [k, v] : extra) n.set(k, scalar(v));
    auto a = registry_.make_action(n, "actions.alert_out");
    ASSERT_TRUE(a.ok()) << a.error().message;
    action_.reset(dynamic_cast<MqttPublishAction*>(a->release()));
    ASSERT_NE(action_, nullptr);
    ctx_.name = "alert_out";
    ctx_.keys = keys_.get();
    ctx_.metrics = &metrics_;
    ctx_.dead_letters = &dead_;
    ASSERT_TRUE(action_->start(ctx_).ok());
    ASSERT_TRUE(test::wait_until([&] { return action_->health() == Health::kConnected; }, 10s));
  }
  double metric(const char* name) const { return metrics_.value(name, {{"action", "alert_out"}}); }

  void broker_down() {
    broker_.stop();
    ASSERT_TRUE(test::wait_until([&] { return action_->health() == Health::kDown; }, 10s));
  }

  test::MosquittoBroker broker_;
  Registry registry_;
  std::unique_ptr<KeyTable> keys_ = std::make_unique<KeyTable>(1024);
  KeyId key_ = kNoKey;
  Schema schema_{{"mean"}};
  std::string rule_ = "hot";
  std::string pipeline_ = "t1";
  Event event_;
  Metrics metrics_;
  test::CollectingDeadLetters dead_;
  ActionContext ctx_;
  std::unique_ptr<MqttPublishAction> action_;
};

TEST_F(MqttPublishTest, DeliversRenderedTopicAndPayload) {
  test::MqttTestClient sub;
  ASSERT_TRUE(sub.connect(broker_.host(), broker_.port()).ok());
  ASSERT_TRUE(sub.subscribe("bench/t1/+/alert", 1).ok());
  start_action({{"payload", R"({"ts":{ts},"mean":{mean}})"}});
  action_->on_event(event_);
  auto m = sub.wait_for([](const test::ReceivedMessage&) { return true; });
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->topic, "bench/t1/d0007/alert");
  EXPECT_EQ(m->payload, R"({"ts":1732540000123456789,"mean":85.5})");
  EXPECT_EQ(m->qos, 1);
  EXPECT_FALSE(m->retain);
  ASSERT_TRUE(test::wait_until([&] { return metric("edgeloop_action_published_total") == 1.0; }, 5s));
  EXPECT_EQ(metric("edgeloop_action_events_total"), 1.0);
  EXPECT_EQ(metric("edgeloop_action_errors_total"), 0.0);
  EXPECT_EQ(action_->pending(), 0u);
  EXPECT_EQ(metrics_.value("edgeloop_connector_up", {{"connector", "alert_out"}}), 1.0);
}

TEST_F(MqttPublishTest, DefaultPayloadIsJson) {
  test::MqttTestClient sub;
  ASSERT_TRUE(sub.connect(broker_.host(), broker_.port()).ok());
  ASSERT_TRUE(sub.subscribe("bench/#", 0).ok());
  start_action({{"qos", "0"}});
  action_->on_event(event_);
  auto m = sub.wait_for([](const test::ReceivedMessage&) { return true; });
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->payload,
            R"({"kind":"alert","state":"raised","pipeline":"t1","rule":"hot","key":"d0007","ts":1732540000123456789,)"
            R"("values":{"mean":85.5}})");
  EXPECT_EQ(m->qos, 0);
}

TEST_F(MqttPublishTest, Qos1PublishedWhileTheBrokerIsDownArrivesAfterItComesBack) {
  // retain: the message reaches the subscriber even if the action reconnects before it subscribes.
  start_action({{"payload", R"({"ts":{ts},"mean":{mean}})"}, {"retain", "true"}});
  broker_down();
  action_->on_event(event_);
  EXPECT_EQ(action_->pending(), 1u);  // libmosquitto holds it (it returned MOSQ_ERR_NO_CONN)
  EXPECT_EQ(metric("edgeloop_action_dropped_total"), 0.0);
  EXPECT_EQ(metric("edgeloop_action_errors_total"), 0.0);
  ASSERT_TRUE(broker_.start().ok()) << broker_.log();
  test::MqttTestClient sub;
  ASSERT_TRUE(sub.connect(broker_.host(), broker_.port()).ok());
  ASSERT_TRUE(sub.subscribe("bench/t1/+/alert", 1).ok());
  auto m = sub.wait_for([](const test::ReceivedMessage&) { return true; }, 15s);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->topic, "bench/t1/d0007/alert");
  EXPECT_EQ(m->payload, R"({"ts":1732540000123456789,"mean":85.5})");
  ASSERT_TRUE(test::wait_until([&] { return action_->pending() == 0; }, 5s));
  EXPECT_EQ(metric("edgeloop_action_published_total"), 1.0);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(sub.count(), 1u);  // once, not also from a retry of ours
}

TEST_F(MqttPublishTest, Qos0WhileDownIsQueuedAndSentInOrder) {
  start_action({{"qos", "0"}, {"retain", "true"}, {"topic", "out/{seq}"}, {"payload", "{seq}"}});
  broker_down();
  for (uint64_t s = 1; s <= 3; ++s) {
    event_.seq = s;
    action_->on_event(event_);
  }
  EXPECT_EQ(action_->pending(), 3u);
  ASSERT_TRUE(broker_.start().ok()) << broker_.log();
  ASSERT_TRUE(test::wait_until([&] { return action_->pending() == 0; }, 15s));
  test::MqttTestClient sub;
  ASSERT_TRUE(sub.connect(broker_.host(), broker_.port()).ok());
  ASSERT_TRUE(sub.subscribe("out/#", 0).ok());
  ASSERT_TRUE(sub.wait_for_count(3, 5s));
  auto msgs = sub.messages();
  ASSERT_EQ(msgs.size(), 3u);
  for (const auto& m : msgs) EXPECT_EQ(m.topic, "out/" + m.payload);
  ASSERT_TRUE(test::wait_until([&] { return metric("edgeloop_action_published_total") == 3.0; }, 5s));
}

TEST_F(MqttPublishTest, MaxPendingDropsTheNewMessages) {
  start_action({{"max_pending", "2"}, {"retain", "true"}, {"topic", "out/{seq}"}, {"payload", "{seq}"}});
  broker_down();
  for (uint64_t s = 1; s <= 5; ++s) {
    event_.seq = s;
    action_->on_event(event_);
  }
  EXPECT_EQ(action_->pending(), 2u);
  EXPECT_EQ(metric("edgeloop_action_dropped_total"), 3.0);
  EXPECT_EQ(metric("edgeloop_action_events_total"), 5.0);
  ASSERT_TRUE(broker_.start().ok()) << broker_.log();
  ASSERT_TRUE(test::wait_until([&] { return action_->pending() == 0; }, 15s));
  test::MqttTestClient sub;
  ASSERT_TRUE(sub.connect(broker_.host(), broker_.port()).ok());
  ASSERT_TRUE(sub.subscribe("out/#", 0).ok());
  ASSERT_TRUE(sub.wait_for_count(2, 5s));
  std::this_thread::sleep_for(100ms);
  auto msgs = sub.messages();
  ASSERT_EQ(msgs.size(), 2u);  // the first two; 3..5 were dropped
  std::vector<std::string> got = {msgs[0].payload, msgs[1].payload};
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"1", "2"}));
}

TEST_F(MqttPublishTest, InvalidTopicIsAnErrorAndADeadLetter) {
  start_action({{"topic", "bad/{rule}"}});
  rule_ = "with/#/wildcard";
  action_->on_event(event_);
  EXPECT_EQ(metric("edgeloop_action_errors_total"), 1.0);
  ASSERT_EQ(dead_.count(), 1u);
  EXPECT_EQ(dead_.letters()[0].topic, "bad/with/#/wildcard");
  EXPECT_NE(dead_.letters()[0].reason.find("publish to 'bad/with/#/wildcard' failed"), std::string::npos);
  EXPECT_EQ(action_->pending(), 0u);
}

}  // namespace
}  // namespace edgeloop
