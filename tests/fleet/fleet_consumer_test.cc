// The fleet's consumer end to end against a real nats-server (JetStream, loopback, free
// ports): events in the gateways' JSON published with Nats-Msg-Id, applied once, served over
// HTTP; restarts resume from the durable without applying anything twice; memory mode and a
// recreated stream rebuild by replay; a server restart is ridden out.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>
#include <set>

#include "fleet/fleet_service.h"
#include "fleet/state_file.h"
#include "fleet_test_util.h"
#include "nats_server.h"

namespace edgeloop::fleet {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using edgeloop::test::NatsServer;
using test::EventSpec;
using test::JsPublisher;

constexpr const char* kStream = "EDGELOOP";

class FleetConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!edgeloop::test::nats_server_available()) GTEST_SKIP() << "nats-server not installed";
    ASSERT_TRUE(server_.start().ok()) << server_.log();
    ASSERT_TRUE(edgeloop::test::nats_add_stream(server_.url(), kStream, {"edgeloop.>"}, 1, 2min).ok());
    auto dir = edgeloop::test::make_temp_dir("edgeloop-fleet-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    ASSERT_TRUE(pub_.connect(server_.url()).ok());
  }
  void TearDown() override {
    pub_.close();
    if (!dir_.empty()) edgeloop::test::remove_tree(dir_);
  }

  FleetOptions options(bool with_state = true) const {
    FleetOptions o;
    o.servers = {server_.url()};
    o.durable = "fleet-test";
    o.http_port = 0;
    o.state_path = with_state ? dir_ + "/fleet-state.json" : "";
    o.snapshot_interval_ns = 50'000'000;
    o.ack_wait_ns = 2'000'000'000;
    o.fetch_wait_ns = 200'000'000;
    o.stale_after_ns = 0;
    return o;
  }

  void publish(const EventSpec& e) {
    auto ack = pub_.publish(e);
    ASSERT_TRUE(ack.ok()) << ack.error().message;
  }

  static bool wait_metric(const Metrics& m, const std::string& name, double value,
                          std::chrono::milliseconds timeout = 10s) {
    return edgeloop::test::wait_until([&] { return m.value(name) == value; }, timeout, 5ms);
  }

  static Json get_json(const FleetService& svc, const std::string& path, int* status = nullptr) {
    httplib::Client cli("127.0.0.1", svc.http_port());
    auto res = cli.Get(path);
    if (!res) return Json();
    if (status) *status = res->status;
    return Json::parse(res->body, nullptr, false);
  }

  // (gateway, stage, key) of every open alert the HTTP API lists.
  static std::vector<std::string> open_alerts_over_http(const FleetService& svc, const std::string& query = "") {
    const Json j = get_json(svc, "/api/v1/fleet/alerts" + query);
    std::vector<std::string> out;
    if (!j.is_object()) return {"<no answer>"};
    for (const auto& a : j["alerts"]) {
      out.push_back(a["gateway"].get<std::string>() + "/" + a["stage"].get<std::string>() + "/" +
                    a["key"].get<std::string>());
    }
    return out;
  }

  static uint64_t total_events(const FleetService& svc) {
    const Json j = get_json(svc, "/api/v1/fleet/gateways");
    uint64_t n = 0;
    if (!j.is_object()) return 0;
    for (const auto& g : j["gateways"]) n += g["events"].get<uint64_t>();
    return n;
  }

  Result<ConsumerProgress> durable_progress() {
    JetStreamConsumerConfig c;
    c.servers = {server_.url()};
    c.durable = "fleet-test";
    JetStreamConsumer probe(c);
    EDGELOOP_TRY(probe.connect());
    return probe.consumer_progress();
  }

  void delete_stream() {
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    ASSERT_EQ(natsConnection_ConnectTo(&nc, server_.url().c_str()), NATS_OK);
    ASSERT_EQ(natsConnection_JetStream(&js, nc, nullptr), NATS_OK);
    EXPECT_EQ(js_DeleteStream(js, kStream, nullptr, nullptr), NATS_OK);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }

  NatsServer server_;
  std::string dir_;
  JsPublisher pub_;
};

