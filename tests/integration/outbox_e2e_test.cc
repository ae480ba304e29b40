// The outbox end to end: the real `edgeloop run` binary with an MQTT source (mosquitto) whose
// readings make a rule raise and clear an alert on every reading, a local mqtt_publish action,
// and action.upstream to NATS JetStream (nats-server) or to a second MQTT broker. Faults: kill -9
// of edgeloop under load, the upstream stopped under load, the outbox bound reached.
#include <gtest/gtest.h>
#include <httplib.h>
#include <mosquitto.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "mosquitto_broker.h"
#include "nats_server.h"
#include "process.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kGateway = "gw-test";
constexpr int64_t kTs0 = 1'732'540'000'000'000'000;

// Readings on plant/k<i>/v at a steady rate, round robin over the keys; per key the value
// alternates 100, 0, 100, ... so that the rule raises or clears on every reading.
class Load {
 public:
  Load(MqttTestClient& client, int keys, int rate) : client_(client), keys_(keys), rate_(rate) {}
  ~Load() { stop(); }
  void start() {
    thread_ = std::thread([this] {
      std::vector<int> per_key(static_cast<std::size_t>(keys_), 0);
      const auto t0 = Clock::now();
      for (int64_t i = 0; !stop_.load(); ++i) {
        const int k = static_cast<int>(i % keys_);
        const int v = per_key[static_cast<std::size_t>(k)]++ % 2 == 0 ? 100 : 0;
        char payload[96];
        std::snprintf(payload, sizeof payload, "{\"ts\":%lld,\"v\":%d}", static_cast<long long>(kTs0 + i), v);
        (void)client_.publish("plant/k" + std::to_string(k) + "/v", payload);
        published_.fetch_add(1);
        std::this_thread::sleep_until(t0 + std::chrono::nanoseconds((i + 1) * 1'000'000'000 / rate_));
      }
    });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t published() const { return published_.load(); }

 private:
  MqttTestClient& client_;
  int keys_, rate_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> published_{0};
  std::thread thread_;
};

// One SQLite value of the outbox database (read-only; WAL lets it read while edgeloop writes).
int64_t db_value(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  int64_t v = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return v;
}

// The first copy of each event id a consumer saw, in order, and the number of copies.
struct Seen {
  std::vector<nlohmann::json> first;
  std::map<std::string, int> copies;
  void add(const std::string& payload) {
    auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.contains("id")) return;
    if (copies[j["id"].get<std::string>()]++ == 0) first.push_back(std::move(j));
  }
};

// Every id gw-test:from..to exactly once among the first copies, and per key the readings'
// times (they only go up at the source) in order.
void expect_ids_and_order(const Seen& seen, int64_t from, int64_t to) {
  std::set<std::string> want, got;
  for (int64_t i = from; i <= to; ++i) want.insert(std::string(kGateway) + ":" + std::to_string(i));
  for (const auto& j : seen.first) got.insert(j["id"].get<std::string>());
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "ids differ: got " << got.size() << ", want " << want.size();
  std::map<std::string, int64_t> last;
  int out_of_order = 0;
  for (const auto& j : seen.first) {
    const std::string key = j["key"];
    const int64_t ts = j["ts_ns"];
    if (last.count(key) && ts <= last[key]) ++out_of_order;
    last[key] = ts;
  }
  EXPECT_EQ(out_of_order, 0);
}

class OutboxEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!mosquitto_available()) GTEST_SKIP() << "mosquitto is not installed";
    if (!nats_server_available()) GTEST_SKIP() << "nats-server is not installed";
    ASSERT_TRUE(plant_.start().ok());
    auto dir = make_temp_dir("edgeloop-outbox-e2e-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    http_port_ = free_port();
    ASSERT_TRUE(client_.connect(plant_.host(), plant_.port()).ok());
    ASSERT_TRUE(client_.subscribe("local/#", 0).ok());
  }
  void TearDown() override {
    client_.disconnect();
    edgeloop_.stop();
    if (!dir_.empty()) remove_tree(dir_);
  }

