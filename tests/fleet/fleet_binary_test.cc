// `edgeloop fleet`, the binary, against a real nats-server: a config file with flags over it,
// kill -9 in the middle of a load and a restart (every event in the state exactly once), then a
// clean stop and a restart that resumes from the durable without delivering anything again.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "fleet_test_util.h"
#include "nats_server.h"
#include "process.h"

namespace edgeloop::fleet {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using edgeloop::test::Process;
using test::EventSpec;
using test::JsPublisher;

class FleetBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!edgeloop::test::nats_server_available()) GTEST_SKIP() << "nats-server not installed";
    ASSERT_TRUE(server_.start().ok()) << server_.log();
    ASSERT_TRUE(
        edgeloop::test::nats_add_stream(server_.url(), "EDGELOOP", {"edgeloop.>"}, 1, std::chrono::minutes(2)).ok());
    auto dir = edgeloop::test::make_temp_dir("edgeloop-fleet-bin-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    port_ = edgeloop::test::free_port();
    // The file names another durable and port: the flags win.
    std::ofstream(dir_ + "/fleet.yaml") << "nats: nats://127.0.0.1:1\n"
                                           "durable: from-the-file\n"
                                           "http: 127.0.0.1:1\n"
                                           "ack_wait: 2s\n"
                                           "snapshot_interval: 200ms\n"
                                           "fetch_wait: 200ms\n"
                                           "batch: 20\n";
    ASSERT_TRUE(pub_.connect(server_.url()).ok());
  }
  void TearDown() override {
    fleet_.stop();
    pub_.close();
    if (!dir_.empty()) edgeloop::test::remove_tree(dir_);
  }

  Status start_fleet() {
    edgeloop::test::ProcessOptions po;
    po.log_file = dir_ + "/fleet.log";
    auto p = Process::start(
        {EDGELOOP_BINARY, "fleet", "--config", dir_ + "/fleet.yaml", "--nats", server_.url(), "--durable", "fleet-bin",
         "--http", "127.0.0.1:" + std::to_string(port_), "--state", dir_ + "/state.json"},
        po);
    if (!p.ok()) return p.error();
    fleet_ = std::move(p).value();
    if (!edgeloop::test::wait_port_open(port_, 10s)) {
      return make_error(Errc::kUnavailable, "the fleet did not listen: " + log());
    }
    return Status::Ok();
  }

  std::string log() const { return edgeloop::test::read_file(dir_ + "/fleet.log"); }

  // A counter from GET /metrics (-1 when unreachable).
  double metric(const std::string& name) const {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_connection_timeout(1);
    auto res = cli.Get("/metrics");
    if (!res || res->status != 200) return -1;
    const std::string key = "\n" + name + " ";
    const auto at = res->body.find(key);
    if (at == std::string::npos) return -1;
    return std::stod(res->body.substr(at + key.size()));
  }

  Json get(const std::string& path) const {
    httplib::Client cli("127.0.0.1", port_);
    auto res = cli.Get(path);
    if (!res) return Json();
    return Json::parse(res->body, nullptr, false);
  }

  uint64_t events_in_state() const {
    const Json j = get("/api/v1/fleet/gateways");
    if (!j.is_object()) return 0;
    uint64_t n = 0;
    for (const auto& g : j["gateways"]) n += g["events"].get<uint64_t>();
    return n;
  }

  std::vector<std::string> open_alerts() const {
    const Json j = get("/api/v1/fleet/alerts");
    std::vector<std::string> out;
    if (!j.is_object()) return out;
    for (const auto& a : j["alerts"])
      out.push_back(a["gateway"].get<std::string>() + "/" + a["key"].get<std::string>());
    return out;
  }

  void publish_range(int from, int to) {
    for (int i = from; i <= to; ++i) {
      auto ack = pub_.publish(event(i));
      ASSERT_TRUE(ack.ok()) << ack.error().message;
    }
  }

  // Event i: gateways gw-0..3, keys k0..k4; even rounds raise, odd rounds clear.
  static EventSpec event(int i) {
    const std::string gw = "gw-" + std::to_string(i % 4);
    return EventSpec{.id = gw + ":" + std::to_string(i),
                     .gateway = gw,
                     .stage = "overheat",
                     .key = "k" + std::to_string(i % 5),
                     .kind = EventKind::kAlert,
                     .state = (i / 20) % 2 == 0 ? AlertState::kRaised : AlertState::kCleared,
                     .ts_ns = i};
  }

  static std::vector<std::string> expected_open(int n) {
    std::map<std::string, bool> last;
    for (int i = 1; i <= n; ++i) {
      const EventSpec e = event(i);
      last[e.gateway + "/" + e.key] = e.state == AlertState::kRaised;
    }
    std::vector<std::string> out;
    for (const auto& [k, open] : last)
      if (open) out.push_back(k);
    return out;
  }

  edgeloop::test::NatsServer server_;
  std::string dir_;
  int port_ = 0;
  JsPublisher pub_;
  Process fleet_;
};

