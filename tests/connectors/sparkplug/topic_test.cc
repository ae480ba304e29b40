#include "connectors/sparkplug/topic.h"

#include <gtest/gtest.h>

#include <cmath>

#include "connectors/sparkplug/metric_value.h"

namespace edgeloop::sparkplug {
namespace {

TEST(SparkplugTopic, ParsesNodeAndDeviceTopics) {
  Topic t;
  ASSERT_TRUE(parse_topic("spBv1.0/plant/NBIRTH/node1", t));
  EXPECT_EQ(t.type, MessageType::kNBirth);
  EXPECT_EQ(t.group, "plant");
  EXPECT_EQ(t.node, "node1");
  EXPECT_EQ(t.device, "");
  ASSERT_TRUE(parse_topic("spBv1.0/plant/DDATA/node1/pump3", t));
  EXPECT_EQ(t.type, MessageType::kDData);
  EXPECT_EQ(t.device, "pump3");
  ASSERT_TRUE(parse_topic("spBv1.0/STATE/scada", t));
  EXPECT_EQ(t.type, MessageType::kState);
  EXPECT_EQ(t.node, "scada");
}

TEST(SparkplugTopic, RejectsWrongShapes) {
  Topic t;
  EXPECT_FALSE(parse_topic("spBv1.0/plant/NBIRTH", t));
  EXPECT_FALSE(parse_topic("spBv1.0/plant/NDATA/node1/dev", t));   // node type with a device
  EXPECT_FALSE(parse_topic("spBv1.0/plant/DDATA/node1", t));       // device type without one
  EXPECT_FALSE(parse_topic("spAv1.0/plant/NDATA/node1", t));
  EXPECT_FALSE(parse_topic("spBv1.0/plant/NFOO/node1", t));
  EXPECT_FALSE(parse_topic("spBv1.0//NDATA/node1", t));
  EXPECT_FALSE(parse_topic("spBv1.0/plant/DDATA/node1/dev/x", t));
  EXPECT_EQ(make_topic("g", MessageType::kNCmd, "n"), "spBv1.0/g/NCMD/n");
  EXPECT_EQ(make_topic("g", MessageType::kDCmd, "n", "d"), "spBv1.0/g/DCMD/n/d");
  EXPECT_EQ(sanitize_id("a/b+c#"), "a_b_c_");
}

TEST(SparkplugValue, DecodesEveryScalarType) {
  PbMetric m;
  double v = 0;
  m.set_int_value(0xFFu);  // Int8 -1 as 8-bit two's complement
  EXPECT_EQ(metric_number(m, pb::Int8, v), ValueStatus::kOk);
  EXPECT_EQ(v, -1);
  m.set_int_value(0xFFFFFFF9u);  // Int8 -7 as 32-bit two's complement
  EXPECT_EQ(metric_number(m, pb::Int8, v), ValueStatus::kOk);
  EXPECT_EQ(v, -7);
  m.set_int_value(0xFFFF8000u);
  EXPECT_EQ(metric_number(m, pb::Int16, v), ValueStatus::kOk);
  EXPECT_EQ(v, -32768);
  m.set_int_value(0x80000000u);
  EXPECT_EQ(metric_number(m, pb::Int32, v), ValueStatus::kOk);
  EXPECT_EQ(v, -2147483648.0);
  m.set_long_value(static_cast<uint64_t>(int64_t{-1234567890123}));
  EXPECT_EQ(metric_number(m, pb::Int64, v), ValueStatus::kOk);
  EXPECT_EQ(v, -1234567890123.0);
  m.set_int_value(250);
  EXPECT_EQ(metric_number(m, pb::UInt8, v), ValueStatus::kOk);
  EXPECT_EQ(v, 250);
  m.set_int_value(65535);
  EXPECT_EQ(metric_number(m, pb::UInt16, v), ValueStatus::kOk);
  EXPECT_EQ(v, 65535);
  m.set_long_value(4294967295u);
  EXPECT_EQ(metric_number(m, pb::UInt32, v), ValueStatus::kOk);
  EXPECT_EQ(v, 4294967295.0);
  m.set_int_value(4000000000u);  // UInt32 in int_value (the 3.0 spec's choice) reads the same
  EXPECT_EQ(metric_number(m, pb::UInt32, v), ValueStatus::kOk);
  EXPECT_EQ(v, 4000000000.0);
  m.set_long_value(9007199254740993ull);
  EXPECT_EQ(metric_number(m, pb::UInt64, v), ValueStatus::kOk);
  EXPECT_EQ(v, 9007199254740992.0);  // nearest double
  m.set_float_value(1.5f);
  EXPECT_EQ(metric_number(m, pb::Float, v), ValueStatus::kOk);
  EXPECT_EQ(v, 1.5);
  m.set_double_value(-0.125);
  EXPECT_EQ(metric_number(m, pb::Double, v), ValueStatus::kOk);
  EXPECT_EQ(v, -0.125);
  m.set_boolean_value(true);
  EXPECT_EQ(metric_number(m, pb::Boolean, v), ValueStatus::kOk);
  EXPECT_EQ(v, 1);
  m.set_long_value(1700000000123ull);
  EXPECT_EQ(metric_number(m, pb::DateTime, v), ValueStatus::kOk);
  EXPECT_EQ(v, 1700000000123.0);
  m.set_string_value("x");
  EXPECT_EQ(metric_number(m, pb::String, v), ValueStatus::kNotNumeric);
  m.set_is_null(true);
  EXPECT_EQ(metric_number(m, pb::Double, v), ValueStatus::kNull);
  EXPECT_TRUE(std::isnan(v));
  PbMetric empty;
  EXPECT_EQ(metric_number(empty, pb::Double, v), ValueStatus::kMissing);
}

TEST(SparkplugValue, EncodesWhatItDecodes) {
  for (uint32_t dt : {pb::Int8, pb::Int16, pb::Int32, pb::Int64, pb::Float, pb::Double}) {
    PbMetric m;
    set_metric_number(m, dt, -5);
    double v = 0;
    ASSERT_EQ(metric_number(m, dt, v), ValueStatus::kOk) << datatype_name(dt);
    EXPECT_EQ(v, -5) << datatype_name(dt);
  }
  for (uint32_t dt : {pb::UInt8, pb::UInt16, pb::UInt32, pb::UInt64, pb::DateTime, pb::Boolean}) {
    PbMetric m;
    set_metric_number(m, dt, 1);
    double v = 0;
    ASSERT_EQ(metric_number(m, dt, v), ValueStatus::kOk) << datatype_name(dt);
    EXPECT_EQ(v, 1) << datatype_name(dt);
  }
  EXPECT_EQ(datatype_from_name("uint32"), pb::UInt32);
  EXPECT_EQ(datatype_from_name("Boolean"), pb::Boolean);
  EXPECT_EQ(datatype_from_name("nope"), -1);
}

}  // namespace
}  // namespace edgeloop::sparkplug
