// The fleet's state logic without NATS: decoding the event JSON that gateways publish, the
// open-alert set after raises, clears, duplicates and late events, the JSON answers, and the
// state file round trip.
#include "fleet/fleet_state.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "actions/event_json.h"
#include "fleet/fleet_event.h"
#include "fleet/fleet_options.h"
#include "fleet/state_file.h"
#include "process.h"

namespace edgeloop::fleet {
namespace {

using Json = nlohmann::json;

FleetEvent alert(const std::string& gw, const std::string& stage, const std::string& key, FleetAlertState st,
                 int64_t ts, const std::string& severity = "warning") {
  FleetEvent e;
  e.gateway = gw;
  e.pipeline = "vibration";
  e.stage = stage;
  e.key = key;
  e.kind = FleetKind::kAlert;
  e.state = st;
  e.severity = severity;
  e.ts_ns = ts;
  e.fields = {{"score", 0.5}};
  return e;
}

FleetEvent insight(const std::string& gw, const std::string& key, int64_t ts, double score) {
  FleetEvent e;
  e.gateway = gw;
  e.pipeline = "vibration";
  e.stage = "health";
  e.key = key;
  e.ts_ns = ts;
  e.fields = {{"health_index", score}, {"time_to_threshold_s", std::numeric_limits<double>::quiet_NaN()}};
  return e;
}

AlertKey akey(const std::string& gw, const std::string& stage, const std::string& key) {
  return {gw, "vibration", stage, key};
}

constexpr auto kRaised = FleetAlertState::kRaised;
constexpr auto kCleared = FleetAlertState::kCleared;

// ---------------------------------------------------------------------------------------------

TEST(FleetEvent, DecodesWhatAppendEventJsonWrites) {
  KeyTable keys(64);
  const KeyId id = *keys.intern("line1/pump-1", "t", 0);
  Schema schema{{"score", "temp"}};
  std::string rule = "overheat", pipeline = "vibration";
  Event e;
  e.kind = EventKind::kAlert;
  e.state = edgeloop::AlertState::kRaised;
  e.severity = Severity::kCritical;
  e.key = id;
  e.ts_ns = 1732540000000000123;
  e.nfields = 2;
  e.f[0] = 0.93;
  e.f[1] = std::numeric_limits<double>::quiet_NaN();
  e.schema = &schema;
  e.name = &rule;
  e.pipeline_name = &pipeline;
  std::string json;
  append_event_json(json, e, {&keys, "gw-1", "gw-1:42"});

  auto parsed = parse_fleet_event(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->id, "gw-1:42");
  EXPECT_EQ(parsed->gateway, "gw-1");
  EXPECT_EQ(parsed->pipeline, "vibration");
  EXPECT_EQ(parsed->stage, "overheat");
  EXPECT_EQ(parsed->key, "line1/pump-1");
  EXPECT_EQ(parsed->kind, FleetKind::kAlert);
  EXPECT_EQ(parsed->state, FleetAlertState::kRaised);
  EXPECT_EQ(parsed->severity, "critical");
  EXPECT_EQ(parsed->ts_ns, 1732540000000000123);
  ASSERT_EQ(parsed->fields.size(), 2u);
  EXPECT_EQ(parsed->fields[0].first, "score");
  EXPECT_DOUBLE_EQ(parsed->fields[0].second, 0.93);
  EXPECT_EQ(parsed->fields[1].first, "temp");
  EXPECT_TRUE(std::isnan(parsed->fields[1].second));
}

TEST(FleetEvent, GatewayFromTheSubjectWhenThePayloadHasNone) {
  auto e = parse_fleet_event(R"({"key":"k","kind":"insight","ts_ns":5,"fields":{}})", "edgeloop.gw-9.insight");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->gateway, "gw-9");
  EXPECT_EQ(e->id, "");
  EXPECT_EQ(e->severity, "info");
  EXPECT_EQ(e->state, FleetAlertState::kNone);
}

TEST(FleetEvent, RejectsBadInputWithAClearMessage) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {"{not json", "event: not valid JSON"},
      {"[1,2]", "event: not a JSON object"},
      {R"({"gateway":"g","kind":"insight","ts_ns":1})", "event: no \"key\""},
      {R"({"gateway":"g","key":"k","ts_ns":1})", "event: no \"kind\""},
      {R"({"gateway":"g","key":"k","kind":"bogus","ts_ns":1})", "event: unknown \"kind\" (insight, alert or command)"},
      {R"({"gateway":"g","key":"k","kind":"alert","ts_ns":1})", "event: an alert without \"state\""},
      {R"({"gateway":"g","key":"k","kind":"alert","state":"up","ts_ns":1})",
       "event: unknown \"state\" (none, raised or cleared)"},
      {R"({"gateway":"g","key":"k","kind":"insight","severity":"bad","ts_ns":1})",
       "event: unknown \"severity\" (info, warning or critical)"},
      {R"({"gateway":"g","key":"k","kind":"insight","ts_ns":"1"})", "event: \"ts_ns\" is missing or not an integer"},
      {R"({"gateway":"g","key":"k","kind":"insight","ts_ns":1.5})", "event: \"ts_ns\" is missing or not an integer"},
      {R"({"gateway":"g","key":"k","kind":"insight","ts_ns":18446744073709551615})",
       "event: \"ts_ns\" is out of range"},
      {R"({"gateway":"g","key":"k","kind":"insight","ts_ns":1,"fields":[1]})", "event: \"fields\" is not an object"},
      {R"({"gateway":"g","key":"k","kind":"insight","ts_ns":1,"fields":{"a":"x"}})",
       "event: field \"a\" is not a number or null"},
      {R"({"gateway":7,"key":"k","kind":"insight","ts_ns":1})", "event: \"gateway\" is not a string"},
      {R"({"key":"k","kind":"insight","ts_ns":1})", "event: no \"gateway\" (and none in the subject)"},
  };
  for (const auto& c : cases) {
    auto e = parse_fleet_event(c.json, "nodots");
    ASSERT_FALSE(e.ok()) << c.json;
    EXPECT_EQ(e.error().code, Errc::kParse) << c.json;
    EXPECT_EQ(e.error().message, c.message) << c.json;
  }
}

