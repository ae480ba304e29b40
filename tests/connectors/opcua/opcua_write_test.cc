// action.opcua_write against the node-opcua peer: writes typed by the node's DataType that the
// server sees (it prints "WRITE <name> <value>"), the read-back check, refusals counted and
// dead-lettered, a full queue dropping, a server that comes up late; and the closed loop: a
// rule on an OPC UA value writes a node, through the whole runtime.
#include "connectors/opcua/opcua_write.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <thread>

#include "config/app_config.h"
#include "config/yaml_loader.h"
#include "connectors/opcua/builtins.h"
#include "fakes.h"
#include "opcua_peer.h"
#include "operators/builtins.h"
#include "rules/builtins.h"
#include "runtime/runtime.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;
using opcua::NodeId;
using opcua::Variant;
using opcua::VariantType;

std::unique_ptr<OpcuaWriteAction> make_action(const std::string& yaml) {
  auto node = load_yaml_string(yaml, "w.yaml");
  EXPECT_TRUE(node.ok());
  if (!node.ok()) return nullptr;
  auto opts = Options::parse_owned(opcua_write_options(), std::make_shared<ConfigNode>(std::move(*node)), "actions.w");
  EXPECT_TRUE(opts.ok()) << opts.error().message;
  if (!opts.ok()) return nullptr;
  auto a = OpcuaWriteAction::from_options(*opts);
  EXPECT_TRUE(a.ok()) << a.error().message;
  return a.ok() ? std::move(*a) : nullptr;
}

// The value of the last "WRITE <name> " line of the peer's log, or "" when none.
std::string last_write(const OpcuaPeer& peer, const std::string& name) {
  std::istringstream in(peer.log());
  std::string line;
  std::string found;
  const std::string prefix = "WRITE " + name + " ";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) found = line.substr(prefix.size());
  return found;
}

class OpcuaWriteTest : public ::testing::Test {
 protected:
  void start_action(OpcuaWriteAction& a, const std::string& name) {
    ctx_.name = name;
    ctx_.keys = &keys_;
    ctx_.metrics = &metrics_;
    ctx_.dead_letters = &dead_;
    ASSERT_TRUE(a.start(ctx_).ok());
  }
  Event event(double temp) {
    Event e;
    e.kind = EventKind::kAlert;
    e.state = AlertState::kRaised;
    e.key = *keys_.intern("boiler", "t", 0);
    e.nfields = 1;
    e.f[0] = temp;
    e.schema = &schema_;
    e.recv_ns = 1;
    return e;
  }
  std::string yaml(const std::string& node, const std::string& value, const std::string& more = "") const {
    return "{endpoint: '" + endpoint_ + "', node: '" + node + "', value: '" + value + "', timeout: 2s" + more + "}";
  }

  std::string endpoint_;
  KeyTable keys_;
  Metrics metrics_;
  CollectingDeadLetters dead_;
  ActionContext ctx_;
  Schema schema_{{"temp"}};
};

TEST(OpcuaWriteTypes, TextToVariantFollowsTheDataType) {
  EXPECT_EQ(opcua::variant_type_for(NodeId::num(11)).value(), VariantType::kDouble);
  EXPECT_EQ(opcua::variant_type_for(NodeId::num(290)).value(), VariantType::kDouble);  // Duration
  EXPECT_EQ(opcua::variant_type_for(NodeId::num(29)).value(), VariantType::kInt32);    // Enumeration
  EXPECT_FALSE(opcua::variant_type_for(NodeId::num(13)).ok());                         // DateTime
  EXPECT_FALSE(opcua::variant_type_for(NodeId::num(11, 2)).ok());                      // not namespace 0
  EXPECT_EQ(opcua::variant_from_text(VariantType::kInt16, "-12").value().i, -12);
  EXPECT_FALSE(opcua::variant_from_text(VariantType::kInt16, "40000").ok());
  EXPECT_FALSE(opcua::variant_from_text(VariantType::kInt32, "1.5").ok());
  EXPECT_FALSE(opcua::variant_from_text(VariantType::kDouble, "null").ok());  // what NaN renders as
  EXPECT_EQ(opcua::variant_from_text(VariantType::kBoolean, "true").value().i, 1);
  EXPECT_EQ(opcua::variant_from_text(VariantType::kBoolean, "0").value().i, 0);
  EXPECT_EQ(opcua::variant_from_text(VariantType::kFloat, "0.1").value().d, static_cast<double>(0.1f));
  EXPECT_FALSE(opcua::variant_from_text(VariantType::kFloat, "1e39").ok());
  EXPECT_EQ(opcua::variant_from_text(VariantType::kString, "a b").value().text, "a b");
  Variant f = opcua::variant_from_text(VariantType::kFloat, "0.1").value();
  Variant back;
  back.type = VariantType::kFloat;
  back.d = static_cast<double>(0.1f);
  EXPECT_TRUE(opcua::same_value(f, back));
  back.d = 0.1;
  EXPECT_FALSE(opcua::same_value(f, back));
}