EventSpec raise(const std::string& id, const std::string& gw, const std::string& stage, const std::string& key,
                int64_t ts, Severity sev = Severity::kWarning) {
  return EventSpec{.id = id,
                   .gateway = gw,
                   .stage = stage,
                   .key = key,
                   .kind = EventKind::kAlert,
                   .state = AlertState::kRaised,
                   .severity = sev,
                   .ts_ns = ts,
                   .fields = {{"score", 0.9}}};
}

EventSpec clear(const std::string& id, const std::string& gw, const std::string& stage, const std::string& key,
                int64_t ts) {
  EventSpec e = raise(id, gw, stage, key, ts);
  e.state = AlertState::kCleared;
  return e;
}

EventSpec insight(const std::string& id, const std::string& gw, const std::string& key, int64_t ts, double h) {
  return EventSpec{.id = id,
                   .gateway = gw,
                   .stage = "health",
                   .key = key,
                   .kind = EventKind::kInsight,
                   .severity = Severity::kInfo,
                   .ts_ns = ts,
                   .fields = {{"health_index", h}}};
}

TEST_F(FleetConsumerTest, AppliesEachEventOnceAndServesItOverHttp) {
  Metrics metrics;
  FleetService svc(options(), metrics);
  ASSERT_TRUE(svc.start().ok());

  publish(raise("gw-1:1", "gw-1", "overheat", "pump-1", 1000));
  publish(raise("gw-1:2", "gw-1", "vib_high", "pump-2", 1001, Severity::kCritical));
  publish(insight("gw-1:3", "gw-1", "pump-1", 1002, 0.4));
  publish(raise("gw-2:1", "gw-2", "overheat", "fan-1", 1003));
  publish(clear("gw-2:2", "gw-2", "overheat", "fan-1", 1004));
  // The same id again within the duplicate window: JetStream stores it once.
  auto dup = pub_.publish(raise("gw-1:1", "gw-1", "overheat", "pump-1", 1000));
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  // The same event re-sent under another message id (after the window): the fleet skips it.
  auto resend = pub_.publish("edgeloop.gw-1.alert",
                             test::event_json(raise("gw-1:1", "gw-1", "overheat", "pump-1", 1000)), "resend-1");
  ASSERT_TRUE(resend.ok());
  EXPECT_FALSE(resend->duplicate);
  // Not an event: counted, acknowledged, skipped.
  ASSERT_TRUE(pub_.publish("edgeloop.gw-3.alert", "not json", "junk-1").ok());

  ASSERT_TRUE(wait_metric(metrics, "edgeloop_fleet_acked_total", 7)) << metrics.render_prometheus();
  EXPECT_EQ(metrics.value("edgeloop_fleet_consumed_total"), 7);
  EXPECT_EQ(metrics.value("edgeloop_fleet_applied_total"), 5);
  EXPECT_EQ(metrics.value("edgeloop_fleet_duplicates_total"), 1);
  EXPECT_EQ(metrics.value("edgeloop_fleet_invalid_total"), 1);
  EXPECT_EQ(metrics.value("edgeloop_fleet_lag_messages"), 0);
  EXPECT_EQ(metrics.value("edgeloop_fleet_open_alerts"), 2);
  EXPECT_EQ(svc.last_stream_seq(), 7u);

  EXPECT_EQ(open_alerts_over_http(svc), (std::vector<std::string>{"gw-1/overheat/pump-1", "gw-1/vib_high/pump-2"}));
  EXPECT_EQ(open_alerts_over_http(svc, "?severity=critical"), (std::vector<std::string>{"gw-1/vib_high/pump-2"}));
  EXPECT_EQ(open_alerts_over_http(svc, "?gateway=gw-2"), (std::vector<std::string>{}));

  const Json gws = get_json(svc, "/api/v1/fleet/gateways");
  ASSERT_EQ(gws["count"], 2);
  EXPECT_EQ(gws["gateways"][0]["gateway"], "gw-1");
  EXPECT_EQ(gws["gateways"][0]["events"], 3);
  EXPECT_EQ(gws["gateways"][0]["assets"], 2);
  EXPECT_EQ(gws["gateways"][0]["open_alerts"], 2);
  EXPECT_EQ(gws["gateways"][0]["health"], "critical");
  EXPECT_EQ(gws["gateways"][1]["gateway"], "gw-2");
  EXPECT_EQ(gws["gateways"][1]["events"], 2);
  EXPECT_EQ(gws["gateways"][1]["open_alerts"], 0);
  EXPECT_EQ(gws["gateways"][1]["health"], "ok");

  const Json assets = get_json(svc, "/api/v1/fleet/assets?gateway=gw-1");
  ASSERT_EQ(assets["count"], 2);
  EXPECT_EQ(assets["assets"][0]["key"], "pump-1");
  EXPECT_EQ(assets["assets"][0]["health"], "warning");
  EXPECT_EQ(assets["assets"][0]["last_event_ns"], 1002);
  ASSERT_EQ(assets["assets"][0]["insights"].size(), 1u);
  EXPECT_EQ(assets["assets"][0]["insights"][0]["id"], "gw-1:3");
  EXPECT_EQ(assets["assets"][0]["insights"][0]["fields"]["health_index"], 0.4);
  EXPECT_EQ(assets["assets"][1]["key"], "pump-2");
  EXPECT_EQ(assets["assets"][1]["health"], "critical");

  int status = 0;
  const Json health = get_json(svc, "/healthz", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["components"][0]["state"], "connected");

  httplib::Client cli("127.0.0.1", svc.http_port());
  auto prom = cli.Get("/metrics");
  ASSERT_TRUE(prom);
  EXPECT_NE(prom->body.find("edgeloop_fleet_consumed_total 7\n"), std::string::npos) << prom->body;
  EXPECT_NE(prom->body.find("edgeloop_fleet_duplicates_total 1\n"), std::string::npos) << prom->body;

  // Everything acknowledged on the server, after the state file holding it was written.
  auto progress = durable_progress();
  ASSERT_TRUE(progress.ok()) << progress.error().message;
  EXPECT_EQ(progress->ack_floor_stream_seq, 7u);
  EXPECT_EQ(progress->num_ack_pending, 0);
  auto text = read_state_file(dir_ + "/fleet-state.json");
  ASSERT_TRUE(text.ok() && text->has_value());
  EXPECT_EQ(Json::parse(**text)["last_stream_seq"], 7);
  svc.stop();
}

