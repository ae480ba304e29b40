// Restart safety of rule state, end to end: mosquitto on a free loopback port, `edgeloop run`
// with an MQTT source, a rule with `for: 3` and `runtime.state_dir`, alerts published back over
// MQTT. An alert is raised and another key has a `for` half done; edgeloop is stopped with
// SIGTERM and started again; then more readings: no second "raised" while the condition still
// holds, the pending `for` completes on the first hot reading, and "cleared" comes on the
// reading that clears. After a kill -9 instead, the last periodic snapshot (`snapshot_every`)
// is what holds. Run inline (`shards: 0`) and with a shard thread (`shards: 1`), whose
// snapshots are written from different threads.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "mosquitto_broker.h"
#include "process.h"
#include "rules/rule_stage.h"
#include "state/snapshot_store.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;

struct Alert {
  std::string key;
  std::string state;
  int64_t ts = 0;
  double v = 0;
};

class RestartState : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (!mosquitto_available()) GTEST_SKIP() << "mosquitto is not installed";
    ASSERT_TRUE(broker_.start().ok());
    auto dir = make_temp_dir("edgeloop-restart-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    http_port_ = free_port();
    write_config("5m");
    ASSERT_TRUE(client_.connect(broker_.host(), broker_.port()).ok());
    ASSERT_TRUE(client_.subscribe("plant/+/alert", 1).ok());
  }
  void TearDown() override {
    client_.disconnect();
    edgeloop_.stop();
    if (!dir_.empty()) remove_tree(dir_);
  }

  void write_config(const std::string& snapshot_every) {
    std::ofstream(dir_ + "/restart.yaml") << config(GetParam(), snapshot_every);
  }

  std::string config(int shards, const std::string& snapshot_every) const {
    std::string text = R"(sources:
  plant:
    type: mqtt
    host: 127.0.0.1
    port: @BROKER@
    subscribe: [plant/+/temp]
    key: "{1}"
    codec: {type: json, timestamp: ts, timestamp_unit: ns, values: [v]}
pipelines:
  heat:
    from: plant
    steps:
      - rule: {name: hot, when: "v > 80", clear: "v < 75", for: 3, snapshot_every: @EVERY@}
actions:
  alerts_out:
    on: heat.alert
    type: mqtt_publish
    host: 127.0.0.1
    port: @BROKER@
    qos: 1
    topic: "plant/{key}/alert"
    payload: '{"state":"{state}","ts":{ts},"v":{v}}'
http:
  port: @HTTP@
runtime:
  shards: @SHARDS@
  summary_interval: 0s
  state_dir: @DIR@/state
)";
    auto put = [&text](const std::string& name, const std::string& value) {
      for (auto at = text.find(name); at != std::string::npos; at = text.find(name))
        text.replace(at, name.size(), value);
    };
    put("@BROKER@", std::to_string(broker_.port()));
    put("@EVERY@", snapshot_every);
    put("@HTTP@", std::to_string(http_port_));
    put("@SHARDS@", std::to_string(shards));
    put("@DIR@", dir_);
    return text;
  }

  // Whether a snapshot file on disk holds `key` as raised.
  bool snapshot_has_raised(const std::string& key) const {
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(dir_ + "/state", ec)) {
      if (f.path().extension() != ".snap") continue;
      auto snap = state::decode_snapshot(read_file(f.path().string()));
      if (!snap.ok()) continue;
      for (const auto& e : snap->entries) {
        RuleStage::KeyState st;
        if (e.key == key && RuleStage::decode_state(e.state, st) && st.raised) return true;
      }
    }
    return false;
  }

  Status start_edgeloop() {
    ProcessOptions opt;
    opt.log_file = dir_ + "/edgeloop.log";
    auto p = Process::start({EDGELOOP_BINARY, "run", dir_ + "/restart.yaml"}, opt);
    if (!p.ok()) return p.error();
    edgeloop_ = std::move(*p);
    return Status::Ok();
  }

  void publish(const std::string& key, int64_t ts, double v) {
    char payload[96];
    std::snprintf(payload, sizeof payload, "{\"ts\":%lld,\"v\":%g}", static_cast<long long>(ts), v);
    ASSERT_TRUE(client_.publish("plant/" + key + "/temp", payload, 1).ok());
  }

  // Publishes hot readings of a fresh probe key until its alert comes back: edgeloop is
  // subscribed, and every reading published before this one has been through the rule (one
  // connection, one subscription: in order).
  bool barrier(const std::string& name) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (int round = 0; std::chrono::steady_clock::now() < deadline; ++round) {
      const std::string key = name + "-" + std::to_string(round);
      for (int k = 1; k <= 3; ++k) publish(key, k, 100);
      if (client_.wait_for([&](const ReceivedMessage& m) { return m.topic == "plant/" + key + "/alert"; }, 500ms))
        return true;
    }
    return false;
  }

  // The alerts of the pump keys received so far, in order.
  std::vector<Alert> pump_alerts() const {
    std::vector<Alert> out;
    for (const auto& m : client_.messages()) {
      const std::string key = m.topic.substr(6, m.topic.size() - 6 - 6);  // plant/<key>/alert
      if (key.rfind("pump", 0) != 0) continue;
      auto j = nlohmann::json::parse(m.payload);
      out.push_back({key, j["state"].get<std::string>(), j["ts"].get<int64_t>(), j["v"].get<double>()});
    }
    return out;
  }

  double metric(const std::string& name, const std::string& label) {
    httplib::Client http("127.0.0.1", http_port_);
    auto res = http.Get("/metrics");
    if (!res || res->status != 200) return -1;
    std::istringstream in(res->body);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(name + "{", 0) == 0 && line.find(label) != std::string::npos) {
        return std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return 0;
  }

  MosquittoBroker broker_;
  MqttTestClient client_{"restart-state"};
  Process edgeloop_;
  std::string dir_;
  int http_port_ = 0;
};