  std::string db() const { return dir_ + "/outbox.db"; }
  std::string log() const { return read_file(dir_ + "/edgeloop.log"); }

  // The config: the plant source, the toggling rule, a local action, and `upstream` (the
  // action.upstream options, indented by 4).
  std::string write_config(const std::string& upstream) {
    const std::string path = dir_ + "/edgeloop.yaml";
    std::ofstream out(path);
    out << "sources:\n"
           "  plant:\n"
           "    type: mqtt\n"
           "    host: 127.0.0.1\n"
           "    port: " << plant_.port() << "\n"
           "    subscribe: [plant/+/v]\n"
           "    key: \"{1}\"\n"
           "    codec: {type: json, timestamp: ts, timestamp_unit: ns, values: [v]}\n"
           "pipelines:\n"
           "  p:\n"
           "    from: plant\n"
           "    steps:\n"
           "      - rule: {name: hot, when: \"v > 50\", clear: \"v < 50\"}\n"
           "actions:\n"
           "  local:\n"
           "    on: p.alert\n"
           "    type: mqtt_publish\n"
           "    host: 127.0.0.1\n"
           "    port: " << plant_.port() << "\n"
           "    qos: 0\n"
           "    topic: \"local/{key}\"\n"
           "    payload: '{\"ts\":{ts}}'\n"
           "  up:\n"
           "    on: \"*.alert\"\n"
           "    type: upstream\n"
           "    path: " << db() << "\n"
           "    gateway: " << kGateway << "\n"
           "    retry_max: 500ms\n"
        << upstream
        << "http:\n"
           "  port: " << http_port_ << "\n"
           "runtime:\n"
           "  shards: 0\n";
    return path;
  }

  std::string nats_upstream(const std::string& extra = {}) {
    return "    url: " + nats_.url() + "\n    ack_timeout: 1s\n    reconnect_wait: 100ms\n" + extra;
  }

  Status start_edgeloop(const std::string& config) {
    ProcessOptions opt;
    opt.log_file = dir_ + "/edgeloop.log";
    auto p = Process::start({EDGELOOP_BINARY, "run", config}, opt);
    if (!p.ok()) return p.error();
    edgeloop_ = std::move(*p);
    return Status::Ok();
  }

  double metric(const std::string& series) {
    httplib::Client http("127.0.0.1", http_port_);
    http.set_connection_timeout(1);
    auto res = http.Get("/metrics");
    if (!res || res->status != 200) return -1;
    std::istringstream in(res->body);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return 0;
  }