TEST_F(FleetConsumerTest, RestartResumesFromTheDurableWithoutReapplying) {
  {
    Metrics metrics;
    FleetService svc(options(), metrics);
    ASSERT_TRUE(svc.start().ok());
    for (int i = 1; i <= 20; ++i) {
      const std::string gw = "gw-" + std::to_string(i % 4);
      publish(raise(gw + ":" + std::to_string(i), gw, "r" + std::to_string(i % 3), "k" + std::to_string(i % 5), i));
    }
    ASSERT_TRUE(wait_metric(metrics, "edgeloop_fleet_acked_total", 20)) << metrics.render_prometheus();
    EXPECT_EQ(metrics.value("edgeloop_fleet_applied_total"), 20);
    svc.stop();
  }
  // While the fleet is down: 5 more, 2 of which clear alerts raised before.
  publish(clear("gw-1:21", "gw-1", "r1", "k1", 21));  // raised by event 1
  publish(clear("gw-2:22", "gw-2", "r0", "k1", 22));  // raised by event 6
  publish(raise("gw-0:23", "gw-0", "new", "k9", 23));
  publish(insight("gw-0:24", "gw-0", "k9", 24, 0.7));
  publish(raise("gw-3:25", "gw-3", "new", "k9", 25));

  Metrics metrics;
  FleetService svc(options(), metrics);
  ASSERT_TRUE(svc.start().ok());
  ASSERT_TRUE(wait_metric(metrics, "edgeloop_fleet_acked_total", 5)) << metrics.render_prometheus();
  // Only the 5 new ones: nothing delivered again, nothing applied twice.
  EXPECT_EQ(metrics.value("edgeloop_fleet_consumed_total"), 5);
  EXPECT_EQ(metrics.value("edgeloop_fleet_applied_total"), 5);
  EXPECT_EQ(metrics.value("edgeloop_fleet_duplicates_total"), 0);
  EXPECT_EQ(metrics.value("edgeloop_fleet_rebuilds_total"), 0);
  EXPECT_EQ(total_events(svc), 25u);
  // 20 raises over (gw i%4, rule i%3, key i%5): 20 distinct alerts; 2 cleared; 2 new raises.
  const std::vector<AlertKey> open_list = svc.open_alerts();
  EXPECT_EQ(open_list.size(), 20u);
  const std::set<AlertKey> open(open_list.begin(), open_list.end());
  EXPECT_EQ(open.count(AlertKey{"gw-1", "vibration", "r1", "k1"}), 0u);
  EXPECT_EQ(open.count(AlertKey{"gw-2", "vibration", "r0", "k1"}), 0u);
  EXPECT_EQ(open.count(AlertKey{"gw-0", "vibration", "new", "k9"}), 1u);
  EXPECT_EQ(open.count(AlertKey{"gw-3", "vibration", "new", "k9"}), 1u);
  svc.stop();
}