TEST_P(RestartState, NoSecondRaiseAfterARestartAndTheClearStillComes) {
  // Run 1: pump1 raises at ts 3 (three hot readings); pump2 has two of its three.
  ASSERT_TRUE(start_edgeloop().ok());
  ASSERT_TRUE(barrier("probe1")) << read_file(dir_ + "/edgeloop.log");
  publish("pump2", 1, 91);
  publish("pump2", 2, 92);
  for (int ts = 1; ts <= 3; ++ts) publish("pump1", ts, 90);
  ASSERT_TRUE(barrier("probe2")) << read_file(dir_ + "/edgeloop.log");
  auto run1 = pump_alerts();
  ASSERT_EQ(run1.size(), 1u);
  EXPECT_EQ(run1[0].key, "pump1");
  EXPECT_EQ(run1[0].state, "raised");
  EXPECT_EQ(run1[0].ts, 3);

  // A clean stop: the final snapshot is written at flush.
  const int status = edgeloop_.stop(10s);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << read_file(dir_ + "/edgeloop.log");
  std::size_t files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir_ + "/state")) {
    EXPECT_EQ(f.path().filename().string().rfind("heat.0.hot.", 0), 0u) << f.path();
    EXPECT_EQ(f.path().extension(), ".snap");
    ++files;
  }
  EXPECT_EQ(files, 1u);

  // Run 2: pump1 still hot (no raise: it is raised), pump2's third hot reading raises it,
  // pump1 between the thresholds (nothing), then below 75: cleared.
  client_.clear();
  ASSERT_TRUE(start_edgeloop().ok());
  ASSERT_TRUE(barrier("probe3")) << read_file(dir_ + "/edgeloop.log");
  publish("pump1", 4, 95);
  publish("pump1", 5, 85);
  publish("pump2", 3, 93);
  publish("pump1", 6, 78);
  ASSERT_TRUE(barrier("probe4")) << read_file(dir_ + "/edgeloop.log");
  auto mid = pump_alerts();
  ASSERT_EQ(mid.size(), 1u) << "pump1 was raised again after the restart";
  EXPECT_EQ(mid[0].key, "pump2");
  EXPECT_EQ(mid[0].state, "raised");
  EXPECT_EQ(mid[0].ts, 3);
  publish("pump1", 7, 74);
  publish("pump1", 8, 90);  // armed again: `for: 3` from here
  publish("pump1", 9, 90);
  ASSERT_TRUE(barrier("probe5")) << read_file(dir_ + "/edgeloop.log");
  auto run2 = pump_alerts();
  ASSERT_EQ(run2.size(), 2u);
  EXPECT_EQ(run2[1].key, "pump1");
  EXPECT_EQ(run2[1].state, "cleared");
  EXPECT_EQ(run2[1].ts, 7);
  EXPECT_EQ(run2[1].v, 74);
  publish("pump1", 10, 90);
  ASSERT_TRUE(barrier("probe6")) << read_file(dir_ + "/edgeloop.log");
  auto last = pump_alerts();
  ASSERT_EQ(last.size(), 3u);
  EXPECT_EQ(last[2].key, "pump1");
  EXPECT_EQ(last[2].state, "raised");
  EXPECT_EQ(last[2].ts, 10);
  // Restored: the keys of run 1 that showed up again (pump1, pump2; not run 1's probes).
  EXPECT_EQ(metric("edgeloop_rule_restored_keys_total", "pipeline=\"heat\""), 2.0);
  EXPECT_EQ(metric("edgeloop_rule_snapshot_skipped_total", "pipeline=\"heat\""), 0.0);
  const int status2 = edgeloop_.stop(10s);
  EXPECT_TRUE(WIFEXITED(status2) && WEXITSTATUS(status2) == 0) << status2;
}

