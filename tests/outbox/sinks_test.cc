// The outbox with its real sinks, in process: NATS JetStream (nats-server on a free port) and
// MQTT QoS 1 (mosquitto), with the upstream down at start and stopped under load.
#include <gtest/gtest.h>
#include <mosquitto.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/clock.h"
#include "mosquitto_broker.h"
#include "nats_server.h"
#include "outbox/mqtt_sink.h"
#include "outbox/nats_sink.h"
#include "outbox/outbox.h"
#include "process.h"

namespace edgeloop {
namespace {

using namespace std::chrono_literals;
using test::wait_until;

struct Events {
  KeyTable keys;
  Schema schema{std::vector<std::string>{"v"}};
  std::string pipeline = "p";
  std::string stage = "hot";
  Event make(const std::string& key, int64_t ts) {
    Event e;
    e.kind = EventKind::kAlert;
    e.state = AlertState::kRaised;
    e.key = *keys.intern(key, "", 0);
    e.ts_ns = ts;
    e.nfields = 1;
    e.f[0] = static_cast<double>(ts);
    e.schema = &schema;
    e.name = &stage;
    e.pipeline_name = &pipeline;
    return e;
  }
};

// What a consumer saw, in arrival order: the first copy of each id, and how many copies.
struct Seen {
  std::vector<std::pair<std::string, std::string>> first;  // id, payload
  std::map<std::string, int> copies;
  void add(const std::string& id, const std::string& payload) {
    if (copies[id]++ == 0) first.emplace_back(id, payload);
  }
};

// Checks: ids gw:1..n exactly, and per key the event times (= push order) only go up.
void expect_complete_and_ordered(const Seen& seen, uint64_t n) {
  EXPECT_EQ(seen.first.size(), n);
  std::set<std::string> want;
  for (uint64_t i = 1; i <= n; ++i) want.insert("gw:" + std::to_string(i));
  std::set<std::string> got;
  for (const auto& [id, _] : seen.first) got.insert(id);
  EXPECT_EQ(got, want);
  std::map<std::string, int64_t> last_ts;
  int out_of_order = 0;
  for (const auto& [id, payload] : seen.first) {
    auto j = nlohmann::json::parse(payload);
    EXPECT_EQ(j["id"].get<std::string>(), id);
    const std::string key = j["key"];
    const int64_t ts = j["ts_ns"];
    if (last_ts.count(key) && ts <= last_ts[key]) ++out_of_order;
    last_ts[key] = ts;
  }
  EXPECT_EQ(out_of_order, 0);
}

class SinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = test::make_temp_dir("edgeloop-sinks-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    config_.name = "up";
    config_.path = dir_ + "/outbox.db";
    config_.gateway = "gw";
    config_.sync = OutboxSync::kNormal;
    config_.retry_min_ns = 50'000'000;
    config_.retry_max_ns = 500'000'000;
  }
  void TearDown() override {
    if (outbox_) outbox_->stop();
    outbox_.reset();
    test::remove_tree(dir_);
  }

  void start_outbox(std::unique_ptr<UpstreamSink> sink) {
    auto o = Outbox::open(config_, std::move(sink));
    ASSERT_TRUE(o.ok()) << o.error().message;
    outbox_ = std::move(o).value();
    ASSERT_TRUE(outbox_->start(&events_.keys, &metrics_).ok());
  }

  std::unique_ptr<NatsSink> nats_sink(const std::string& url) {
    NatsSinkConfig c;
    c.connect.servers = {url};
    c.connect.reconnect_wait_ms = 100;
    c.gateway = "gw";
    c.ack_timeout_ms = 1000;
    c.max_pending = static_cast<int>(config_.max_in_flight);
    auto s = NatsSink::create(c);
    EXPECT_TRUE(s.ok());
    return std::move(s).value();
  }

  // Pushes n events round robin over `keys` keys at about `rate` per second; `at(i)` runs
  // before event i (from this thread).
  void push_load(int n, int keys, int rate, const std::function<void(int)>& at = {}) {
    const int64_t t0 = mono_now_ns();
    for (int i = 0; i < n; ++i) {
      if (at) at(i);
      ASSERT_TRUE(outbox_->push(events_.make("k" + std::to_string(i % keys), 1'000'000 + i)));
      const int64_t due = t0 + static_cast<int64_t>(i + 1) * 1'000'000'000 / rate;
      const int64_t now = mono_now_ns();
      if (due > now) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
    }
  }

