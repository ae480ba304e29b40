// source.modbus against the npm modbus-serial peer: every type and byte/word order decodes to
// the exact value, batching makes one request per table, a stopped device goes down and
// recovers, an illegal address is counted and dead-lettered without stopping the good points.
#include <gtest/gtest.h>

#include <cmath>

#include "config/yaml_loader.h"
#include "connectors/modbus/modbus_source.h"
#include "fakes.h"
#include "modbus_peer.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;

// Words written by hand from the values' big-endian bytes (see modbus_types_test.cc).
constexpr const char* kValues = R"({
  "holding": {
    "0": 17142, "1": 59769,
    "2": 59769, "3": 17142,
    "4": 63042, "5": 31209,
    "6": 31209, "7": 63042,
    "10": 49400, "11": 7382, "12": 59873, "13": 45194,
    "14": 35504, "15": 57833, "16": 54812, "17": 63680,
    "18": 45194, "19": 59873, "20": 7382, "21": 49400,
    "22": 63680, "23": 54812, "24": 57833, "25": 35504,
    "30": 63652, "31": 13035,
    "32": 13035, "33": 63652,
    "34": 53426, "35": 94,
    "36": 94, "37": 53426,
    "40": 64302, "41": 12027, "42": 65000, "43": 2500, "44": 5
  },
  "input": {"5": 32768, "6": 17142, "7": 59769},
  "coils": {"3": 1, "4": 0},
  "discrete": {"7": 1}
})";

class ModbusSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status st = peer_.start(kValues);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  void TearDown() override {
    if (source_) source_->stop();
  }

  void start_source(const std::string& yaml) {
    auto node = load_yaml_string(yaml, "modbus.yaml");
    ASSERT_TRUE(node.ok()) << node.error().message;
    auto opts = Options::parse_owned(modbus_source_options(), std::make_shared<ConfigNode>(std::move(*node)), "sources.plc");
    ASSERT_TRUE(opts.ok()) << opts.error().message;
    auto s = ModbusSource::from_options(*opts);
    ASSERT_TRUE(s.ok()) << s.error().message;
    source_ = std::move(*s);
    ctx_.name = "plc";
    ctx_.keys = &keys_;
    ctx_.output = &out_;
    ctx_.dead_letters = &dead_;
    ctx_.metrics = &metrics_;
    ASSERT_TRUE(source_->start(ctx_).ok());
  }

  double field(const Record& r, const std::string& name) {
    const int i = source_->schema().index_of(name);
    EXPECT_GE(i, 0) << name;
    return i < 0 ? NAN : r.f[static_cast<std::size_t>(i)];
  }

  std::string port() const { return std::to_string(peer_.port()); }

  ModbusPeer peer_;
  KeyTable keys_;
  CollectingOutput out_;
  CollectingDeadLetters dead_;
  Metrics metrics_;
  SourceContext ctx_;
  std::unique_ptr<ModbusSource> source_;
};

TEST_F(ModbusSourceTest, FloatsInEveryOrderDecodeExactly) {
  start_source(R"(
port: )" + port() + R"(
interval: 50ms
devices:
  - name: floats
    points:
      - {name: f32_abcd, address: 0, type: float32, order: ABCD}
      - {name: f32_cdab, address: 2, type: float32, order: CDAB}
      - {name: f32_big_swap, address: 2, type: float32, order: big, word_swap: true}
      - {name: f32_badc, address: 4, type: float32, order: BADC}
      - {name: f32_dcba, address: 6, type: float32, order: DCBA}
      - {name: f64_abcd, address: 10, type: float64}
      - {name: f64_dcba, address: 14, type: float64, order: little}
      - {name: f64_cdab, address: 18, type: float64, order: CDAB}
      - {name: f64_badc, address: 22, type: float64, order: BADC}
      - {name: in_i16, table: input, address: 5, type: int16}
      - {name: in_f32, table: input, address: 6, type: float32}
)");
  ASSERT_TRUE(out_.wait_for_count(1, 10s));
  const Record r = out_.records()[0];
  EXPECT_EQ(keys_.name(r.key), "floats");
  EXPECT_EQ(r.nfields, 11);
  const double f32 = static_cast<double>(123.456f);
  EXPECT_EQ(field(r, "f32_abcd"), f32);
  EXPECT_EQ(field(r, "f32_cdab"), f32);
  EXPECT_EQ(field(r, "f32_big_swap"), f32);
  EXPECT_EQ(field(r, "f32_badc"), f32);
  EXPECT_EQ(field(r, "f32_dcba"), f32);
  EXPECT_EQ(field(r, "f64_abcd"), -98765.4321);
  EXPECT_EQ(field(r, "f64_dcba"), -98765.4321);
  EXPECT_EQ(field(r, "f64_cdab"), -98765.4321);
  EXPECT_EQ(field(r, "f64_badc"), -98765.4321);
  EXPECT_EQ(field(r, "in_i16"), -32768.0);
  EXPECT_EQ(field(r, "in_f32"), f32);
  EXPECT_LE(r.ts_ns, r.recv_ns);
  EXPECT_EQ(source_->health(), Health::kConnected);
  // max_gap 0: holding 0..7, 10..25 are two requests; input 5..7 one.
  EXPECT_EQ(source_->batches(0).size(), 3u);
}

