#include "connectors/modbus/modbus_types.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace edgeloop::modbus {

bool is_bit_table(Table t) { return t == Table::kCoil || t == Table::kDiscrete; }

const char* table_name(Table t) {
  switch (t) {
    case Table::kHolding: return "holding";
    case Table::kInput: return "input";
    case Table::kCoil: return "coil";
    case Table::kDiscrete: return "discrete";
  }
  return "?";
}

const char* type_name(Type t) {
  switch (t) {
    case Type::kInt16: return "int16";
    case Type::kUint16: return "uint16";
    case Type::kInt32: return "int32";
    case Type::kUint32: return "uint32";
    case Type::kFloat32: return "float32";
    case Type::kFloat64: return "float64";
    case Type::kBool: return "bool";
  }
  return "?";
}

int register_count(Type t) {
  switch (t) {
    case Type::kInt32:
    case Type::kUint32:
    case Type::kFloat32: return 2;
    case Type::kFloat64: return 4;
    default: return 1;
  }
}

Result<Table> parse_table(std::string_view text) {
  for (Table t : {Table::kHolding, Table::kInput, Table::kCoil, Table::kDiscrete})
    if (text == table_name(t)) return t;
  return make_error(Errc::kInvalidArgument,
                    "unknown table '" + std::string(text) + "' (holding, input, coil, discrete)");
}

Result<Type> parse_type(std::string_view text) {
  for (Type t : {Type::kInt16, Type::kUint16, Type::kInt32, Type::kUint32, Type::kFloat32, Type::kFloat64, Type::kBool})
    if (text == type_name(t)) return t;
  return make_error(Errc::kInvalidArgument,
                    "unknown type '" + std::string(text) + "' (int16, uint16, int32, uint32, float32, float64, bool)");
}

Result<WordOrder> parse_order(std::string_view order, bool word_swap) {
  WordOrder o;
  if (order == "ABCD" || order == "big") {
  } else if (order == "CDAB") {
    o.word_swap = true;
  } else if (order == "BADC") {
    o.byte_swap = true;
  } else if (order == "DCBA" || order == "little") {
    o.byte_swap = o.word_swap = true;
  } else {
    return make_error(Errc::kInvalidArgument,
                      "unknown order '" + std::string(order) + "' (ABCD, CDAB, BADC, DCBA, big, little)");
  }
  if (word_swap) o.word_swap = !o.word_swap;
  return o;
}

std::string order_name(WordOrder o) {
  if (o.byte_swap) return o.word_swap ? "DCBA" : "BADC";
  return o.word_swap ? "CDAB" : "ABCD";
}

static uint16_t swap16(uint16_t w) { return static_cast<uint16_t>((w >> 8) | (w << 8)); }

// The value's bits, most significant word first.
static uint64_t gather(const uint16_t* regs, int n, WordOrder order) {
  uint64_t bits = 0;
  for (int i = 0; i < n; ++i) {
    uint16_t w = regs[order.word_swap ? n - 1 - i : i];
    if (order.byte_swap) w = swap16(w);
    bits = (bits << 16) | w;
  }
  return bits;
}

static void scatter(uint64_t bits, int n, WordOrder order, uint16_t* out) {
  for (int i = 0; i < n; ++i) {
    uint16_t w = static_cast<uint16_t>(bits >> (16 * (n - 1 - i)));
    if (order.byte_swap) w = swap16(w);
    out[order.word_swap ? n - 1 - i : i] = w;
  }
}

double decode(const uint16_t* regs, Type type, WordOrder order) {
  const int n = register_count(type);
  const uint64_t bits = gather(regs, n, order);
  switch (type) {
    case Type::kInt16: return static_cast<double>(static_cast<int16_t>(bits));
    case Type::kUint16: return static_cast<double>(static_cast<uint16_t>(bits));
    case Type::kInt32: return static_cast<double>(static_cast<int32_t>(bits));
    case Type::kUint32: return static_cast<double>(static_cast<uint32_t>(bits));
    case Type::kFloat32: return static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(bits)));
    case Type::kFloat64: return std::bit_cast<double>(bits);
    case Type::kBool: return bits != 0 ? 1.0 : 0.0;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

