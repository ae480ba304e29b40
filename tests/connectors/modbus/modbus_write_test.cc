// action.modbus_write against the npm modbus-serial peer: typed register and coil writes that
// the peer sees with the exact words, the read-back check (a device that drops the value is a
// counted mismatch), an exception dead-lettered; and the closed loop: a rule on a polled
// register (`temp > 80`) writes a register, through the whole runtime.
#include <gtest/gtest.h>

#include "config/app_config.h"
#include "config/yaml_loader.h"
#include "connectors/modbus/builtins.h"
#include "connectors/modbus/modbus_write.h"
#include "fakes.h"
#include "modbus_peer.h"
#include "operators/builtins.h"
#include "rules/builtins.h"
#include "runtime/runtime.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<ModbusWriteAction> make_action(const std::string& yaml) {
  auto node = load_yaml_string(yaml, "w.yaml");
  EXPECT_TRUE(node.ok());
  if (!node.ok()) return nullptr;
  auto opts = Options::parse_owned(modbus_write_options(), std::make_shared<ConfigNode>(std::move(*node)), "actions.w");
  EXPECT_TRUE(opts.ok()) << opts.error().message;
  if (!opts.ok()) return nullptr;
  auto a = ModbusWriteAction::from_options(*opts);
  EXPECT_TRUE(a.ok()) << a.error().message;
  return a.ok() ? std::move(*a) : nullptr;
}

class ModbusWriteTest : public ::testing::Test {
 protected:
  void start_peer(const std::vector<std::string>& args = {}) {
    Status st = peer_.start(R"({"holding": {"100": 7}})", args);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  void start_action(ModbusWriteAction& a, const std::string& name) {
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
    e.key = *keys_.intern("plc1", "t", 0);
    e.nfields = 1;
    e.f[0] = temp;
    e.schema = &schema_;
    e.recv_ns = 1;
    return e;
  }
  std::string port() const { return std::to_string(peer_.port()); }

  ModbusPeer peer_;
  KeyTable keys_;
  Metrics metrics_;
  CollectingDeadLetters dead_;
  ActionContext ctx_;
  Schema schema_{{"temp"}};
};

TEST_F(ModbusWriteTest, TypedRegisterAndCoilWritesAreSeenAndVerified) {
  start_peer();
  auto f32 = make_action("{port: " + port() + ", address: 100, value_type: float32, order: CDAB, value: '{temp}'}");
  auto i16 = make_action("{port: " + port() + ", address: 110, value_type: int16, value: '{temp}', scale: 0.1, offset: -100}");
  auto coil = make_action("{port: " + port() + ", table: coil, address: 3, value: '1'}");
  ASSERT_TRUE(f32 && i16 && coil);
  start_action(*f32, "f32");
  start_action(*i16, "i16");
  start_action(*coil, "coil");
  f32->on_event(event(90.5));    // 0x42B50000, words swapped
  i16->on_event(event(-23.44));  // (-23.44 + 100) / 0.1 = 765.6 -> 766
  coil->on_event(event(0));
  EXPECT_TRUE(peer_.wait_write("holding 100 0,17077", 10s)) << peer_.output();
  EXPECT_TRUE(peer_.wait_write("holding 110 766", 10s)) << peer_.output();
  EXPECT_TRUE(peer_.wait_write("coil 3 1", 10s)) << peer_.output();
  ASSERT_TRUE(wait_until([&] { return f32->verified() == 1 && i16->verified() == 1 && coil->verified() == 1; }, 10s));
  EXPECT_EQ(f32->written(), 1u);
  EXPECT_EQ(f32->mismatches(), 0u);
  EXPECT_EQ(f32->health(), Health::kConnected);
  const Histogram* h = metrics_.find_histogram("edgeloop_modbus_write_latency_seconds", {{"action", "f32"}, {"stage", "verified"}});
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->count(), 1u);
  f32->stop();
  i16->stop();
  coil->stop();
  EXPECT_EQ(dead_.count(), 0u);
}

