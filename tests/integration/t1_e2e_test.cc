// The T1 loop end to end: mosquitto on a free loopback port, `edgeloop run examples/t1.yaml`
// as a child process, readings in, alerts back, checked exactly against a reference
// simulation of the rule; then a broker restart, and a flood of malformed messages.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/t1_reference.h"
#include "mosquitto_broker.h"
#include "process.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;

using t1::Alert;

std::map<std::string, std::vector<Alert>> expected_alerts(const std::string& prefix, int devices, int per_device,
                                                          int64_t ts0) {
  std::map<std::string, std::vector<Alert>> out;
  auto all = t1::reference_alerts(devices, per_device, ts0);
  for (int i = 0; i < devices; ++i)
    if (!all[static_cast<std::size_t>(i)].empty()) out[prefix + std::to_string(i)] = all[static_cast<std::size_t>(i)];
  return out;
}

class T1EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!mosquitto_available()) GTEST_SKIP() << "mosquitto is not installed";
    ASSERT_TRUE(broker_.start().ok());
    auto dir = make_temp_dir();
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    http_port_ = free_port();
    ASSERT_TRUE(start_edgeloop().ok());
    ASSERT_TRUE(client_.connect(broker_.host(), broker_.port()).ok());
    ASSERT_TRUE(client_.subscribe("bench/t1/+/alert", 0).ok());
    ASSERT_TRUE(wait_ready("probe0")) << read_file(dir_ + "/edgeloop.log");
  }
  void TearDown() override {
    client_.disconnect();
    edgeloop_.stop();
    if (!dir_.empty()) remove_tree(dir_);
  }

  Status start_edgeloop(const std::string& config = std::string(EDGELOOP_SOURCE_DIR) + "/examples/t1.yaml") {
    ProcessOptions opt;
    opt.log_file = dir_ + "/edgeloop.log";
    opt.env = {"MQTT_HOST=127.0.0.1", "MQTT_PORT=" + std::to_string(broker_.port()),
               "EDGELOOP_HTTP_PORT=" + std::to_string(http_port_), "EDGELOOP_DEAD_LETTERS=" + dir_ + "/dead.jsonl"};
    auto p = Process::start({EDGELOOP_BINARY, "run", config}, opt);
    if (!p.ok()) return p.error();
    edgeloop_ = std::move(*p);
    return Status::Ok();
  }

  // Publishes a probe stream (one device, all hot) until its alert comes back: edgeloop is
  // subscribed and the loop is closed.
  bool wait_ready(const std::string& device) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (int round = 0; std::chrono::steady_clock::now() < deadline; ++round) {
      const std::string dev = device + "r" + std::to_string(round);
      for (int k = 0; k < 10; ++k) {
        char payload[64];
        std::snprintf(payload, sizeof payload, "{\"ts\":%d,\"v\":100}", k + 1);
        (void)client_.publish("bench/t1/" + dev + "/temp", payload);
      }
      auto got = client_.wait_for([&](const ReceivedMessage& m) { return m.topic == "bench/t1/" + dev + "/alert"; }, 500ms);
      if (got) return true;
    }
    return false;
  }

  // Publishes the T1 stream for `devices` devices named prefix+i, round robin, as gen.c does.
  void publish_stream(const std::string& prefix, int devices, int per_device, int64_t ts0,
                      const std::function<void(int)>& between = {}) {
    for (int k = 0; k < per_device; ++k) {
      for (int i = 0; i < devices; ++i) {
        char payload[96];
        std::snprintf(payload, sizeof payload, "{\"ts\":%lld,\"v\":%g}",
                      static_cast<long long>(ts0 + int64_t{k} * devices + i), t1::value(k, i));
        ASSERT_TRUE(client_.publish("bench/t1/" + prefix + std::to_string(i) + "/temp", payload).ok());
        if (between) between(k * devices + i);
      }
    }
    ASSERT_TRUE(client_.wait_published());
  }

  // Waits for the expected alerts, then checks them exactly (per device: count, ts, mean).
  void expect_alerts(const std::string& prefix, const std::map<std::string, std::vector<Alert>>& want) {
    std::size_t n = 0;
    for (const auto& [_, v] : want) n += v.size();
    auto count_mine = [&] {
      std::size_t c = 0;
      for (const auto& m : client_.messages())
        if (m.topic.rfind("bench/t1/" + prefix, 0) == 0) ++c;
      return c;
    };
    EXPECT_TRUE(wait_until([&] { return count_mine() >= n; }, 20s)) << "got " << count_mine() << " of " << n;
    std::this_thread::sleep_for(200ms);  // an extra alert would arrive within this
    std::map<std::string, std::vector<Alert>> got;
    for (const auto& m : client_.messages()) {
      if (m.topic.rfind("bench/t1/" + prefix, 0) != 0) continue;
      const std::string dev = m.topic.substr(9, m.topic.size() - 9 - 6);
      auto j = nlohmann::json::parse(m.payload);
      got[dev].push_back({j["ts"].get<int64_t>(), j["mean"].get<double>()});
    }
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [dev, alerts] : want) {
      ASSERT_EQ(got[dev].size(), alerts.size()) << dev;
      for (std::size_t i = 0; i < alerts.size(); ++i) {
        EXPECT_EQ(got[dev][i].ts, alerts[i].ts) << dev << " alert " << i;
        EXPECT_NEAR(got[dev][i].mean, alerts[i].mean, 1e-9) << dev << " alert " << i;
      }
    }
  }

  double metric(const std::string& line_prefix) {
    httplib::Client http("127.0.0.1", http_port_);
    auto res = http.Get("/metrics");
    if (!res || res->status != 200) return -1;
    std::istringstream in(res->body);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(line_prefix + " ", 0) == 0) return std::stod(line.substr(line_prefix.size() + 1));
    return 0;
  }

  MosquittoBroker broker_;
  MqttTestClient client_{"t1-e2e"};
  Process edgeloop_;
  std::string dir_;
  int http_port_ = 0;
};

