// source.sparkplug, action.sparkplug and action.sparkplug_command against independent peers:
// an edge node built with the npm sparkplug-client and a host built with sparkplug-payload,
// through a real mosquitto on a free loopback port.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "connectors/sparkplug/command_action.h"
#include "connectors/sparkplug/edge_node.h"
#include "connectors/sparkplug/host_source.h"
#include "fakes.h"
#include "mosquitto_broker.h"

namespace edgeloop::sparkplug {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kPeers = EDGELOOP_SOURCE_DIR "/tests/peers";

std::string find_node() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "";
  std::size_t start = 0;
  while (start <= p.size()) {
    const std::size_t colon = p.find(':', start);
    const std::string dir = p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && std::filesystem::exists(dir + "/node")) return dir + "/node";
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

// Fails the test (never skips) when node or the npm peers are missing: CI installs them.
Result<test::Process> start_peer(const std::string& script, const std::vector<std::string>& args, const std::string& log) {
  const std::string node = find_node();
  if (node.empty()) return make_error(Errc::kNotFound, "`node` is not on PATH (scripts/setup.sh installs Node.js)");
  for (const char* mod : {"sparkplug-client", "sparkplug-payload", "mqtt"}) {
    if (!std::filesystem::exists(kPeers + "/node_modules/" + mod)) {
      return make_error(Errc::kNotFound, std::string("npm module ") + mod + " missing: run `npm ci` in " + kPeers);
    }
  }
  std::vector<std::string> argv = {node, kPeers + "/sparkplug/" + script};
  argv.insert(argv.end(), args.begin(), args.end());
  test::ProcessOptions o;
  o.log_file = log;
  o.working_dir = kPeers;
  o.env = {"NODE_PATH=" + kPeers + "/node_modules"};
  return test::Process::start(argv, o);
}

double num(const json& v) {  // uint64s come as strings (Long), the rest as numbers
  if (v.is_string()) return std::stod(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  return v.get<double>();
}

const json* metric_named(const json& payload, const std::string& name) {
  for (const auto& m : payload["metrics"])
    if (m.contains("name") && m["name"] == name) return &m;
  return nullptr;
}

json wait_json(test::MqttTestClient& c, const std::string& topic, std::size_t skip = 0) {
  std::size_t seen = 0;
  auto m = c.wait_for([&](const test::ReceivedMessage& r) { return r.topic == topic && seen++ >= skip; }, 15s);
  if (!m) return json();
  return json::parse(m->payload, nullptr, false);
}

class SparkplugPeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test::mosquitto_available()) << "mosquitto is needed at " << test::kMosquittoPath;
    ASSERT_TRUE(broker_.start().ok());
    ASSERT_TRUE(ctl_.connect(broker_.host(), broker_.port()).ok());
    ASSERT_TRUE(ctl_.subscribe("test/#").ok());
    log_ = broker_.dir() + "/peer.log";
  }
  MqttConnectConfig connect() const {
    MqttConnectConfig c;
    c.host = broker_.host();
    c.port = broker_.port();
    c.keepalive_s = 5;
    return c;
  }
  std::string peer_log() const { return test::read_file(log_); }

  test::MosquittoBroker broker_;
  test::MqttTestClient ctl_;
  std::string log_;
  KeyTable keys_{1000};
  Metrics metrics_;
};