  // Probes (v=0: no event) until the source has received one: edgeloop is subscribed.
  bool wait_ready() {
    const auto deadline = Clock::now() + 20s;
    while (Clock::now() < deadline) {
      (void)client_.publish("plant/probe/v", "{\"ts\":1,\"v\":0}");
      if (metric("edgeloop_source_messages_total{source=\"plant\"}") >= 1) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::size_t local_count() const { return client_.count(); }

  // Waits until the outbox database is empty, `last_seq` has not moved for a second (readings
  // still queued in the pipeline after the load stops can add events after the table first
  // empties) and `delivered(last_seq)` holds.
  template <class Delivered>
  bool wait_settled(std::chrono::milliseconds timeout, Delivered delivered) {
    int64_t previous = -1;
    int stable = 0;
    return wait_until(
        [&] {
          const int64_t rows = db_value(db(), "SELECT count(*) FROM outbox;");
          const int64_t last = db_value(db(), "SELECT value FROM outbox_meta WHERE name='last_seq';");
          stable = (last == previous) ? stable + 1 : 0;
          previous = last;
          return rows == 0 && last > 0 && stable >= 4 && delivered(last);
        },
        timeout, 250ms);
  }

  // Waits until the outbox has settled and the stream holds `last_seq` messages.
  bool wait_drained(std::chrono::milliseconds timeout) {
    return wait_settled(timeout, [&](int64_t last) {
      auto state = nats_stream_state(nats_.url(), "EDGELOOP");
      return state.ok() && static_cast<int64_t>(state->messages) >= last;
    });
  }

  Seen read_stream(uint64_t* stored) {
    Seen seen;
    auto msgs = nats_read_stream(nats_.url(), "EDGELOOP");
    EXPECT_TRUE(msgs.ok()) << msgs.error().message;
    if (!msgs.ok()) return seen;
    *stored = msgs->size();
    for (const auto& m : *msgs) {
      EXPECT_EQ(m.subject, "edgeloop.gw-test.alert");
      seen.add(m.data);
      EXPECT_EQ(m.msg_id, seen.first.back()["id"].get<std::string>());
    }
    return seen;
  }

  MosquittoBroker plant_;
  NatsServer nats_;
  MqttTestClient client_{"outbox-e2e"};
  Process edgeloop_;
  std::string dir_;
  int http_port_ = 0;
};

TEST_F(OutboxEndToEnd, KillNineUnderLoadThenRestartDeliversEveryAcceptedEventOnce) {
  ASSERT_TRUE(nats_.start().ok()) << nats_.log();
  const std::string config = write_config(nats_upstream());
  ASSERT_TRUE(start_edgeloop(config).ok());
  ASSERT_TRUE(wait_ready()) << log();
  Load load(client_, 10, 2000);
  load.start();
  std::this_thread::sleep_for(1500ms);
  edgeloop_.kill();  // SIGKILL in the middle of the load
  const int64_t accepted_before_kill = db_value(db(), "SELECT value FROM outbox_meta WHERE name='last_seq';");
  EXPECT_GT(accepted_before_kill, 500);
  ASSERT_TRUE(start_edgeloop(config).ok());
  ASSERT_TRUE(wait_ready()) << log();
  std::this_thread::sleep_for(1500ms);
  load.stop();
  ASSERT_TRUE(wait_drained(60s)) << log();
  const int64_t accepted = db_value(db(), "SELECT value FROM outbox_meta WHERE name='last_seq';");
  EXPECT_GT(accepted, accepted_before_kill);
  uint64_t stored = 0;
  const Seen seen = read_stream(&stored);
  EXPECT_EQ(stored, static_cast<uint64_t>(accepted));  // JetStream holds none twice
  expect_ids_and_order(seen, 1, accepted);
  std::fprintf(stderr,
               "kill -9: %lld accepted before the kill, %lld in all, %llu stored in JetStream, %.0f re-sends after the "
               "restart de-duplicated by JetStream, %lld readings\n",
               static_cast<long long>(accepted_before_kill), static_cast<long long>(accepted),
               static_cast<unsigned long long>(stored), metric("edgeloop_outbox_duplicates_total{outbox=\"up\"}"),
               static_cast<long long>(load.published()));
}

TEST_F(OutboxEndToEnd, NatsStoppedUnderLoadThenStartedLosesNothingAndLocalActionsKeepFlowing) {
  ASSERT_TRUE(nats_.start().ok()) << nats_.log();
  ASSERT_TRUE(start_edgeloop(write_config(nats_upstream())).ok());
  ASSERT_TRUE(wait_ready()) << log();
  Load load(client_, 10, 1500);
  load.start();
  std::this_thread::sleep_for(1000ms);
  nats_.stop();
  const std::size_t local_at_stop = local_count();
  const int64_t readings_at_stop = load.published();
  std::this_thread::sleep_for(2000ms);
  const std::size_t local_at_start = local_count();
  const int64_t readings_at_start = load.published();
  const double backlog_at_start = metric("edgeloop_outbox_backlog_events{outbox=\"up\"}");
  ASSERT_TRUE(nats_.start().ok()) << nats_.log();
  std::this_thread::sleep_for(1000ms);
  load.stop();
  ASSERT_TRUE(wait_drained(60s)) << log();
  const int64_t accepted = db_value(db(), "SELECT value FROM outbox_meta WHERE name='last_seq';");
  uint64_t stored = 0;
  const Seen seen = read_stream(&stored);
  EXPECT_EQ(stored, static_cast<uint64_t>(accepted));
  expect_ids_and_order(seen, 1, accepted);
  // /metrics shows counters as of the last housekeeping tick: wait (bounded) for the last batch.
  (void)wait_until([&] { return metric("edgeloop_outbox_accepted_total{outbox=\"up\"}") >= accepted; }, 5s);
  EXPECT_EQ(metric("edgeloop_outbox_accepted_total{outbox=\"up\"}"), accepted);
  // The outage was real, and meanwhile the local action went on for every event.
  EXPECT_GT(backlog_at_start, 1000);
  EXPECT_GT(local_at_start - local_at_stop, static_cast<std::size_t>((readings_at_start - readings_at_stop) / 2));
  EXPECT_TRUE(wait_until([&] { return local_count() >= static_cast<std::size_t>(accepted); }, 10s));
  EXPECT_EQ(local_count(), static_cast<std::size_t>(accepted));
  std::fprintf(stderr, "outage: %lld events, backlog %.0f at the restart, local actions during the outage %zu for %lld readings\n",
               static_cast<long long>(accepted), backlog_at_start, local_at_start - local_at_stop,
               static_cast<long long>(readings_at_start - readings_at_stop));
}

class OutboxBound : public OutboxEndToEnd, public ::testing::WithParamInterface<const char*> {};

TEST_P(OutboxBound, PolicyAppliedAndCountedExactly) {
  const std::string policy = GetParam();
  ASSERT_TRUE(nats_.prepare().ok());  // its port: nothing listens until later
  ASSERT_TRUE(start_edgeloop(write_config(nats_upstream("    max_events: 100\n    when_full: " + policy + "\n"))).ok());
  ASSERT_TRUE(wait_ready()) << log();
  for (int i = 0; i < 150; ++i) {
    char payload[64];
    std::snprintf(payload, sizeof payload, "{\"ts\":%lld,\"v\":%d}", static_cast<long long>(kTs0 + i), i % 2 == 0 ? 100 : 0);
    ASSERT_TRUE(client_.publish("plant/b/v", payload).ok());
  }
  ASSERT_TRUE(wait_until([&] { return local_count() == 150; }, 10s)) << local_count();  // 150 events
  const std::string up = "{outbox=\"up\"";
  ASSERT_TRUE(wait_until(
      [&] {
        return metric("edgeloop_outbox_accepted_total" + up + "}") + metric("edgeloop_outbox_dropped_total" + up +
                                                                              ",reason=\"reject_new\"}") ==
               150;
      },
      10s))
      << log();
  EXPECT_EQ(metric("edgeloop_outbox_dropped_total" + up + ",reason=\"" + policy + "\"}"), 50);
  EXPECT_EQ(metric("edgeloop_outbox_backlog_events" + up + "}"), 100);
  EXPECT_EQ(db_value(db(), "SELECT count(*) FROM outbox;"), 100);
  EXPECT_NE(log().find("outbox up: full (max_events 100"), std::string::npos) << log();

  ASSERT_TRUE(nats_.start().ok()) << nats_.log();
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = nats_stream_state(nats_.url(), "EDGELOOP");
        return s.ok() && s->messages == 100 && db_value(db(), "SELECT count(*) FROM outbox;") == 0;
      },
      30s))
      << log();
  uint64_t stored = 0;
  const Seen seen = read_stream(&stored);
  EXPECT_EQ(stored, 100u);
  if (policy == "drop_oldest") expect_ids_and_order(seen, 51, 150);  // the newest 100
  else expect_ids_and_order(seen, 1, 100);                           // the first 100; the rest took no id
}