TEST_F(T1EndToEnd, EveryExpectedAlertAndNothingElse) {
  constexpr int kDevices = 25, kPerDevice = 240;
  const int64_t ts0 = 1'732'540'000'123'456'789;
  publish_stream("a", kDevices, kPerDevice, ts0);
  expect_alerts("a", expected_alerts("a", kDevices, kPerDevice, ts0));
  EXPECT_EQ(metric("edgeloop_pipeline_records_total{pipeline=\"t1\"}") >= kDevices * kPerDevice, true);
}

TEST_F(T1EndToEnd, BrokerRestartMidStreamThenCarriesOn) {
  constexpr int kDevices = 10, kPerDevice = 120;
  publish_stream("b", kDevices, kPerDevice, 1000);
  expect_alerts("b", expected_alerts("b", kDevices, kPerDevice, 1000));

  client_.disconnect();
  ASSERT_TRUE(broker_.restart().ok());
  ASSERT_TRUE(client_.connect(broker_.host(), broker_.port()).ok());
  ASSERT_TRUE(client_.subscribe("bench/t1/+/alert", 0).ok());
  client_.clear();
  // edgeloop reconnects with back-off and subscribes again; then the loop closes again.
  ASSERT_TRUE(wait_ready("probe1")) << read_file(dir_ + "/edgeloop.log");
  publish_stream("c", kDevices, kPerDevice, 5000);
  expect_alerts("c", expected_alerts("c", kDevices, kPerDevice, 5000));
  EXPECT_TRUE(edgeloop_.running());
}

TEST_F(T1EndToEnd, MalformedFloodLosesNoGoodMessage) {
  constexpr int kDevices = 20, kPerDevice = 200;
  const char* bad[] = {
      "{\"ts\":1,\"v\":",            // truncated
      "not json at all",             // malformed
      "{\"ts\":1}",                  // missing field
      "{\"ts\":1,\"v\":\"hot\"}",    // wrong type
      "{\"ts\":\"yesterday\",\"v\":1}",  // bad timestamp
      "",                            // empty
  };
  int n_bad = 0;
  publish_stream("m", kDevices, kPerDevice, 777, [&](int) {
    const char* p = bad[n_bad % 6];
    ASSERT_TRUE(client_.publish("bench/t1/m" + std::to_string(n_bad % kDevices) + "/temp", p).ok());
    ++n_bad;
  });
  // An oversized payload (over the codec's 64 KiB bound) too.
  ASSERT_TRUE(client_.publish("bench/t1/m0/temp", std::string(70000, ' ')).ok());
  ++n_bad;
  ASSERT_TRUE(client_.wait_published());
  expect_alerts("m", expected_alerts("m", kDevices, kPerDevice, 777));
  EXPECT_TRUE(wait_until([&] { return metric("edgeloop_dead_letters_written_total") >= n_bad; }, 10s));
  EXPECT_EQ(metric("edgeloop_dead_letters_total"), n_bad);
  // Every dead letter is on file, with its reason.
  edgeloop_.stop();
  const std::string dead = read_file(dir_ + "/dead.jsonl");
  int lines = 0;
  std::istringstream in(dead);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_FALSE(j["reason"].get<std::string>().empty());
    ++lines;
  }
  EXPECT_EQ(lines, n_bad);
}

TEST_F(T1EndToEnd, DeadLettersAlsoGoToAnMqttTopic) {
  edgeloop_.stop();
  ASSERT_TRUE(start_edgeloop(std::string(EDGELOOP_SOURCE_DIR) + "/tests/integration/testdata/dead_letter_topic.yaml").ok());
  ASSERT_TRUE(client_.subscribe("edgeloop/dead_letters", 1).ok());
  ASSERT_TRUE(wait_ready("probe2")) << read_file(dir_ + "/edgeloop.log");
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client_.publish("bench/t1/x" + std::to_string(i) + "/temp", "{\"ts\":1,\"v\":true}").ok());
  auto count_dead = [&] {
    std::size_t n = 0;
    for (const auto& m : client_.messages()) n += m.topic == "edgeloop/dead_letters";
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return count_dead() >= 50; }, 10s)) << count_dead();
  for (const auto& m : client_.messages()) {
    if (m.topic != "edgeloop/dead_letters") continue;
    auto j = nlohmann::json::parse(m.payload);
    EXPECT_EQ(j["source"], "t1");
    EXPECT_EQ(j["payload"], "{\"ts\":1,\"v\":true}");
    EXPECT_NE(j["reason"].get<std::string>().find("v"), std::string::npos) << j["reason"];
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(count_dead(), 50u);
}

}  // namespace
}  // namespace edgeloop::test