TEST_P(RestartState, AfterACrashTheLastPeriodicSnapshotHolds) {
  // kill -9 writes no final snapshot: what a crash keeps is the last periodic one.
  write_config("1s");
  ASSERT_TRUE(start_edgeloop().ok());
  ASSERT_TRUE(barrier("probe1")) << read_file(dir_ + "/edgeloop.log");
  for (int ts = 1; ts <= 3; ++ts) publish("pump1", ts, 90);
  ASSERT_TRUE(barrier("probe2")) << read_file(dir_ + "/edgeloop.log");
  ASSERT_EQ(pump_alerts().size(), 1u);
  // Ticks come from the shard thread, or (inline) from the source thread every 64 records:
  // cold readings of another key keep them coming until the snapshot holds the raise.
  int64_t filler_ts = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        for (int i = 0; i < 64; ++i) publish("filler", ++filler_ts, 20);
        return snapshot_has_raised("pump1");
      },
      15s, 100ms))
      << read_file(dir_ + "/edgeloop.log");
  edgeloop_.kill();

  client_.clear();
  ASSERT_TRUE(start_edgeloop().ok());
  ASSERT_TRUE(barrier("probe3")) << read_file(dir_ + "/edgeloop.log");
  publish("pump1", 4, 95);
  publish("pump1", 5, 96);
  publish("pump1", 6, 97);
  publish("pump1", 7, 70);
  ASSERT_TRUE(barrier("probe4")) << read_file(dir_ + "/edgeloop.log");
  auto got = pump_alerts();
  ASSERT_EQ(got.size(), 1u) << "pump1 was raised again after the crash";
  EXPECT_EQ(got[0].state, "cleared");
  EXPECT_EQ(got[0].ts, 7);
}

INSTANTIATE_TEST_SUITE_P(Shards, RestartState, ::testing::Values(0, 1), [](const ::testing::TestParamInfo<int>& p) {
  return p.param == 0 ? std::string("Inline") : std::string("OneShard");
});

}  // namespace
}  // namespace edgeloop::test