TEST_F(FleetConsumerTest, MemoryModeRebuildsByReplayAtEveryStart) {
  for (int run = 0; run < 2; ++run) {
    if (run == 1) publish(clear("g:3", "g", "r", "k2", 3));
    Metrics metrics;
    FleetService svc(options(/*with_state=*/false), metrics);
    ASSERT_TRUE(svc.start().ok());
    if (run == 0) {
      publish(raise("g:1", "g", "r", "k1", 1));
      publish(raise("g:2", "g", "r", "k2", 2));
    }
    const double expected = run == 0 ? 2 : 3;
    ASSERT_TRUE(wait_metric(metrics, "edgeloop_fleet_acked_total", expected)) << metrics.render_prometheus();
    EXPECT_EQ(metrics.value("edgeloop_fleet_applied_total"), expected);
    EXPECT_EQ(metrics.value("edgeloop_fleet_rebuilds_total"), run == 0 ? 0 : 1);
    EXPECT_EQ(open_alerts_over_http(svc),
              run == 0 ? (std::vector<std::string>{"g/r/k1", "g/r/k2"}) : (std::vector<std::string>{"g/r/k1"}));
    svc.stop();
  }
}

TEST_F(FleetConsumerTest, ARecreatedStreamRebuildsTheState) {
  {
    Metrics metrics;
    FleetService svc(options(), metrics);
    ASSERT_TRUE(svc.start().ok());
    publish(raise("g:1", "g", "r", "old", 1));
    ASSERT_TRUE(wait_metric(metrics, "edgeloop_fleet_acked_total", 1));
    svc.stop();
  }
  // The operator deletes and recreates the stream (its sequences start again at 1).
  delete_stream();
  ASSERT_TRUE(edgeloop::test::nats_add_stream(server_.url(), kStream, {"edgeloop.>"}, 1, 2min).ok());
  publish(raise("g:100", "g", "r", "new-1", 100));
  publish(raise("g:101", "g", "r", "new-2", 101));

  Metrics metrics;
  FleetService svc(options(), metrics);
  ASSERT_TRUE(svc.start().ok());
  ASSERT_TRUE(wait_metric(metrics, "edgeloop_fleet_acked_total", 2)) << metrics.render_prometheus();
  EXPECT_EQ(metrics.value("edgeloop_fleet_rebuilds_total"), 1);
  EXPECT_EQ(open_alerts_over_http(svc), (std::vector<std::string>{"g/r/new-1", "g/r/new-2"}));
  svc.stop();
}