TEST_F(SparkplugPeerTest, HostDecodesPeerValuesRequestsRebirthOnGapAndMarksDeathStale) {
  HostConfig hc;
  hc.connect = connect();
  hc.group = "plant";
  hc.metrics = {"i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f", "d", "b", "dt", "label", "setpoint"};
  auto src = HostSource::create(hc);
  ASSERT_TRUE(src.ok()) << src.error().message;
  test::CollectingOutput out;
  test::CollectingDeadLetters dead;
  SourceContext ctx;
  ctx.name = "spb";
  ctx.keys = &keys_;
  ctx.output = &out;
  ctx.dead_letters = &dead;
  ctx.metrics = &metrics_;
  ASSERT_TRUE((*src)->start(ctx).ok());
  ASSERT_TRUE(test::wait_until([&] { return (*src)->health() == Health::kConnected; }, 10s));

  auto peer = start_peer("edge_node.js", {std::to_string(broker_.port()), "plant", "node1"}, log_);
  ASSERT_TRUE(peer.ok()) << peer.error().message;
  ASSERT_FALSE(wait_json(ctl_, "test/peer/ready").is_null()) << peer_log();

  const KeyId dev_key_id = [&] {
    KeyId id = kNoKey;
    test::wait_until([&] { return (id = keys_.find("plant/node1/dev1")) != kNoKey; }, 15s);
    return id;
  }();
  ASSERT_NE(dev_key_id, kNoKey) << peer_log();
  auto records_of = [&](KeyId k) {
    std::vector<Record> r;
    for (const Record& x : out.records())
      if (x.key == k) r.push_back(x);
    return r;
  };
  ASSERT_TRUE(test::wait_until([&] { return !records_of(dev_key_id).empty(); }, 10s));
  const Record b = records_of(dev_key_id)[0];
  ASSERT_EQ(b.nfields, 15);
  EXPECT_EQ(b.f[0], -7);
  EXPECT_EQ(b.f[1], -30000);
  EXPECT_EQ(b.f[2], -2000000000);
  EXPECT_EQ(b.f[3], -5000000000.0);
  EXPECT_EQ(b.f[4], 250);
  EXPECT_EQ(b.f[5], 65000);
  EXPECT_EQ(b.f[6], 4000000000.0);
  EXPECT_EQ(b.f[7], 9007199254740991.0);
  EXPECT_EQ(b.f[8], 1.25);
  EXPECT_EQ(b.f[9], -0.1);
  EXPECT_EQ(b.f[10], 1);
  EXPECT_EQ(b.f[11], 1700000000123.0);
  EXPECT_TRUE(std::isnan(b.f[12]));  // String: skipped
  EXPECT_EQ(b.f[13], 0);
  EXPECT_EQ(b.f[14], 0);  // not stale
  EXPECT_EQ(b.ts_ns, 1700000000001 * 1'000'000);

  // DDATA by alias only.
  ASSERT_TRUE(ctl_.publish("test/ctl/data", "").ok());
  ASSERT_TRUE(test::wait_until([&] { return records_of(dev_key_id).size() >= 2; }, 10s)) << peer_log();
  const Record d = records_of(dev_key_id)[1];
  EXPECT_EQ(d.f[0], -128);
  EXPECT_EQ(d.f[9], 3.5);
  EXPECT_EQ(d.f[10], 0);
  EXPECT_EQ(d.f[1], -30000);  // unchanged metrics keep their value
  EXPECT_EQ(d.ts_ns, 1700000000100 * 1'000'000);
  EXPECT_EQ((*src)->seq_gaps(), 0u);

  // The peer skips a seq: edgeloop asks for a rebirth, the peer sees the NCMD and is born again.
  ASSERT_TRUE(ctl_.publish("test/ctl/gap", "").ok());
  const json ncmd = wait_json(ctl_, "test/peer/ncmd");
  ASSERT_FALSE(ncmd.is_null()) << peer_log();
  const json* rb = metric_named(ncmd, "Node Control/Rebirth");
  ASSERT_NE(rb, nullptr) << ncmd.dump();
  EXPECT_EQ((*rb)["value"], true);
  EXPECT_EQ((*rb)["type"], "Boolean");
  EXPECT_EQ((*src)->seq_gaps(), 1u);
  EXPECT_EQ((*src)->rebirths_requested(), 1u);
  const json reborn = wait_json(ctl_, "test/peer/births", 1);
  ASSERT_FALSE(reborn.is_null());
  EXPECT_EQ(reborn["rebirth"], true);
  ASSERT_TRUE(test::wait_until([&] { return records_of(dev_key_id).size() >= 4; }, 10s));  // gap DDATA + DBIRTH
  EXPECT_EQ(records_of(dev_key_id)[2].f[0], 100);
  EXPECT_EQ(records_of(dev_key_id)[3].f[0], -7);  // born again with the birth's values

  // A rule's command: DCMD with an event field's value.
  CommandConfig cc;
  cc.connect = connect();
  cc.group = "plant";
  cc.node = "node1";
  cc.device = "dev1";
  cc.metric = "setpoint";
  cc.datatype = pb::Double;
  cc.value = "mean";
  auto cmd = CommandAction::create(cc);
  ASSERT_TRUE(cmd.ok()) << cmd.error().message;
  ActionContext actx;
  actx.name = "cmd";
  actx.keys = &keys_;
  actx.metrics = &metrics_;
  ASSERT_TRUE((*cmd)->start(actx).ok());
  ASSERT_TRUE(test::wait_until([&] { return (*cmd)->health() == Health::kConnected; }, 10s));
  Schema schema({"mean"});
  Event e;
  e.kind = EventKind::kAlert;
  e.state = AlertState::kRaised;
  e.key = dev_key_id;
  e.nfields = 1;
  e.f[0] = 42.5;
  e.schema = &schema;
  (*cmd)->on_event(e);
  const json dcmd = wait_json(ctl_, "test/peer/dcmd");
  ASSERT_FALSE(dcmd.is_null()) << peer_log();
  EXPECT_EQ(dcmd["device"], "dev1");
  const json* sp = metric_named(dcmd["payload"], "setpoint");
  ASSERT_NE(sp, nullptr) << dcmd.dump();
  EXPECT_EQ(num((*sp)["value"]), 42.5);
  EXPECT_EQ((*sp)["type"], "Double");
  (*cmd)->stop();

  // NDEATH (bdSeq of the birth) marks the node and its device stale.
  const std::size_t before = out.count();
  ASSERT_TRUE(ctl_.publish("test/ctl/death", "").ok());
  ASSERT_TRUE(test::wait_until([&] { return out.count() >= before + 2; }, 10s)) << peer_log();
  const auto recs = out.records();
  int stale = 0;
  for (std::size_t i = before; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].f[14], 1);
    ++stale;
  }
  EXPECT_EQ(stale, 2);
  EXPECT_EQ(records_of(dev_key_id).back().f[0], -7);  // the last value (of the rebirth), now stale
  EXPECT_EQ(metrics_.value("edgeloop_sparkplug_stale_total", {{"source", "spb"}}), 2);
  EXPECT_EQ(metrics_.value("edgeloop_source_errors_total", {{"source", "spb"}, {"reason", "malformed"}}), 0);
  (*src)->stop();
  peer->stop();
}

