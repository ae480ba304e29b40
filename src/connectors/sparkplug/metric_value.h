// Typed decoding and encoding of Sparkplug metric values (the scalar datatypes) to and from
// doubles, the value type of edgeloop's records.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/result.h"
#include "sparkplug_b.pb.h"

namespace edgeloop::sparkplug {

namespace pb = org::eclipse::tahu::protobuf;
using PbPayload = pb::Payload;
using PbMetric = pb::Payload_Metric;

// True for Int8..UInt64, Float, Double, Boolean, DateTime: the datatypes a record can carry.
bool is_numeric_type(uint32_t datatype);
// "Int8", "Double" ...; "Unknown" past the table.
const char* datatype_name(uint32_t datatype);
// The datatype by its name (case-insensitive: "int32", "Boolean"), or -1.
int datatype_from_name(std::string_view name);

enum class ValueStatus {
  kOk,          // `out` holds the value
  kNull,        // is_null (out is NaN)
  kNotNumeric,  // String, Bytes, DataSet, Template ... (skipped)
  kMissing,     // no value and not is_null
};

// The value of `m`, read as `datatype` (the birth's when the DATA metric omits it). The integer
// types are read from whichever integer field is set (int_value or long_value: encoders differ
// for UInt32), as the spec's two's complement: Int8 -1 may come as 0xFF or 0xFFFFFFFF.
// DateTime is milliseconds since the epoch.
ValueStatus metric_number(const PbMetric& m, uint32_t datatype, double& out);

// Sets the value of `m` from `v` as `datatype` (numeric types only): Int8..Int32, UInt8,
// UInt16 in int_value (two's complement), Int64, UInt32, UInt64, DateTime in long_value (as the
// sparkplug-payload reference encoder does), Float, Double, Boolean. NaN sets is_null.
void set_metric_number(PbMetric& m, uint32_t datatype, double v);

}  // namespace edgeloop::sparkplug