TEST_F(FleetConsumerTest, RidesOutAServerRestart) {
  Metrics metrics;
  FleetService svc(options(), metrics);
  ASSERT_TRUE(svc.start().ok());
  publish(raise("g:1", "g", "r", "k1", 1));
  ASSERT_TRUE(wait_metric(metrics, "edgeloop_fleet_acked_total", 1));
  pub_.close();

  server_.stop();
  ASSERT_TRUE(edgeloop::test::wait_until([&] { return svc.health().status == "degraded"; }, 10s, 10ms));
  int status = 0;
  EXPECT_EQ(get_json(svc, "/api/v1/fleet/alerts", &status)["count"], 1);  // still served
  EXPECT_EQ(status, 200);

  ASSERT_TRUE(server_.start().ok()) << server_.log();
  ASSERT_TRUE(pub_.connect(server_.url()).ok());
  publish(raise("g:2", "g", "r", "k2", 2));
  publish(clear("g:3", "g", "r", "k1", 3));
  ASSERT_TRUE(wait_metric(metrics, "edgeloop_fleet_acked_total", 3, 20s)) << metrics.render_prometheus();
  EXPECT_EQ(metrics.value("edgeloop_fleet_applied_total"), 3);
  EXPECT_EQ(open_alerts_over_http(svc), (std::vector<std::string>{"g/r/k2"}));
  ASSERT_TRUE(edgeloop::test::wait_until([&] { return svc.health().status == "ok"; }, 10s, 10ms));
  svc.stop();
}

TEST_F(FleetConsumerTest, WaitsForAMissingStreamOrCreatesItWhenAsked) {
  delete_stream();
  Metrics waiting_metrics;
  FleetService waiting(options(), waiting_metrics);
  ASSERT_TRUE(waiting.start().ok());
  ASSERT_TRUE(edgeloop::test::wait_until(
      [&] {
        const HealthReport h = waiting.health();
        return h.status == "degraded" && h.components.at(0).state == "waiting for stream EDGELOOP";
      },
      10s, 10ms));
  waiting.stop();

  FleetOptions o = options();
  o.create_stream = true;
  o.duplicate_window_ns = 90'000'000'000;
  Metrics metrics;
  FleetService svc(o, metrics);
  ASSERT_TRUE(svc.start().ok());
  ASSERT_TRUE(edgeloop::test::wait_until([&] { return svc.subscribed(); }, 10s, 10ms));
  auto state = edgeloop::test::nats_stream_state(server_.url(), kStream);
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->replicas, 1);
  EXPECT_EQ(state->duplicate_window_ns, 90'000'000'000);
  publish(raise("g:1", "g", "r", "k", 1));
  ASSERT_TRUE(wait_metric(metrics, "edgeloop_fleet_acked_total", 1));
  svc.stop();
}

TEST_F(FleetConsumerTest, AStateFileOfAnotherDurableIsRefused) {
  FleetOptions o = options();
  ASSERT_TRUE(write_file_atomic(o.state_path, FleetState().to_snapshot(kStream, "someone-else")).ok());
  Metrics metrics;
  FleetService svc(o, metrics);
  auto st = svc.start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("durable 'someone-else', not to stream 'EDGELOOP', durable 'fleet-test'"),
            std::string::npos)
      << st.error().message;
  EXPECT_NE(st.error().message.find("(remove the file or start with --rebuild)"), std::string::npos);
}

}  // namespace
}  // namespace edgeloop::fleet