TEST_F(ModbusWriteTest, ReadBackMismatchAndExceptionAreCountedAndDeadLettered) {
  start_peer({"--ignore-writes", "100"});
  auto dropped = make_action("{port: " + port() + ", address: 100, value: '{temp}'}");
  auto illegal = make_action("{port: " + port() + ", address: 5000, value: '{temp}'}");
  auto bad = make_action("{port: " + port() + ", address: 101, value_type: uint16, value: '{temp}'}");
  ASSERT_TRUE(dropped && illegal && bad);
  start_action(*dropped, "dropped");
  start_action(*illegal, "illegal");
  start_action(*bad, "bad");
  dropped->on_event(event(42));
  illegal->on_event(event(42));
  bad->on_event(event(-5));  // does not fit uint16: refused before any I/O
  ASSERT_TRUE(dead_.wait_for_count(3, 10s));
  ASSERT_TRUE(wait_until([&] { return dropped->mismatches() == 1 && illegal->errors() == 1; }, 10s));
  EXPECT_TRUE(peer_.wait_write("holding 100 42", 1s));
  EXPECT_EQ(dropped->verified(), 0u);
  EXPECT_EQ(dropped->written(), 1u);
  EXPECT_EQ(illegal->written(), 0u);
  EXPECT_EQ(bad->errors(), 1u);
  std::map<std::string, int> reasons;
  for (const auto& d : dead_.letters()) reasons[d.reason]++;
  EXPECT_EQ(reasons["readback_mismatch"], 1);
  EXPECT_EQ(reasons["illegal_data_address"], 1);
  EXPECT_EQ(reasons["bad_value"], 1);
  for (const auto& d : dead_.letters())
    if (d.reason == "readback_mismatch") {
      EXPECT_NE(d.payload.find("read back 7"), std::string::npos) << d.payload;
    }
  dropped->stop();
  illegal->stop();
  bad->stop();
}

TEST_F(ModbusWriteTest, DeviceAwayWritesWaitAndGoOutAfterReconnect) {
  start_peer();
  auto a = make_action("{port: " + port() + ", address: 120, value: '{temp}', backoff_min: 20ms, backoff_max: 50ms}");
  ASSERT_TRUE(a);
  peer_.kill();
  start_action(*a, "a");
  a->on_event(event(11));
  ASSERT_TRUE(wait_until([&] { return a->health() == Health::kDown; }, 10s));
  ASSERT_TRUE(peer_.start(R"({"holding": {}})").ok());
  EXPECT_TRUE(peer_.wait_write("holding 120 11", 10s)) << peer_.output();
  ASSERT_TRUE(wait_until([&] { return a->verified() == 1; }, 10s));
  EXPECT_EQ(a->health(), Health::kConnected);
  a->stop();
}

TEST_F(ModbusWriteTest, RuleOnAPolledRegisterWritesTheDevice) {
  Status st = peer_.start(R"({"holding": {"0": 90}})");
  ASSERT_TRUE(st.ok()) << st.error().message;
  Registry registry;
  register_modbus(registry);
  register_operators(registry);
  register_rules(registry);
  const std::string yaml = R"(
sources:
  plc:
    type: modbus
    port: )" + port() + R"(
    interval: 20ms
    devices:
      - name: boiler
        points:
          - {name: temp, address: 0, type: int16}
pipelines:
  hot:
    from: plc
    steps:
      - rule: {name: hot, when: "temp > 80", clear: "temp < 75"}
actions:
  cool:
    on: hot.raised
    type: modbus_write
    port: )" + port() + R"(
    address: 10
    value_type: int16
    value: "{temp}"
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
  EXPECT_TRUE(peer_.wait_write("holding 10 90", 10s)) << peer_.output();
  ASSERT_TRUE(wait_until(
      [&] { return (*rt)->metrics().value("edgeloop_modbus_readback_ok_total", {{"action", "cool"}}) == 1; }, 10s));
  std::this_thread::sleep_for(100ms);  // more polls, still hot: the rule raised once, one write
  (*rt)->stop();
  EXPECT_EQ(peer_.writes().size(), 1u) << peer_.output();
  EXPECT_GE((*rt)->metrics().value("edgeloop_source_records_total", {{"source", "plc"}}), 2);
}

}  // namespace
}  // namespace edgeloop::test