INSTANTIATE_TEST_SUITE_P(WhenFull, OutboxBound, ::testing::Values("drop_oldest", "reject_new"));

// A persistent MQTT subscriber (clean_session false, QoS 1) on the upstream broker: what the
// broker took while the subscriber was away is kept for it across the broker's restart.
class UpstreamSubscriber {
 public:
  UpstreamSubscriber(int port) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new("edgeloop-outbox-e2e-up", false, this);
    mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void* self, int rc) {
      if (rc == 0) mosquitto_subscribe(m, nullptr, "edgeloop/#", 1);
      static_cast<UpstreamSubscriber*>(self)->connected_ = rc == 0;
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* msg) {
      auto* s = static_cast<UpstreamSubscriber*>(self);
      std::lock_guard lock(s->mu_);
      s->seen_.add(std::string(static_cast<const char*>(msg->payload), static_cast<std::size_t>(msg->payloadlen)));
      s->topics_.insert(msg->topic);
    });
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    mosquitto_connect(mosq_, "127.0.0.1", port, 30);
    mosquitto_loop_start(mosq_);
  }
  ~UpstreamSubscriber() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }
  bool connected() const { return connected_.load(); }
  Seen seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::size_t count() const {
    std::lock_guard lock(mu_);
    return seen_.first.size();
  }
  std::set<std::string> topics() const {
    std::lock_guard lock(mu_);
    return topics_;
  }

 private:
  mosquitto* mosq_ = nullptr;
  std::atomic<bool> connected_{false};
  mutable std::mutex mu_;
  Seen seen_;
  std::set<std::string> topics_;
};