  Seen read_nats(const std::string& url, uint64_t* stored = nullptr) {
    Seen seen;
    auto msgs = test::nats_read_stream(url, "EDGELOOP");
    EXPECT_TRUE(msgs.ok()) << msgs.error().message;
    if (!msgs.ok()) return seen;
    for (const auto& m : *msgs) {
      EXPECT_EQ(m.subject, "edgeloop.gw.alert");
      seen.add(m.msg_id, m.data);
    }
    if (stored) *stored = msgs->size();
    return seen;
  }

  std::string dir_;
  OutboxConfig config_;
  Events events_;
  Metrics metrics_;
  std::unique_ptr<Outbox> outbox_;
};

TEST_F(SinksTest, NatsJetStreamStoresEveryEventOnceInOrder) {
  if (!test::nats_server_available()) GTEST_SKIP() << "nats-server not installed";
  test::NatsServer server;
  ASSERT_TRUE(server.start().ok()) << server.log();
  start_outbox(nats_sink(server.url()));
  constexpr int kN = 3000;
  for (int i = 0; i < kN; ++i) ASSERT_TRUE(outbox_->push(events_.make("k" + std::to_string(i % 10), 1'000'000 + i)));
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == kN && outbox_->backlog() == 0; }, 30s))
      << outbox_->delivered() << " delivered";
  uint64_t stored = 0;
  const Seen seen = read_nats(server.url(), &stored);
  EXPECT_EQ(stored, static_cast<uint64_t>(kN));
  expect_complete_and_ordered(seen, kN);
  auto state = test::nats_stream_state(server.url(), "EDGELOOP");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->duplicate_window_ns, 120'000'000'000);  // created by the sink
  EXPECT_EQ(outbox_->retried(), 0u);
}

TEST_F(SinksTest, NatsDownAtStartThenUpDeliversTheBacklog) {
  if (!test::nats_server_available()) GTEST_SKIP() << "nats-server not installed";
  test::NatsServer server;
  ASSERT_TRUE(server.prepare().ok());  // its port is known; nothing listens yet
  start_outbox(nats_sink(server.url()));
  for (int i = 0; i < 500; ++i) outbox_->push(events_.make("k" + std::to_string(i % 3), 1'000'000 + i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() == 500; }, 10s));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(outbox_->delivered(), 0u);
  EXPECT_EQ(outbox_->health(), Health::kDown);
  ASSERT_TRUE(server.start().ok()) << server.log();
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 500 && outbox_->backlog() == 0; }, 30s))
      << outbox_->delivered() << " delivered";
  uint64_t stored = 0;
  expect_complete_and_ordered(read_nats(server.url(), &stored), 500);
  EXPECT_EQ(stored, 500u);
}

TEST_F(SinksTest, NatsStoppedUnderLoadThenStartedLosesNothingAndStoresNothingTwice) {
  if (!test::nats_server_available()) GTEST_SKIP() << "nats-server not installed";
  test::NatsServer server;
  ASSERT_TRUE(server.start().ok()) << server.log();
  start_outbox(nats_sink(server.url()));
  constexpr int kN = 6000;
  uint64_t backlog_at_restart = 0;
  push_load(kN, 10, 3000, [&](int i) {
    if (i == kN / 3) {
      server.stop();  // SIGTERM mid-stream: in-flight publishes are in doubt
      EXPECT_TRUE(wait_until([&] { return outbox_->health() == Health::kDown; }, 5s));
    }
    if (i == 2 * kN / 3) {
      backlog_at_restart = outbox_->backlog();
      ASSERT_TRUE(server.start().ok()) << server.log();
    }
  });
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() >= kN && outbox_->backlog() == 0; }, 60s))
      << outbox_->delivered() << " delivered, backlog " << outbox_->backlog();
  uint64_t stored = 0;
  const Seen seen = read_nats(server.url(), &stored);
  EXPECT_EQ(stored, static_cast<uint64_t>(kN));  // JetStream de-duplicated every re-send
  expect_complete_and_ordered(seen, kN);
  EXPECT_GT(backlog_at_restart, static_cast<uint64_t>(kN / 4));  // the outage was real: events waited
  EXPECT_EQ(outbox_->accepted(), static_cast<uint64_t>(kN));
}

