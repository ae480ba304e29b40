// Typed decoding and encoding of register words in every byte/word order, the batching plan,
// and the config's checks. No peer: pure functions.
#include <gtest/gtest.h>

#include <cmath>

#include "config/yaml_loader.h"
#include "connectors/modbus/modbus_source.h"
#include "connectors/modbus/modbus_types.h"
#include "connectors/modbus/modbus_write.h"

namespace edgeloop::modbus {
namespace {

WordOrder order(const char* name, bool swap = false) {
  auto o = parse_order(name, swap);
  EXPECT_TRUE(o.ok());
  return o.ok() ? *o : WordOrder{};
}

TEST(ModbusTypes, Float32InEveryOrder) {
  // 123.456f = 0x42F6E979: bytes A=42 B=F6 C=E9 D=79.
  const uint16_t abcd[] = {0x42F6, 0xE979}, cdab[] = {0xE979, 0x42F6}, badc[] = {0xF642, 0x79E9}, dcba[] = {0x79E9, 0xF642};
  const double want = static_cast<double>(123.456f);
  EXPECT_EQ(decode(abcd, Type::kFloat32, order("ABCD")), want);
  EXPECT_EQ(decode(cdab, Type::kFloat32, order("CDAB")), want);
  EXPECT_EQ(decode(badc, Type::kFloat32, order("BADC")), want);
  EXPECT_EQ(decode(dcba, Type::kFloat32, order("DCBA")), want);
  EXPECT_EQ(decode(abcd, Type::kFloat32, order("big")), want);
  EXPECT_EQ(decode(dcba, Type::kFloat32, order("little")), want);
  EXPECT_EQ(decode(cdab, Type::kFloat32, order("big", true)), want);
  EXPECT_EQ(decode(badc, Type::kFloat32, order("little", true)), want);
  EXPECT_EQ(order_name(order("big", true)), "CDAB");
  EXPECT_EQ(order_name(order("little", true)), "BADC");
  EXPECT_FALSE(parse_order("ACBD", false).ok());
}

TEST(ModbusTypes, Float64AndIntegers) {
  // -98765.4321 = 0xC0F81CD6E9E1B08A.
  const uint16_t f64_abcd[] = {0xC0F8, 0x1CD6, 0xE9E1, 0xB08A};
  const uint16_t f64_dcba[] = {0x8AB0, 0xE1E9, 0xD61C, 0xF8C0};
  const uint16_t f64_cdab[] = {0xB08A, 0xE9E1, 0x1CD6, 0xC0F8};
  const uint16_t f64_badc[] = {0xF8C0, 0xD61C, 0xE1E9, 0x8AB0};
  EXPECT_EQ(decode(f64_abcd, Type::kFloat64, order("ABCD")), -98765.4321);
  EXPECT_EQ(decode(f64_dcba, Type::kFloat64, order("DCBA")), -98765.4321);
  EXPECT_EQ(decode(f64_cdab, Type::kFloat64, order("CDAB")), -98765.4321);
  EXPECT_EQ(decode(f64_badc, Type::kFloat64, order("BADC")), -98765.4321);
  const uint16_t i32[] = {0xF8A4, 0x32EB}, u32_dcba[] = {0x005E, 0xD0B2};
  EXPECT_EQ(decode(i32, Type::kInt32, order("ABCD")), -123456789.0);
  EXPECT_EQ(decode(i32, Type::kUint32, order("ABCD")), 4171510507.0);
  EXPECT_EQ(decode(u32_dcba, Type::kUint32, order("DCBA")), 3000000000.0);
  const uint16_t i16 = 0xFB2E, i16_le = 0x2EFB;
  EXPECT_EQ(decode(&i16, Type::kInt16, order("ABCD")), -1234.0);
  EXPECT_EQ(decode(&i16, Type::kInt16, order("CDAB")), -1234.0);  // word order means nothing for one word
  EXPECT_EQ(decode(&i16_le, Type::kInt16, order("little")), -1234.0);
  EXPECT_EQ(decode(&i16, Type::kUint16, order("ABCD")), 64302.0);
  const uint16_t five = 5, zero = 0;
  EXPECT_EQ(decode(&five, Type::kBool, order("ABCD")), 1.0);
  EXPECT_EQ(decode(&zero, Type::kBool, order("ABCD")), 0.0);
}

TEST(ModbusTypes, EncodeIsTheInverseAndChecksRange) {
  for (const char* o : {"ABCD", "CDAB", "BADC", "DCBA"}) {
    uint16_t w[4] = {};
    ASSERT_TRUE(encode(-98765.4321, Type::kFloat64, order(o), w).ok());
    EXPECT_EQ(decode(w, Type::kFloat64, order(o)), -98765.4321) << o;
    ASSERT_TRUE(encode(-123456789, Type::kInt32, order(o), w).ok());
    EXPECT_EQ(decode(w, Type::kInt32, order(o)), -123456789.0) << o;
    ASSERT_TRUE(encode(123.456, Type::kFloat32, order(o), w).ok());
    EXPECT_EQ(decode(w, Type::kFloat32, order(o)), static_cast<double>(123.456f)) << o;
  }
  uint16_t w[4] = {};
  ASSERT_TRUE(encode(3000000000.0, Type::kUint32, order("BADC"), w).ok());
  EXPECT_EQ(w[0], 0xD0B2);
  EXPECT_EQ(w[1], 0x005E);
  ASSERT_TRUE(encode(89.6, Type::kInt16, order("ABCD"), w).ok());  // rounded to nearest
  EXPECT_EQ(w[0], 90);
  EXPECT_EQ(encode(70000, Type::kUint16, order("ABCD"), w).error().code, Errc::kTooLarge);
  EXPECT_EQ(encode(-1, Type::kUint32, order("ABCD"), w).error().code, Errc::kTooLarge);
  EXPECT_EQ(encode(NAN, Type::kFloat64, order("ABCD"), w).error().code, Errc::kTooLarge);
  EXPECT_EQ(encode(1e300, Type::kFloat32, order("ABCD"), w).error().code, Errc::kTooLarge);
}

Point point(Table t, uint16_t a, Type type) {
  Point p;
  p.table = t;
  p.address = a;
  p.type = type;
  return p;
}

TEST(ModbusTypes, BatchesJoinAdjacentPointsWithinLimits) {
  std::vector<Point> pts = {point(Table::kHolding, 10, Type::kFloat32),  // 10-11
                            point(Table::kHolding, 0, Type::kUint16),    // 0
                            point(Table::kHolding, 1, Type::kFloat64),   // 1-4
                            point(Table::kHolding, 2, Type::kUint16),    // overlaps
                            point(Table::kCoil, 5, Type::kBool),
                            point(Table::kCoil, 6, Type::kBool),
                            point(Table::kInput, 0, Type::kInt16)};
  auto b = plan_batches(pts, BatchLimits{});
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].table, Table::kHolding);
  EXPECT_EQ(b[0].start, 0);
  EXPECT_EQ(b[0].count, 5);
  EXPECT_EQ(b[0].points, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(b[1].start, 10);
  EXPECT_EQ(b[1].count, 2);
  EXPECT_EQ(b[2].table, Table::kInput);
  EXPECT_EQ(b[3].table, Table::kCoil);
  EXPECT_EQ(b[3].start, 5);
  EXPECT_EQ(b[3].count, 2);

  BatchLimits gap;
  gap.max_gap = 5;  // 5..9 unused: one request 0..11
  b = plan_batches(pts, gap);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].count, 12);

  // 300 adjacent registers: 125 + 125 + 50.
  std::vector<Point> many;
  for (int i = 0; i < 300; ++i) many.push_back(point(Table::kInput, static_cast<uint16_t>(i), Type::kUint16));
  b = plan_batches(many, BatchLimits{});
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].count, 125);
  EXPECT_EQ(b[1].start, 125);
  EXPECT_EQ(b[2].count, 50);
  // A float32 at 124 does not fit the first request: it starts the next one.
  std::vector<Point> edge;
  for (int i = 0; i < 124; ++i) edge.push_back(point(Table::kHolding, static_cast<uint16_t>(i), Type::kUint16));
  edge.push_back(point(Table::kHolding, 124, Type::kFloat32));
  b = plan_batches(edge, BatchLimits{});
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].count, 124);
  EXPECT_EQ(b[1].start, 124);
  EXPECT_EQ(b[1].count, 2);
  // 2000 bits per request.
  std::vector<Point> bits;
  for (int i = 0; i < 2001; ++i) bits.push_back(point(Table::kDiscrete, static_cast<uint16_t>(i), Type::kBool));
  b = plan_batches(bits, BatchLimits{});
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].count, 2000);
  EXPECT_EQ(b[1].count, 1);
}

