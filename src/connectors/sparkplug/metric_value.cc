#include "connectors/sparkplug/metric_value.h"

#include <array>
#include <cctype>
#include <cmath>
#include <limits>

namespace edgeloop::sparkplug {

namespace {
constexpr std::array<const char*, 35> kTypeNames = {
    "Unknown",    "Int8",        "Int16",       "Int32",       "Int64",       "UInt8",        "UInt16",
    "UInt32",     "UInt64",      "Float",       "Double",      "Boolean",     "String",       "DateTime",
    "Text",       "UUID",        "DataSet",     "Bytes",       "File",        "Template",     "PropertySet",
    "PropertySetList", "Int8Array", "Int16Array", "Int32Array", "Int64Array", "UInt8Array", "UInt16Array",
    "UInt32Array", "UInt64Array", "FloatArray", "DoubleArray", "BooleanArray", "StringArray", "DateTimeArray"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

double integer_as(uint32_t datatype, uint64_t raw) {
  switch (datatype) {
    case pb::Int8: return static_cast<int8_t>(static_cast<uint8_t>(raw & 0xFFu));
    case pb::Int16: return static_cast<int16_t>(static_cast<uint16_t>(raw & 0xFFFFu));
    case pb::Int32: return static_cast<int32_t>(static_cast<uint32_t>(raw & 0xFFFFFFFFu));
    case pb::Int64: return static_cast<double>(static_cast<int64_t>(raw));
    case pb::UInt8: return static_cast<double>(raw & 0xFFu);
    case pb::UInt16: return static_cast<double>(raw & 0xFFFFu);
    case pb::UInt32: return static_cast<double>(raw & 0xFFFFFFFFu);
    case pb::Boolean: return raw != 0 ? 1.0 : 0.0;
    default: return static_cast<double>(raw);  // UInt64, DateTime (ms), Float/Double sent as integers
  }
}
}  // namespace

bool is_numeric_type(uint32_t datatype) {
  return (datatype >= pb::Int8 && datatype <= pb::Boolean) || datatype == pb::DateTime;
}

const char* datatype_name(uint32_t datatype) { return datatype < kTypeNames.size() ? kTypeNames[datatype] : "Unknown"; }

int datatype_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kTypeNames.size(); ++i)
    if (iequals(name, kTypeNames[i])) return static_cast<int>(i);
  return -1;
}

ValueStatus metric_number(const PbMetric& m, uint32_t datatype, double& out) {
  if (m.is_null()) {
    out = std::numeric_limits<double>::quiet_NaN();
    return ValueStatus::kNull;
  }
  if (!is_numeric_type(datatype) && datatype != pb::Unknown) return ValueStatus::kNotNumeric;
  switch (m.value_case()) {
    case PbMetric::kIntValue: out = integer_as(datatype, m.int_value()); return ValueStatus::kOk;
    case PbMetric::kLongValue: out = integer_as(datatype, m.long_value()); return ValueStatus::kOk;
    case PbMetric::kFloatValue: out = static_cast<double>(m.float_value()); return ValueStatus::kOk;
    case PbMetric::kDoubleValue: out = m.double_value(); return ValueStatus::kOk;
    case PbMetric::kBooleanValue: out = m.boolean_value() ? 1.0 : 0.0; return ValueStatus::kOk;
    case PbMetric::VALUE_NOT_SET: return ValueStatus::kMissing;
    default: return ValueStatus::kNotNumeric;
  }
}

void set_metric_number(PbMetric& m, uint32_t datatype, double v) {
  m.set_datatype(datatype);
  if (std::isnan(v)) {
    m.set_is_null(true);
    return;
  }
  switch (datatype) {
    case pb::Int8:
    case pb::Int16:
    case pb::Int32:
      m.set_int_value(static_cast<uint32_t>(static_cast<int32_t>(v)));
      break;
    case pb::UInt8:
    case pb::UInt16:
      m.set_int_value(static_cast<uint32_t>(v));
      break;
    case pb::Int64:
      m.set_long_value(static_cast<uint64_t>(static_cast<int64_t>(v)));
      break;
    case pb::UInt32:
    case pb::UInt64:
    case pb::DateTime:
      m.set_long_value(static_cast<uint64_t>(v));
      break;
    case pb::Float: m.set_float_value(static_cast<float>(v)); break;
    case pb::Boolean: m.set_boolean_value(v != 0.0); break;
    default: m.set_double_value(v); break;
  }
}

}  // namespace edgeloop::sparkplug