// A persistent MQTT subscriber (clean_session false, QoS 1), so that what the broker received
// while the subscriber was reconnecting is kept for it across a broker restart.
class PersistentSubscriber {
 public:
  PersistentSubscriber(const std::string& host, int port, const std::string& filter) : filter_(filter) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new("edgeloop-sinks-test-sub", false, this);
    mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void* self, int rc) {
      auto* s = static_cast<PersistentSubscriber*>(self);
      if (rc == 0) mosquitto_subscribe(m, nullptr, s->filter_.c_str(), 1);
      s->connected_ = rc == 0;
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* msg) {
      auto* s = static_cast<PersistentSubscriber*>(self);
      auto j = nlohmann::json::parse(std::string(static_cast<const char*>(msg->payload), static_cast<std::size_t>(msg->payloadlen)),
                                     nullptr, false);
      std::lock_guard lock(s->mu_);
      if (!j.is_discarded()) s->seen_.add(j["id"].get<std::string>(), j.dump());
      s->topics_.insert(msg->topic);
    });
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    mosquitto_connect(mosq_, host.c_str(), port, 30);
    mosquitto_loop_start(mosq_);
  }
  ~PersistentSubscriber() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }
  bool connected() const { return connected_.load(); }
  Seen seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::set<std::string> topics() const {
    std::lock_guard lock(mu_);
    return topics_;
  }

 private:
  std::string filter_;
  mosquitto* mosq_ = nullptr;
  std::atomic<bool> connected_{false};
  mutable std::mutex mu_;
  Seen seen_;
  std::set<std::string> topics_;
};

std::unique_ptr<MqttSink> mqtt_sink(int port) {
  MqttSinkConfig c;
  c.connect.host = "127.0.0.1";
  c.connect.port = port;
  c.connect.reconnect_min_s = 1;
  c.connect.reconnect_max_s = 1;
  c.gateway = "gw";
  auto s = MqttSink::create(c);
  EXPECT_TRUE(s.ok());
  return std::move(s).value();
}

TEST_F(SinksTest, MqttQos1DeliversEveryEventInOrder) {
  if (!test::mosquitto_available()) GTEST_SKIP() << "mosquitto not installed";
  test::MosquittoBroker broker;
  ASSERT_TRUE(broker.start().ok());
  PersistentSubscriber sub("127.0.0.1", broker.port(), "edgeloop/#");
  ASSERT_TRUE(wait_until([&] { return sub.connected(); }, 5s));
  std::this_thread::sleep_for(100ms);  // the SUBACK
  start_outbox(mqtt_sink(broker.port()));
  constexpr int kN = 2000;
  for (int i = 0; i < kN; ++i) ASSERT_TRUE(outbox_->push(events_.make("line1/pump-" + std::to_string(i % 4), 1'000'000 + i)));
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == kN && outbox_->backlog() == 0; }, 30s));
  ASSERT_TRUE(wait_until([&] { return sub.seen().first.size() == kN; }, 10s)) << sub.seen().first.size();
  expect_complete_and_ordered(sub.seen(), kN);
  EXPECT_EQ(sub.topics(), (std::set<std::string>{"edgeloop/gw/alert/line1/pump-0", "edgeloop/gw/alert/line1/pump-1",
                                                 "edgeloop/gw/alert/line1/pump-2", "edgeloop/gw/alert/line1/pump-3"}));
}

TEST_F(SinksTest, MqttBrokerStoppedUnderLoadThenStartedLosesNothing) {
  if (!test::mosquitto_available()) GTEST_SKIP() << "mosquitto not installed";
  // Persistence, so that the subscriber's session and its queued messages survive the restart.
  test::MosquittoBroker broker("persistence true\npersistence_location " + dir_ + "/\nautosave_interval 1");
  ASSERT_TRUE(broker.start().ok()) << broker.log();
  PersistentSubscriber sub("127.0.0.1", broker.port(), "edgeloop/#");
  ASSERT_TRUE(wait_until([&] { return sub.connected(); }, 5s));
  std::this_thread::sleep_for(100ms);
  start_outbox(mqtt_sink(broker.port()));
  constexpr int kN = 3000;
  uint64_t backlog_at_restart = 0;
  push_load(kN, 6, 2000, [&](int i) {
    if (i == kN / 3) {
      broker.stop();
      EXPECT_TRUE(wait_until([&] { return outbox_->health() == Health::kDown; }, 5s));
    }
    if (i == 2 * kN / 3) {
      backlog_at_restart = outbox_->backlog();
      ASSERT_TRUE(broker.start().ok()) << broker.log();
    }
  });
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == kN && outbox_->backlog() == 0; }, 60s))
      << outbox_->delivered() << " delivered, backlog " << outbox_->backlog();
  ASSERT_TRUE(wait_until([&] { return sub.seen().first.size() == kN; }, 20s)) << sub.seen().first.size();
  expect_complete_and_ordered(sub.seen(), kN);
  EXPECT_GT(backlog_at_restart, static_cast<uint64_t>(kN / 4));
}

}  // namespace
}  // namespace edgeloop