TEST_F(SparkplugPeerTest, EdgeNodePayloadsDecodeWithSparkplugPayload) {
  auto peer = start_peer("host.js", {std::to_string(broker_.port()), "plant"}, log_);
  ASSERT_TRUE(peer.ok()) << peer.error().message;
  ASSERT_FALSE(wait_json(ctl_, "test/peer/ready").is_null()) << peer_log();

  EdgeNodeConfig nc;
  nc.connect = connect();
  nc.group = "plant";
  nc.node = "edgeloop1";
  nc.fields = {"mean", "score"};
  nc.alerts = {"hot"};
  auto node = EdgeNodeAction::create(nc);
  ASSERT_TRUE(node.ok()) << node.error().message;
  ActionContext actx;
  actx.name = "spb_node";
  actx.keys = &keys_;
  actx.metrics = &metrics_;
  ASSERT_TRUE((*node)->start(actx).ok());

  const json nbirth = wait_json(ctl_, "test/decoded/NBIRTH/edgeloop1");
  ASSERT_FALSE(nbirth.is_null()) << peer_log();
  EXPECT_EQ(num(nbirth["seq"]), 0);
  ASSERT_NE(metric_named(nbirth, "bdSeq"), nullptr) << nbirth.dump();
  EXPECT_EQ(num((*metric_named(nbirth, "bdSeq"))["value"]), 0);
  EXPECT_EQ((*metric_named(nbirth, "bdSeq"))["type"], "UInt64");
  ASSERT_NE(metric_named(nbirth, "Node Control/Rebirth"), nullptr);
  EXPECT_EQ((*metric_named(nbirth, "Node Control/Rebirth"))["value"], false);

  const KeyId key = *keys_.intern("line1/pump3", "t", 0);
  Schema schema({"mean", "score", "other"});
  const std::string rule = "hot";
  Event e;
  e.kind = EventKind::kInsight;
  e.key = key;
  e.nfields = 3;
  e.f = {1.5, 0.25, 9};
  e.ts_ns = 1700000000000 * 1'000'000;
  e.schema = &schema;
  (*node)->on_event(e);
  const json dbirth = wait_json(ctl_, "test/decoded/DBIRTH/edgeloop1/line1_pump3");
  ASSERT_FALSE(dbirth.is_null()) << peer_log();
  EXPECT_EQ(num(dbirth["seq"]), 1);
  EXPECT_EQ(num(dbirth["timestamp"]), 1700000000000.0);
  ASSERT_EQ(dbirth["metrics"].size(), 4u) << dbirth.dump();
  EXPECT_EQ((*metric_named(dbirth, "mean"))["value"], 1.5);
  EXPECT_EQ((*metric_named(dbirth, "mean"))["type"], "Double");
  EXPECT_EQ((*metric_named(dbirth, "score"))["value"], 0.25);
  EXPECT_TRUE((*metric_named(dbirth, "alert"))["value"].is_null());
  EXPECT_EQ((*metric_named(dbirth, "alert/hot"))["type"], "Boolean");
  const double mean_alias = num((*metric_named(dbirth, "mean"))["alias"]);
  const double alert_alias = num((*metric_named(dbirth, "alert"))["alias"]);

  e.f = {2.5, 0.5, 9};
  e.ts_ns += 1'000'000'000;
  (*node)->on_event(e);
  const json ddata = wait_json(ctl_, "test/decoded/DDATA/edgeloop1/line1_pump3");
  ASSERT_FALSE(ddata.is_null());
  EXPECT_EQ(num(ddata["seq"]), 2);
  ASSERT_EQ(ddata["metrics"].size(), 2u) << ddata.dump();
  EXPECT_EQ(num(ddata["metrics"][0]["alias"]), mean_alias);
  EXPECT_EQ(ddata["metrics"][0]["value"], 2.5);
  EXPECT_EQ(ddata["metrics"][1]["value"], 0.5);

  Event a = e;
  a.kind = EventKind::kAlert;
  a.state = AlertState::kRaised;
  a.name = &rule;
  (*node)->on_event(a);
  const json adata = wait_json(ctl_, "test/decoded/DDATA/edgeloop1/line1_pump3", 1);
  ASSERT_FALSE(adata.is_null());
  EXPECT_EQ(num(adata["seq"]), 3);
  ASSERT_EQ(adata["metrics"].size(), 4u) << adata.dump();
  EXPECT_EQ(num(adata["metrics"][2]["alias"]), alert_alias);
  EXPECT_EQ(adata["metrics"][2]["type"], "Boolean");
  EXPECT_EQ(adata["metrics"][2]["value"], true);
  EXPECT_EQ(adata["metrics"][3]["value"], true);  // alert/hot

  // A host's Rebirth NCMD: births again, with the latest values.
  ASSERT_TRUE(ctl_.publish("test/ctl/rebirth/edgeloop1", "").ok());
  const json nb2 = wait_json(ctl_, "test/decoded/NBIRTH/edgeloop1", 1);
  ASSERT_FALSE(nb2.is_null()) << peer_log();
  EXPECT_EQ(num(nb2["seq"]), 0);
  EXPECT_EQ(num((*metric_named(nb2, "bdSeq"))["value"]), 0);  // same MQTT session, same bdSeq
  const json db2 = wait_json(ctl_, "test/decoded/DBIRTH/edgeloop1/line1_pump3", 1);
  ASSERT_FALSE(db2.is_null());
  EXPECT_EQ(num(db2["seq"]), 1);
  EXPECT_EQ((*metric_named(db2, "mean"))["value"], 2.5);
  EXPECT_EQ((*metric_named(db2, "alert"))["value"], true);

  (*node)->stop();  // a clean stop publishes the NDEATH itself
  const json death = wait_json(ctl_, "test/decoded/NDEATH/edgeloop1");
  ASSERT_FALSE(death.is_null());
  EXPECT_EQ(num((*metric_named(death, "bdSeq"))["value"]), 0);
  EXPECT_EQ(metrics_.value("edgeloop_sparkplug_rebirths_total", {{"action", "spb_node"}}), 1);
  peer->stop();
}

}  // namespace
}  // namespace edgeloop::sparkplug