TEST_F(OutboxEndToEnd, MqttUpstreamStoppedUnderLoadThenStartedLosesNothing) {
  MosquittoBroker upstream("persistence true\npersistence_location " + dir_ + "/\nautosave_interval 1");
  ASSERT_TRUE(upstream.start().ok()) << upstream.log();
  UpstreamSubscriber sub(upstream.port());
  ASSERT_TRUE(wait_until([&] { return sub.connected(); }, 5s));
  std::this_thread::sleep_for(100ms);  // its SUBACK
  ASSERT_TRUE(start_edgeloop(write_config("    sink: mqtt\n    port: " + std::to_string(upstream.port()) +
                                          "\n    reconnect_min: 1s\n    reconnect_max: 1s\n"))
                  .ok());
  ASSERT_TRUE(wait_ready()) << log();
  Load load(client_, 6, 1000);
  load.start();
  std::this_thread::sleep_for(1000ms);
  upstream.stop();
  const std::size_t local_at_stop = local_count();
  std::this_thread::sleep_for(1500ms);
  const std::size_t local_at_start = local_count();
  const double backlog_at_start = metric("edgeloop_outbox_backlog_events{outbox=\"up\"}");
  ASSERT_TRUE(upstream.start().ok()) << upstream.log();
  std::this_thread::sleep_for(1000ms);
  load.stop();
  ASSERT_TRUE(wait_settled(60s, [&](int64_t last) { return sub.count() >= static_cast<std::size_t>(last); }))
      << sub.count() << "\n" << log();
  const int64_t accepted = db_value(db(), "SELECT value FROM outbox_meta WHERE name='last_seq';");
  expect_ids_and_order(sub.seen(), 1, accepted);
  // /metrics shows counters as of the last housekeeping tick: wait (bounded) for the last batch.
  (void)wait_until([&] { return metric("edgeloop_outbox_accepted_total{outbox=\"up\"}") >= accepted; }, 5s);
  EXPECT_EQ(metric("edgeloop_outbox_accepted_total{outbox=\"up\"}"), accepted);
  EXPECT_GT(backlog_at_start, 500);
  EXPECT_GT(local_at_start, local_at_stop + 500);
  for (const auto& t : sub.topics()) EXPECT_EQ(t.rfind("edgeloop/gw-test/alert/k", 0), 0u) << t;
}

}  // namespace
}  // namespace edgeloop::test