TEST(ModbusTypes, ExceptionNames) {
  EXPECT_EQ(exception_name(2), "illegal_data_address");
  EXPECT_EQ(exception_name(1), "illegal_function");
  EXPECT_EQ(exception_name(11), "gateway_target_failed");
  EXPECT_EQ(exception_name(9), "exception_9");
}

}  // namespace
}  // namespace edgeloop::modbus

namespace edgeloop {
namespace {

Result<ModbusSourceConfig> source_config(const std::string& yaml) {
  auto node = load_yaml_string(yaml, "m.yaml");
  if (!node.ok()) return node.take_error();
  auto opts = Options::parse_owned(modbus_source_options(), std::make_shared<ConfigNode>(std::move(*node)), "sources.plc");
  if (!opts.ok()) return opts.take_error();
  return modbus_source_config(*opts);
}

std::string source_error(const std::string& yaml) {
  auto c = source_config(yaml);
  return c.ok() ? "(no error)" : c.error().message;
}

TEST(ModbusSourceConfig, DeviceSettingsInheritAndPointsBecomeFields) {
  auto c = source_config(R"(
port: 1502
interval: 250ms
order: CDAB
devices:
  - name: plc1
    points:
      - {name: temp, address: 0, type: float32}
      - {name: run, table: coil, address: 3}
  - name: plc2
    port: 2502
    unit: 7
    max_gap: 4
    points:
      - {name: temp, address: 10, type: float32, order: ABCD, scale: 0.5, offset: -1}
      - {name: level, table: input, address: 2, type: int16}
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->fields, (std::vector<std::string>{"temp", "run", "level"}));
  ASSERT_EQ(c->devices.size(), 2u);
  EXPECT_EQ(c->devices[0].link.port, 1502);
  EXPECT_EQ(c->devices[0].link.unit, 1);
  EXPECT_EQ(c->devices[0].interval_ns, 250'000'000);
  EXPECT_EQ(modbus::order_name(c->devices[0].points[0].order), "CDAB");
  EXPECT_EQ(c->devices[0].points[1].type, modbus::Type::kBool);
  EXPECT_EQ(c->devices[0].points[1].field, 1);
  EXPECT_EQ(c->devices[1].link.port, 2502);
  EXPECT_EQ(c->devices[1].link.unit, 7);
  EXPECT_EQ(c->devices[1].limits.max_gap, 4);
  EXPECT_EQ(modbus::order_name(c->devices[1].points[0].order), "ABCD");
  EXPECT_EQ(c->devices[1].points[0].field, 0);
  EXPECT_EQ(c->devices[1].points[0].scale, 0.5);
  EXPECT_EQ(c->devices[1].points[1].field, 2);
}

TEST(ModbusSourceConfig, ErrorsNameThePlace) {
  EXPECT_NE(source_error("{devices: []}").find("a list of at least one device"), std::string::npos);
  EXPECT_NE(source_error("{devices: [{name: a, points: [{name: x, address: 1, type: int64}]}]}")
                .find("sources.plc.devices[0].points[0].type"),
            std::string::npos);
  EXPECT_NE(source_error("{devices: [{name: a, points: [{name: x, table: coil, address: 1, type: int16}]}]}")
                .find("a coil point is a bool"),
            std::string::npos);
  EXPECT_NE(source_error("{devices: [{name: a, points: [{name: x, address: 65535, type: float32}]}]}")
                .find("runs past address 65535"),
            std::string::npos);
  EXPECT_NE(source_error("{devices: [{name: a, points: [{name: x, address: 1}, {name: x, address: 2}]}]}")
                .find("named twice"),
            std::string::npos);
  EXPECT_NE(source_error("{devices: [{name: a, prot: 5, points: [{name: x, address: 1}]}]}").find("unknown key 'prot'"),
            std::string::npos);
  std::string many = "{devices: [{name: a, points: [";
  for (int i = 0; i < 17; ++i) many += (i ? "," : "") + std::string("{name: p") + std::to_string(i) + ", address: " + std::to_string(i) + "}";
  many += "]}]}";
  EXPECT_NE(source_error(many).find("more than 16 distinct point names"), std::string::npos);
}

TEST(ModbusWriteConfig, TypesAndChecks) {
  auto parse = [](const std::string& yaml) -> Result<ModbusWriteConfig> {
    auto node = load_yaml_string(yaml, "w.yaml");
    if (!node.ok()) return node.take_error();
    auto opts = Options::parse_owned(modbus_write_options(), std::make_shared<ConfigNode>(std::move(*node)), "actions.w");
    if (!opts.ok()) return opts.take_error();
    return modbus_write_config(*opts);
  };
  auto c = parse("{address: 10, value_type: float32, order: DCBA, value: '{temp}', scale: 0.1}");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->type, modbus::Type::kFloat32);
  EXPECT_EQ(modbus::order_name(c->order), "DCBA");
  auto coil = parse("{table: coil, address: 3, value: '1'}");
  ASSERT_TRUE(coil.ok()) << coil.error().message;
  EXPECT_EQ(coil->type, modbus::Type::kBool);
  EXPECT_NE(parse("{table: coil, address: 3, value_type: int16, value: '1'}").error().message.find("a coil is a bool"),
            std::string::npos);
  EXPECT_NE(parse("{table: input, address: 3, value: '1'}").error().message.find("actions.w"), std::string::npos);
  EXPECT_NE(parse("{address: 3, value: '1', scale: 0}").error().message.find("scale cannot be 0"), std::string::npos);
  EXPECT_FALSE(parse("{address: 3}").ok());  // value is required
}

}  // namespace
}  // namespace edgeloop
