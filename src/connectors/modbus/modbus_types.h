// Modbus data model shared by source.modbus and action.modbus_write: tables, value types, byte
// and word order, typed decoding/encoding of register words, and the batching of points into
// read requests. Pure functions: no I/O, no libmodbus.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgeloop::modbus {

enum class Table : uint8_t { kHolding, kInput, kCoil, kDiscrete };
enum class Type : uint8_t { kInt16, kUint16, kInt32, kUint32, kFloat32, kFloat64, kBool };

// Protocol limits per read request (Modbus application protocol v1.1b3, 6.1-6.4).
inline constexpr int kMaxReadRegisters = 125;
inline constexpr int kMaxReadBits = 2000;

// How the bytes of a value lie in its registers. A value's bytes, most significant first, are
// A B C D (E F G H for 64 bits). ABCD: big endian, first register most significant (the
// Modbus convention). CDAB: words swapped. BADC: bytes swapped within each register. DCBA:
// little endian. For 16-bit values only byte_swap matters; for 64-bit values word_swap
// reverses the order of all four registers.
struct WordOrder {
  bool byte_swap = false;
  bool word_swap = false;
  bool operator==(const WordOrder&) const = default;
};

bool is_bit_table(Table t);
const char* table_name(Table t);
const char* type_name(Type t);
// Registers (or bits, for bool on a bit table) that one value takes.
int register_count(Type t);

Result<Table> parse_table(std::string_view text);   // holding, input, coil, discrete
Result<Type> parse_type(std::string_view text);     // int16 ... float64, bool
// `order`: ABCD, CDAB, BADC, DCBA, big (= ABCD) or little (= DCBA); `word_swap` then swaps the
// word order once more (big + word_swap = CDAB, little + word_swap = BADC).
Result<WordOrder> parse_order(std::string_view order, bool word_swap);
std::string order_name(WordOrder o);

// The raw value (before scale and offset) of `regs` (register_count(type) words as read, each
// the register's big-endian 16 bits). bool: nonzero.
double decode(const uint16_t* regs, Type type, WordOrder order);
// The words to write for the raw value `raw`: integers are rounded to nearest; kTooLarge when
// `raw` does not fit the type (or is not finite). Writes register_count(type) words.
Status encode(double raw, Type type, WordOrder order, uint16_t* out);

// One value of a device: where it is, how it is typed, and the record field it fills.
struct Point {
  std::string name;
  Table table = Table::kHolding;
  uint16_t address = 0;
  Type type = Type::kUint16;
  WordOrder order;
  double scale = 1;
  double offset = 0;
  int field = 0;  // index into the source's schema
  int count() const { return register_count(type); }
  double value(const uint16_t* regs) const { return decode(regs, type, order) * scale + offset; }
};

// One read request and the points it serves.
struct Batch {
  Table table = Table::kHolding;
  uint16_t start = 0;
  uint16_t count = 0;        // registers or bits
  std::vector<int> points;   // indices into the device's points
};

struct BatchLimits {
  int max_registers = kMaxReadRegisters;  // per register request
  int max_bits = kMaxReadBits;            // per bit request
  int max_gap = 0;  // unused registers (bits) a request may span to join two points
};

// Groups the points of each table, by address, into as few requests as the limits allow: a
// point joins the current request when it starts at most max_gap past its end and the request
// stays within the limit (overlapping points share words). Order: holding, input, coil, discrete.
std::vector<Batch> plan_batches(const std::vector<Point>& points, const BatchLimits& limits);

// "illegal_data_address" for exception code 2, etc.; "exception_<n>" for codes without a name.
std::string exception_name(int code);

}  // namespace edgeloop::modbus