// ---------------------------------------------------------------------------------------------

TEST(FleetState, OpenAlertsAfterRaisesClearsAndDuplicates) {
  FleetState s;
  EXPECT_EQ(s.apply(alert("gw-1", "overheat", "pump-1", kRaised, 100), "gw-1:1", 1, 1000), ApplyOutcome::kApplied);
  EXPECT_EQ(s.apply(alert("gw-1", "vibration_high", "pump-1", kRaised, 110), "gw-1:2", 2, 1000),
            ApplyOutcome::kApplied);
  EXPECT_EQ(s.apply(alert("gw-2", "overheat", "fan-7", kRaised, 120, "critical"), "gw-2:1", 3, 1000),
            ApplyOutcome::kApplied);
  EXPECT_EQ(s.open_alerts(),
            (std::vector<AlertKey>{akey("gw-1", "overheat", "pump-1"), akey("gw-1", "vibration_high", "pump-1"),
                                   akey("gw-2", "overheat", "fan-7")}));
  EXPECT_EQ(s.open_alert_count(), 3u);

  // Cleared: gone from the open set.
  EXPECT_EQ(s.apply(alert("gw-1", "overheat", "pump-1", kCleared, 200), "gw-1:3", 4, 1000), ApplyOutcome::kApplied);
  EXPECT_EQ(s.open_alerts(),
            (std::vector<AlertKey>{akey("gw-1", "vibration_high", "pump-1"), akey("gw-2", "overheat", "fan-7")}));

  // The same raise again (a redelivery, a re-send): a duplicate, nothing changes.
  EXPECT_EQ(s.apply(alert("gw-1", "overheat", "pump-1", kRaised, 100), "gw-1:1", 5, 1000), ApplyOutcome::kDuplicate);
  EXPECT_EQ(s.open_alert_count(), 2u);
  EXPECT_EQ(s.gateways().at("gw-1").events, 3u);

  // A late clear (older than the raise shown): counted as out of order, the alert stays open.
  EXPECT_EQ(s.apply(alert("gw-2", "overheat", "fan-7", kCleared, 119), "gw-2:0", 6, 1000), ApplyOutcome::kOutOfOrder);
  EXPECT_EQ(s.open_alerts(),
            (std::vector<AlertKey>{akey("gw-1", "vibration_high", "pump-1"), akey("gw-2", "overheat", "fan-7")}));

  // A new raise of the cleared alert opens it again; a clear of an unknown alert opens nothing.
  EXPECT_EQ(s.apply(alert("gw-1", "overheat", "pump-1", kRaised, 300), "gw-1:4", 7, 1000), ApplyOutcome::kApplied);
  EXPECT_EQ(s.apply(alert("gw-3", "overheat", "x", kCleared, 300), "gw-3:1", 8, 1000), ApplyOutcome::kApplied);
  EXPECT_EQ(s.open_alerts(),
            (std::vector<AlertKey>{akey("gw-1", "overheat", "pump-1"), akey("gw-1", "vibration_high", "pump-1"),
                                   akey("gw-2", "overheat", "fan-7")}));
  EXPECT_EQ(s.open_alert_count(), 3u);
  EXPECT_EQ(s.alerts().size(), 4u);  // gw-3's cleared one is remembered (its time orders later events)
  EXPECT_EQ(s.last_stream_seq(), 8u);

  // A raise and its clear at the same event time: the one that arrives last wins.
  EXPECT_EQ(s.apply(alert("gw-2", "overheat", "fan-7", kCleared, 120), "gw-2:2", 9, 1000), ApplyOutcome::kApplied);
  EXPECT_EQ(s.open_alerts(),
            (std::vector<AlertKey>{akey("gw-1", "overheat", "pump-1"), akey("gw-1", "vibration_high", "pump-1")}));
}