TEST_F(ModbusSourceTest, IntegersBitsScaleAndOneRequestPerTable) {
  start_source(R"(
port: )" + port() + R"(
interval: 50ms
max_gap: 4
devices:
  - name: ints
    points:
      - {name: i32_abcd, address: 30, type: int32}
      - {name: i32_cdab, address: 32, type: int32, order: CDAB}
      - {name: u32_badc, address: 34, type: uint32, order: BADC}
      - {name: u32_dcba, address: 36, type: uint32, order: DCBA}
      - {name: i16, address: 40, type: int16}
      - {name: i16_le, address: 41, type: int16, order: little}
      - {name: u16, address: 42, type: uint16}
      - {name: scaled, address: 43, scale: 0.1, offset: -40}
      - {name: flag, address: 44, type: bool}
      - {name: coil_on, table: coil, address: 3}
      - {name: coil_off, table: coil, address: 4}
      - {name: din, table: discrete, address: 7}
)");
  ASSERT_TRUE(out_.wait_for_count(3, 10s));
  const auto recs = out_.records();
  const Record r = recs[0];
  EXPECT_EQ(field(r, "i32_abcd"), -123456789.0);
  EXPECT_EQ(field(r, "i32_cdab"), -123456789.0);
  EXPECT_EQ(field(r, "u32_badc"), 3000000000.0);
  EXPECT_EQ(field(r, "u32_dcba"), 3000000000.0);
  EXPECT_EQ(field(r, "i16"), -1234.0);
  EXPECT_EQ(field(r, "i16_le"), -1234.0);
  EXPECT_EQ(field(r, "u16"), 65000.0);
  EXPECT_DOUBLE_EQ(field(r, "scaled"), 210.0);
  EXPECT_EQ(field(r, "flag"), 1.0);
  EXPECT_EQ(field(r, "coil_on"), 1.0);
  EXPECT_EQ(field(r, "coil_off"), 0.0);
  EXPECT_EQ(field(r, "din"), 1.0);
  // One request per table per poll: holding 30..44 (gaps of 0), coils 3..4, discrete 7.
  ASSERT_EQ(source_->batches(0).size(), 3u);
  EXPECT_EQ(source_->batches(0)[0].count, 15);
  source_->stop();
  const double polls = metrics_.value("edgeloop_source_messages_total", {{"source", "plc"}});
  EXPECT_EQ(metrics_.value("edgeloop_modbus_requests_total", {{"source", "plc"}, {"device", "ints"}}), 3 * polls);
  EXPECT_EQ(metrics_.value("edgeloop_modbus_registers_total", {{"source", "plc"}, {"device", "ints"}}), (15 + 2 + 1) * polls);
  EXPECT_EQ(dead_.count(), 0u);
}

TEST_F(ModbusSourceTest, IllegalAddressIsCountedAndDeadLetteredTheRestGoesOn) {
  start_source(R"(
port: )" + port() + R"(
interval: 20ms
devices:
  - name: mixed
    points:
      - {name: good, address: 42}
      - {name: bad, address: 2000}
)");
  ASSERT_TRUE(dead_.wait_for_count(2, 10s));
  ASSERT_TRUE(out_.wait_for_count(2, 10s));
  const auto letters = dead_.letters();
  EXPECT_EQ(letters[0].source, "plc");
  EXPECT_EQ(letters[0].reason, "illegal_data_address");
  EXPECT_NE(letters[0].payload.find("read holding 2000+1"), std::string::npos) << letters[0].payload;
  EXPECT_NE(letters[0].topic.find("/mixed"), std::string::npos);
  const Record r = out_.records()[0];
  EXPECT_EQ(field(r, "good"), 65000.0);
  EXPECT_TRUE(std::isnan(field(r, "bad")));
  EXPECT_EQ(source_->device_health(0), Health::kDegraded);
  EXPECT_EQ(source_->health(), Health::kDegraded);
  EXPECT_GE(metrics_.value("edgeloop_source_errors_total", {{"source", "plc"}, {"reason", "illegal_data_address"}}), 2);
  EXPECT_EQ(metrics_.value("edgeloop_modbus_device_health", {{"source", "plc"}, {"device", "mixed"}}), 2);
}

TEST_F(ModbusSourceTest, DeviceDownThenRecovers) {
  start_source(R"(
port: )" + port() + R"(
interval: 20ms
timeout: 200ms
backoff_min: 20ms
backoff_max: 100ms
devices:
  - name: plc1
    points:
      - {name: u16, address: 42}
)");
  ASSERT_TRUE(wait_until([&] { return source_->health() == Health::kConnected; }, 10s));
  ASSERT_TRUE(out_.wait_for_count(1, 10s));
  peer_.kill();
  ASSERT_TRUE(wait_until([&] { return source_->health() == Health::kDown; }, 10s));
  EXPECT_EQ(metrics_.value("edgeloop_connector_up", {{"connector", "plc/plc1"}}), 0);
  EXPECT_EQ(metrics_.value("edgeloop_modbus_device_health", {{"source", "plc"}, {"device", "plc1"}}), 3);
  std::this_thread::sleep_for(100ms);  // a few refused connects
  EXPECT_GT(metrics_.value("edgeloop_source_errors_total", {{"source", "plc"}, {"reason", "connection"}}), 0);
  const std::size_t before = out_.count();
  ASSERT_TRUE(peer_.start(kValues).ok());
  ASSERT_TRUE(wait_until([&] { return source_->health() == Health::kConnected; }, 10s));
  ASSERT_TRUE(out_.wait_for_count(before + 1, 10s));
  EXPECT_EQ(out_.records().back().f[0], 65000.0);
  EXPECT_EQ(metrics_.value("edgeloop_modbus_connects_total", {{"source", "plc"}, {"device", "plc1"}}), 2);
  EXPECT_EQ(dead_.count(), 0u);  // a lost connection is not a bad frame
}

}  // namespace
}  // namespace edgeloop::test