Status encode(double raw, Type type, WordOrder order, uint16_t* out) {
  if (!std::isfinite(raw)) return make_error(Errc::kTooLarge, "value is not a finite number");
  const int n = register_count(type);
  auto integer = [&](double lo, double hi) -> Result<int64_t> {
    const double r = std::nearbyint(raw);
    if (r < lo || r > hi) {
      return make_error(Errc::kTooLarge, "value " + std::to_string(raw) + " does not fit " + type_name(type));
    }
    return static_cast<int64_t>(r);
  };
  uint64_t bits = 0;
  switch (type) {
    case Type::kInt16: {
      EDGELOOP_ASSIGN_OR_RETURN(int64_t v, integer(-32768, 32767));
      bits = static_cast<uint16_t>(static_cast<int16_t>(v));
      break;
    }
    case Type::kUint16: {
      EDGELOOP_ASSIGN_OR_RETURN(int64_t v, integer(0, 65535));
      bits = static_cast<uint64_t>(v);
      break;
    }
    case Type::kInt32: {
      EDGELOOP_ASSIGN_OR_RETURN(int64_t v, integer(-2147483648.0, 2147483647.0));
      bits = static_cast<uint32_t>(static_cast<int32_t>(v));
      break;
    }
    case Type::kUint32: {
      EDGELOOP_ASSIGN_OR_RETURN(int64_t v, integer(0, 4294967295.0));
      bits = static_cast<uint64_t>(v);
      break;
    }
    case Type::kFloat32: {
      if (std::fabs(raw) > static_cast<double>(std::numeric_limits<float>::max())) {
        return make_error(Errc::kTooLarge, "value " + std::to_string(raw) + " does not fit float32");
      }
      bits = std::bit_cast<uint32_t>(static_cast<float>(raw));
      break;
    }
    case Type::kFloat64: bits = std::bit_cast<uint64_t>(raw); break;
    case Type::kBool: bits = raw != 0 ? 1 : 0; break;
  }
  scatter(bits, n, order, out);
  return Status::Ok();
}

std::vector<Batch> plan_batches(const std::vector<Point>& points, const BatchLimits& limits) {
  std::vector<Batch> out;
  for (Table table : {Table::kHolding, Table::kInput, Table::kCoil, Table::kDiscrete}) {
    std::vector<int> idx;
    for (std::size_t i = 0; i < points.size(); ++i)
      if (points[i].table == table) idx.push_back(static_cast<int>(i));
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) {
      return points[static_cast<std::size_t>(a)].address < points[static_cast<std::size_t>(b)].address;
    });
    const int limit = is_bit_table(table) ? limits.max_bits : limits.max_registers;
    int start = -1, end = -1;  // current request: [start, end)
    Batch cur;
    for (int i : idx) {
      const Point& p = points[static_cast<std::size_t>(i)];
      const int a = p.address;
      const int e = a + (is_bit_table(table) ? 1 : p.count());
      if (start >= 0 && a <= end + limits.max_gap && std::max(end, e) - start <= limit) {
        end = std::max(end, e);
        cur.points.push_back(i);
        continue;
      }
      if (start >= 0) {
        cur.count = static_cast<uint16_t>(end - start);
        out.push_back(std::move(cur));
      }
      cur = Batch{};
      cur.table = table;
      cur.start = static_cast<uint16_t>(a);
      cur.points = {i};
      start = a;
      end = e;
    }
    if (start >= 0) {
      cur.count = static_cast<uint16_t>(end - start);
      out.push_back(std::move(cur));
    }
  }
  return out;
}

std::string exception_name(int code) {
  switch (code) {
    case 1: return "illegal_function";
    case 2: return "illegal_data_address";
    case 3: return "illegal_data_value";
    case 4: return "server_device_failure";
    case 5: return "acknowledge";
    case 6: return "server_device_busy";
    case 7: return "negative_acknowledge";
    case 8: return "memory_parity_error";
    case 10: return "gateway_path_unavailable";
    case 11: return "gateway_target_failed";
    default: return "exception_" + std::to_string(code);
  }
}

}  // namespace edgeloop::modbus