TEST(FleetState, WithoutAnIdEveryMessageIsApplied) {
  FleetState s;
  EXPECT_EQ(s.apply(alert("g", "r", "k", kRaised, 1), "", 1, 0), ApplyOutcome::kApplied);
  EXPECT_EQ(s.apply(alert("g", "r", "k", kRaised, 1), "", 2, 0), ApplyOutcome::kApplied);
  EXPECT_EQ(s.gateways().at("g").events, 2u);
  EXPECT_EQ(s.open_alert_count(), 1u);
}

TEST(FleetState, RemembersABoundedNumberOfIds) {
  FleetState s(FleetLimits{.dedup_ids = 2});
  EXPECT_EQ(s.apply(insight("g", "k", 1, 0.1), "a", 1, 0), ApplyOutcome::kApplied);
  EXPECT_EQ(s.apply(insight("g", "k", 2, 0.2), "b", 2, 0), ApplyOutcome::kApplied);
  EXPECT_EQ(s.apply(insight("g", "k", 1, 0.1), "a", 3, 0), ApplyOutcome::kDuplicate);
  EXPECT_EQ(s.apply(insight("g", "k", 3, 0.3), "c", 4, 0), ApplyOutcome::kApplied);  // evicts "a"
  EXPECT_EQ(s.remembered_ids(), 2u);
  // "a" again: no longer remembered (it is now, evicting "b"), but older than the insight
  // shown: the state is unchanged.
  EXPECT_EQ(s.apply(insight("g", "k", 1, 0.1), "a", 5, 0), ApplyOutcome::kOutOfOrder);
  EXPECT_EQ(s.apply(insight("g", "k", 3, 0.3), "c", 6, 0), ApplyOutcome::kDuplicate);
  EXPECT_EQ(s.apply(insight("g", "k", 2, 0.2), "b", 7, 0), ApplyOutcome::kOutOfOrder);
  const auto& in = s.assets().at({"g", "k"}).insights.at({"vibration", "health"});
  EXPECT_EQ(in.ts_ns, 3);
  EXPECT_EQ(in.id, "c");
  EXPECT_DOUBLE_EQ(in.fields[0].second, 0.3);
}