TEST_F(OpcuaWriteTest, TypedWritesReachTheServerAndAreVerified) {
  auto peer = OpcuaPeer::start();
  ASSERT_TRUE(peer.ok()) << peer.error().to_string();
  endpoint_ = peer->endpoint();
  auto setpoint = make_action(yaml("ns=1;s=Setpoint", "{temp}"));
  auto mode = make_action(yaml("ns=1;s=Mode", "{temp}", ", readback: true"));
  auto ratio = make_action(yaml("ns=1;s=Ratio", "{temp}", ", readback: true"));
  auto note = make_action(yaml("ns=1;s=Note", "{key} is {KIND}"));
  auto enabled = make_action(yaml("ns=1;s=Enabled", "true", ", readback: true"));
  ASSERT_TRUE(setpoint && mode && ratio && note && enabled);
  start_action(*setpoint, "setpoint");
  start_action(*mode, "mode");
  start_action(*ratio, "ratio");
  start_action(*note, "note");
  start_action(*enabled, "enabled");
  setpoint->on_event(event(81.25));
  mode->on_event(event(-7));
  ratio->on_event(event(0.1));  // Float: the server holds 0.1f, the read-back must match that
  note->on_event(event(1));
  enabled->on_event(event(0));
  ASSERT_TRUE(wait_until([&] { return setpoint->written() == 1 && note->written() == 1; }, 10s)) << peer->log();
  ASSERT_TRUE(wait_until([&] { return mode->verified() == 1 && ratio->verified() == 1 && enabled->verified() == 1; }, 10s))
      << peer->log();
  EXPECT_TRUE(wait_until([&] { return last_write(*peer, "Enabled") == "true"; }, 5s)) << peer->log();
  EXPECT_EQ(last_write(*peer, "Setpoint"), "81.25");
  EXPECT_EQ(last_write(*peer, "Mode"), "-7");
  EXPECT_EQ(last_write(*peer, "Ratio"), "0.10000000149011612");  // 0.1f as a JS number
  EXPECT_EQ(last_write(*peer, "Note"), "boiler is ALERT");
  EXPECT_EQ(mode->mismatches(), 0u);
  EXPECT_EQ(setpoint->health(), Health::kConnected);
  EXPECT_EQ(setpoint->connects(), 1u);
  EXPECT_EQ(metrics_.value("edgeloop_action_published_total", {{"action", "mode"}}), 1);
  EXPECT_EQ(metrics_.value("edgeloop_opcua_readback_ok_total", {{"action", "ratio"}}), 1);
  // A second write on the same session uses the cached DataType.
  setpoint->on_event(event(-3.5));
  ASSERT_TRUE(wait_until([&] { return setpoint->written() == 2; }, 10s));
  EXPECT_TRUE(wait_until([&] { return last_write(*peer, "Setpoint") == "-3.5"; }, 5s)) << peer->log();
  for (auto* a : {setpoint.get(), mode.get(), ratio.get(), note.get(), enabled.get()}) a->stop();
  EXPECT_EQ(dead_.count(), 0u);
  EXPECT_EQ(setpoint->health(), Health::kDown);
}

TEST_F(OpcuaWriteTest, RefusedWritesAreCountedAndDeadLettered) {
  auto peer = OpcuaPeer::start();
  ASSERT_TRUE(peer.ok()) << peer.error().to_string();
  endpoint_ = peer->endpoint();
  auto too_big = make_action(yaml("ns=1;s=Mode", "{temp}"));       // Int16
  auto read_only = make_action(yaml("ns=1;s=Counter", "{temp}"));  // no setter
  auto unknown = make_action(yaml("ns=1;s=Nope", "{temp}"));
  ASSERT_TRUE(too_big && read_only && unknown);
  start_action(*too_big, "too_big");
  start_action(*read_only, "read_only");
  start_action(*unknown, "unknown");
  too_big->on_event(event(70000));
  read_only->on_event(event(5));
  unknown->on_event(event(5));
  ASSERT_TRUE(dead_.wait_for_count(3, 10s)) << "read_only: written " << read_only->written() << ", failed "
                                            << read_only->failed() << ", health "
                                            << health_name(read_only->health()) << "\n" << peer->log();
  too_big->on_event(event(12));  // the action goes on after a refusal
  ASSERT_TRUE(wait_until([&] { return too_big->written() == 1; }, 10s));
  EXPECT_TRUE(wait_until([&] { return last_write(*peer, "Mode") == "12"; }, 5s)) << peer->log();
  for (auto* a : {too_big.get(), read_only.get(), unknown.get()}) a->stop();
  std::map<std::string, std::string> reasons;
  for (const auto& d : dead_.letters()) reasons[d.source] = d.reason + " | " + d.payload;
  EXPECT_EQ(reasons["too_big"].substr(0, reasons["too_big"].find(' ')), "bad_value") << reasons["too_big"];
  EXPECT_NE(reasons["too_big"].find("does not fit Int16"), std::string::npos) << reasons["too_big"];
  EXPECT_EQ(reasons["read_only"].substr(0, reasons["read_only"].find(' ')), "write_BadNotWritable") << reasons["read_only"];
  EXPECT_EQ(reasons["unknown"].substr(0, reasons["unknown"].find(' ')), "datatype_unavailable") << reasons["unknown"];
  EXPECT_NE(reasons["unknown"].find("BadNodeIdUnknown"), std::string::npos) << reasons["unknown"];
  EXPECT_EQ(dead_.letters()[0].topic.rfind(endpoint_ + "#ns=1;s=", 0), 0u) << dead_.letters()[0].topic;
  EXPECT_EQ(too_big->failed(), 1u);
  EXPECT_EQ(read_only->failed(), 1u);
  EXPECT_EQ(read_only->written(), 0u);
  EXPECT_EQ(unknown->failed(), 1u);
  EXPECT_EQ(last_write(*peer, "Counter"), "");
}