TEST_F(FleetBinaryTest, KillNineMidLoadThenRestartAppliesEveryEventOnce) {
  // A backlog, consumed 20 per pull: killed in the middle of it, with some events applied and
  // written, some applied and not yet written, some not delivered yet.
  publish_range(1, 300);
  ASSERT_TRUE(start_fleet().ok());
  ASSERT_TRUE(edgeloop::test::wait_until([&] { return metric("edgeloop_fleet_applied_total") >= 100; }, 20s, 1ms))
      << log();
  const double applied_before_kill = metric("edgeloop_fleet_applied_total");
  fleet_.kill();
  publish_range(301, 400);  // while it is down

  ASSERT_TRUE(start_fleet().ok());
  ASSERT_TRUE(edgeloop::test::wait_until([&] { return events_in_state() == 400; }, 30s, 20ms))
      << events_in_state() << "\n"
      << log();
  // Whatever was delivered but not acknowledged before the kill comes again within ack_wait
  // (2 s); wait past that: the state must still hold each event once.
  ASSERT_TRUE(edgeloop::test::wait_until([&] { return metric("edgeloop_fleet_unacked_messages") == 0; }, 10s, 20ms));
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(events_in_state(), 400u);
  EXPECT_EQ(open_alerts(), expected_open(400));
  const double applied = metric("edgeloop_fleet_applied_total");
  const double duplicates = metric("edgeloop_fleet_duplicates_total");
  EXPECT_EQ(metric("edgeloop_fleet_invalid_total"), 0);
  EXPECT_LE(applied, 400);
  std::printf("kill -9 after %.0f applied; after the restart: %.0f applied, %.0f duplicates, state holds 400 of 400\n",
              applied_before_kill, applied, duplicates);

  // A clean stop writes the state and acknowledges; the next start delivers nothing again.
  EXPECT_EQ(fleet_.stop(), 0);
  ASSERT_TRUE(start_fleet().ok());
  publish_range(401, 401);
  ASSERT_TRUE(edgeloop::test::wait_until([&] { return metric("edgeloop_fleet_acked_total") == 1; }, 10s, 20ms))
      << log();
  EXPECT_EQ(metric("edgeloop_fleet_consumed_total"), 1);
  EXPECT_EQ(metric("edgeloop_fleet_applied_total"), 1);
  EXPECT_EQ(metric("edgeloop_fleet_duplicates_total"), 0);
  EXPECT_EQ(events_in_state(), 401u);
  EXPECT_NE(log().find("resuming after sequence 400"), std::string::npos) << log();

  // The flags replaced the file's durable and port.
  auto gws = get("/api/v1/fleet/gateways");
  EXPECT_EQ(gws["count"], 4);
  EXPECT_NE(log().find("as durable fleet-bin"), std::string::npos);
}

}  // namespace
}  // namespace edgeloop::fleet