TEST(FleetState, ServesGatewaysAssetsAndAlertsAsJson) {
  FleetState s;
  ASSERT_EQ(s.apply(insight("gw-1", "pump-1", 100, 0.25), "gw-1:1", 1, 5000), ApplyOutcome::kApplied);
  ASSERT_EQ(s.apply(alert("gw-1", "overheat", "pump-1", kRaised, 150, "critical"), "gw-1:2", 2, 6000),
            ApplyOutcome::kApplied);
  FleetEvent cmd = insight("gw-1", "pump-1", 160, 0);
  cmd.kind = FleetKind::kCommand;
  cmd.stage = "slow_down";
  cmd.fields.clear();
  ASSERT_EQ(s.apply(cmd, "gw-1:3", 3, 6500), ApplyOutcome::kApplied);
  ASSERT_EQ(s.apply(insight("gw-2", "fan-1", 90, 0.5), "gw-2:1", 4, 7000), ApplyOutcome::kApplied);

  EXPECT_EQ(s.alerts_json({}),
            R"({"alerts":[{"fields":{"score":0.5},"gateway":"gw-1","id":"gw-1:2","key":"pump-1",)"
            R"("pipeline":"vibration","raised_ns":150,"severity":"critical","stage":"overheat"}],"count":1})");
  EXPECT_EQ(s.alerts_json({.gateway = "gw-2"}), R"({"alerts":[],"count":0})");
  EXPECT_EQ(s.alerts_json({.severity = "warning"}), R"({"alerts":[],"count":0})");

  EXPECT_EQ(s.assets_json({.gateway = "gw-1"}),
            R"({"assets":[{"events":3,"gateway":"gw-1","health":"critical","insights":[{"fields":)"
            R"({"health_index":0.25,"time_to_threshold_s":null},"id":"gw-1:1","pipeline":"vibration",)"
            R"("stage":"health","ts_ns":100}],"key":"pump-1","last_command":{"name":"vibration/slow_down",)"
            R"("ts_ns":160},"last_event_ns":160,"last_received_ns":6500,"open_alerts":1}],"count":1})");
  const Json all_assets = Json::parse(s.assets_json({}));
  EXPECT_EQ(all_assets["count"], 2);
  EXPECT_EQ(all_assets["assets"][1]["gateway"], "gw-2");
  EXPECT_EQ(all_assets["assets"][1]["health"], "ok");

  // gw-2 was last heard at 7000, gw-1 at 6500: at 9000 with stale_after 2100 only gw-1 is stale.
  EXPECT_EQ(s.gateways_json({}, 9000, 2100),
            R"({"count":2,"gateways":[{"assets":1,"events":3,"gateway":"gw-1","health":"critical",)"
            R"("last_event_ns":160,"last_received_ns":6500,"open_alerts":1,"stale":true},)"
            R"({"assets":1,"events":1,"gateway":"gw-2","health":"ok","last_event_ns":90,)"
            R"("last_received_ns":7000,"open_alerts":0,"stale":false}]})");
  EXPECT_EQ(Json::parse(s.gateways_json({}, 9000, 0))["gateways"][0]["stale"], false);
}

TEST(FleetState, SnapshotRoundTripKeepsStateAndIds) {
  FleetState s;
  ASSERT_EQ(s.apply(insight("gw-1", "pump-1", 100, 0.25), "gw-1:1", 11, 5000), ApplyOutcome::kApplied);
  ASSERT_EQ(s.apply(alert("gw-1", "overheat", "pump-1", kRaised, 150), "gw-1:2", 12, 6000), ApplyOutcome::kApplied);
  ASSERT_EQ(s.apply(alert("gw-1", "vib", "pump-1", kRaised, 150), "gw-1:3", 13, 6000), ApplyOutcome::kApplied);
  ASSERT_EQ(s.apply(alert("gw-1", "vib", "pump-1", kCleared, 170), "gw-1:4", 14, 6000), ApplyOutcome::kApplied);
  s.set_stream_created_ns(777);
  const std::string snap = s.to_snapshot("EDGELOOP", "fleet-a");

  auto back = FleetState::from_snapshot(snap, "EDGELOOP", "fleet-a", {});
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->last_stream_seq(), 14u);
  EXPECT_EQ(back->stream_created_ns(), 777);
  EXPECT_EQ(back->open_alerts(), (std::vector<AlertKey>{akey("gw-1", "overheat", "pump-1")}));
  EXPECT_EQ(back->assets_json({}), s.assets_json({}));
  EXPECT_EQ(back->alerts_json({}), s.alerts_json({}));
  EXPECT_EQ(back->gateways_json({}, 0, 0), s.gateways_json({}, 0, 0));
  EXPECT_EQ(back->to_snapshot("EDGELOOP", "fleet-a"), snap);
  // The remembered ids came along: a redelivery after the restart is still a duplicate.
  EXPECT_EQ(back->apply(alert("gw-1", "vib", "pump-1", kCleared, 170), "gw-1:4", 14, 0), ApplyOutcome::kDuplicate);
  // A late raise of the cleared alert is still ordered by the saved time.
  EXPECT_EQ(back->apply(alert("gw-1", "vib", "pump-1", kRaised, 160), "gw-1:9", 15, 0), ApplyOutcome::kOutOfOrder);

  auto other = FleetState::from_snapshot(snap, "EDGELOOP", "fleet-b", {});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(
      other.error().message,
      "the state file belongs to stream 'EDGELOOP', durable 'fleet-a', not to stream 'EDGELOOP', durable 'fleet-b'");
  EXPECT_EQ(FleetState::from_snapshot("{", "EDGELOOP", "fleet-a", {}).error().message,
            "the state file is not valid JSON");
  auto missing =
      FleetState::from_snapshot(R"({"version":1,"stream":"EDGELOOP","durable":"fleet-a"})", "EDGELOOP", "fleet-a", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kParse);
  EXPECT_EQ(FleetState::from_snapshot(R"({"version":2})", "EDGELOOP", "fleet-a", {}).error().message,
            "the state file has an unknown version (expected 1)");
}