TEST_F(OpcuaWriteTest, ServerAwayQueueBoundedThenWrittenAfterReconnect) {
  const int port = free_port();
  endpoint_ = "opc.tcp://127.0.0.1:" + std::to_string(port) + "/edgeloop";
  auto a = make_action(yaml("ns=1;s=Setpoint", "{temp}", ", max_pending: 2, reconnect_min: 20ms, reconnect_max: 200ms"));
  ASSERT_TRUE(a);
  start_action(*a, "late");
  for (int k = 0; k < 5; ++k) a->on_event(event(10 + k));  // nothing can be written: 2 wait, 3 dropped
  EXPECT_EQ(a->dropped(), 3u);
  ASSERT_TRUE(wait_until([&] { return a->health() == Health::kDown; }, 10s));
  auto peer = OpcuaPeer::start(port);
  ASSERT_TRUE(peer.ok()) << peer.error().to_string();
  ASSERT_TRUE(wait_until([&] { return a->written() == 2; }, 20s)) << peer->log();
  EXPECT_TRUE(wait_until([&] { return last_write(*peer, "Setpoint") == "11"; }, 5s)) << peer->log();
  EXPECT_NE(peer->log().find("WRITE Setpoint 10\n"), std::string::npos) << peer->log();
  EXPECT_EQ(a->health(), Health::kConnected);
  EXPECT_EQ(a->failed(), 0u);
  a->stop();
  EXPECT_EQ(dead_.count(), 0u);
}

TEST(OpcuaWriteRuntime, RuleOnAnOpcuaValueWritesANode) {
  auto peer = OpcuaPeer::start();
  ASSERT_TRUE(peer.ok()) << peer.error().to_string();
  Registry registry;
  register_opcua(registry);
  register_operators(registry);
  register_rules(registry);
  // Temperature is 20 + step/10 and rises every 100 ms: the rule raises once, one write.
  const std::string yaml = R"(
sources:
  plant:
    type: opcua
    endpoint: ")" + peer->endpoint() + R"("
    key: boiler
    nodes: {temp: "ns=1;s=Temperature"}
    sampling_interval: 50ms
    publishing_interval: 50ms
pipelines:
  hot:
    from: plant
    steps:
      - rule: {name: hot, when: "temp > 10", clear: "temp < 5"}
actions:
  setpoint:
    on: hot.raised
    type: opcua_write
    endpoint: ")" + peer->endpoint() + R"("
    node: "ns=1;s=Setpoint"
    value: "{temp}"
    readback: true
runtime:
  shards: 0
  summary_interval: 0s
)";
  auto node = load_yaml_string(yaml, "loop.yaml");
  ASSERT_TRUE(node.ok()) << node.error().message;
  auto config = parse_app_config(*node);
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto rt = Runtime::build(*config, registry);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  ASSERT_TRUE((*rt)->start().ok());
  ASSERT_TRUE(wait_until(
      [&] { return (*rt)->metrics().value("edgeloop_opcua_readback_ok_total", {{"action", "setpoint"}}) == 1; }, 15s))
      << peer->log();
  ASSERT_TRUE(wait_until([&] { return !last_write(*peer, "Setpoint").empty(); }, 5s)) << peer->log();
  std::this_thread::sleep_for(300ms);  // more changes, still hot: one write only
  (*rt)->stop();
  // The written value is a Temperature the server produced: 20 + step/10.
  const double written = std::stod(last_write(*peer, "Setpoint"));
  EXPECT_GE(written, 20.0);
  const double steps = (written - 20.0) * 10;
  EXPECT_NEAR(steps, std::round(steps), 1e-6);
  std::size_t writes = 0;
  for (std::size_t at = 0; (at = peer->log().find("WRITE Setpoint", at)) != std::string::npos; ++at) ++writes;
  EXPECT_EQ(writes, 1u) << peer->log();
  EXPECT_EQ((*rt)->metrics().value("edgeloop_action_published_total", {{"action", "setpoint"}}), 1);
  EXPECT_GE((*rt)->metrics().value("edgeloop_source_records_total", {{"source", "plant"}}), 2);
}

}  // namespace
}  // namespace edgeloop::test