TEST(FleetState, ClearForgetsEverything) {
  FleetState s;
  ASSERT_EQ(s.apply(alert("g", "r", "k", kRaised, 1), "g:1", 3, 0), ApplyOutcome::kApplied);
  s.clear();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.open_alert_count(), 0u);
  EXPECT_EQ(s.remembered_ids(), 0u);
  EXPECT_EQ(s.apply(alert("g", "r", "k", kRaised, 1), "g:1", 3, 0), ApplyOutcome::kApplied);
}

// ---------------------------------------------------------------------------------------------

TEST(StateFile, WritesAtomicallyAndReadsBack) {
  auto dir = test::make_temp_dir("edgeloop-fleet-");
  ASSERT_TRUE(dir.ok());
  const std::string path = *dir + "/state.json";
  auto none = read_state_file(path);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(write_file_atomic(path, "first").ok());
  ASSERT_TRUE(write_file_atomic(path, "second").ok());
  auto text = read_state_file(path);
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(text->has_value());
  EXPECT_EQ(**text, "second");
  EXPECT_EQ(test::read_file(path + ".tmp"), "");  // renamed away
  ASSERT_TRUE(remove_state_file(path).ok());
  ASSERT_TRUE(remove_state_file(path).ok());
  auto bad = write_file_atomic(*dir + "/no/such/dir/state.json", "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::kIo);
  test::remove_tree(*dir);
}

// ---------------------------------------------------------------------------------------------

ConfigNode map_of(const std::vector<std::pair<std::string, std::string>>& kv) {
  ConfigNode n = ConfigNode::map(Mark{});
  for (const auto& [k, v] : kv) n.set(k, ConfigNode::scalar(v, Mark{}));
  return n;
}

TEST(FleetOptions, DefaultsAndOverrides) {
  auto d = FleetOptions::from_node(ConfigNode(), "fleet");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->servers, std::vector<std::string>{"nats://127.0.0.1:4222"});
  EXPECT_EQ(d->stream, "EDGELOOP");
  EXPECT_EQ(d->durable, "edgeloop-fleet");
  EXPECT_EQ(d->subject, "edgeloop.>");
  EXPECT_EQ(d->http_listen, "127.0.0.1");
  EXPECT_EQ(d->http_port, 8090);
  EXPECT_EQ(d->state_path, "fleet-state.json");
  EXPECT_EQ(d->ack_wait_ns, 30'000'000'000);

  auto o = FleetOptions::from_node(map_of({{"nats", "nats://a:1, nats://b:2,,nats://c:3"},
                                           {"http", "0.0.0.0:0"},
                                           {"state", "none"},
                                           {"durable", "fleet-a"}}),
                                   "fleet");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->servers, (std::vector<std::string>{"nats://a:1", "nats://b:2", "nats://c:3"}));
  EXPECT_EQ(o->http_listen, "0.0.0.0");
  EXPECT_EQ(o->http_port, 0);
  EXPECT_EQ(o->state_path, "");
  EXPECT_EQ(o->durable, "fleet-a");
}

TEST(FleetOptions, RejectsBadValues) {
  EXPECT_NE(FleetOptions::from_node(map_of({{"http", "8090"}}), "fleet")
                .error()
                .message.find("expected ADDR:PORT (e.g. 127.0.0.1:8090), got '8090'"),
            std::string::npos);
  EXPECT_NE(FleetOptions::from_node(map_of({{"http", "h:70000"}}), "fleet").error().message.find("0..65535"),
            std::string::npos);
  EXPECT_NE(FleetOptions::from_node(map_of({{"durable", "a.b"}}), "fleet").error().message.find("durable"),
            std::string::npos);
  EXPECT_NE(FleetOptions::from_node(map_of({{"snapshot_interval", "20s"}}), "fleet")
                .error()
                .message.find("must be under half of ack_wait"),
            std::string::npos);
  EXPECT_NE(FleetOptions::from_node(map_of({{"bogus", "1"}}), "fleet").error().message.find("bogus"),
            std::string::npos);
  EXPECT_NE(FleetOptions::from_node(map_of({{"nats", " , "}}), "fleet").error().message.find("no server URL"),
            std::string::npos);
  EXPECT_EQ(parse_listen_address("[::1]:80").value(), (std::pair<std::string, int>{"::1", 80}));
}

}  // namespace
}  // namespace edgeloop::fleet
