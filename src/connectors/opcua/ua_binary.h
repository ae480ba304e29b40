// OPC UA Binary encoding (Part 6 §5.2): the built-in types a client needs, a writer and a
// bounds-checked reader. The reader never reads past its buffer: on a short or malformed
// input it records the first error, returns zero values from then on, and ok() turns false,
// so decoders read a whole structure and check once at the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgeloop::opcua {

// DateTime: 100 ns ticks since 1601-01-01 UTC.
inline constexpr int64_t kUnixEpochTicks = 116444736000000000LL;
inline int64_t ticks_to_unix_ns(int64_t ticks) { return ticks == 0 ? 0 : (ticks - kUnixEpochTicks) * 100; }
inline int64_t unix_ns_to_ticks(int64_t ns) { return ns / 100 + kUnixEpochTicks; }

// StatusCode severity: the top two bits (00 good, 01 uncertain, 10 bad).
inline bool status_is_bad(uint32_t s) { return (s & 0x80000000u) != 0; }
inline bool status_is_uncertain(uint32_t s) { return (s & 0xC0000000u) == 0x40000000u; }
// A short name for the codes a client meets most ("BadNodeIdUnknown"), else "0x%08X".
std::string status_name(uint32_t s);

struct NodeId {
  enum class Kind : uint8_t { kNumeric, kString, kGuid, kOpaque };
  uint16_t ns = 0;
  Kind kind = Kind::kNumeric;
  uint32_t numeric = 0;
  std::string bytes;  // string (UTF-8), guid (16 bytes, wire order) or opaque bytes

  static NodeId num(uint32_t id, uint16_t ns = 0) { return NodeId{ns, Kind::kNumeric, id, {}}; }
  static NodeId str(std::string s, uint16_t ns) { return NodeId{ns, Kind::kString, 0, std::move(s)}; }
  // "i=85", "ns=1;s=Temperature", "ns=2;g=72962b91-fa75-4ae6-8d28-b404dc7daf63", "ns=1;b=M/RbKBsRVkePCePcx24oRA=="
  static Result<NodeId> parse(std::string_view text);
  std::string to_string() const;
  bool is_null() const { return ns == 0 && kind == Kind::kNumeric && numeric == 0; }
  bool operator==(const NodeId& o) const { return ns == o.ns && kind == o.kind && numeric == o.numeric && bytes == o.bytes; }
};

struct ExpandedNodeId {
  NodeId node;
  std::string namespace_uri;
  uint32_t server_index = 0;
};

struct QualifiedName {
  uint16_t ns = 0;
  std::string name;
};

struct LocalizedText {
  std::string locale;
  std::string text;
};

// Built-in type ids (Part 6 Table 1): the Variant's type byte.
enum class VariantType : uint8_t {
  kNull = 0, kBoolean = 1, kSByte = 2, kByte = 3, kInt16 = 4, kUInt16 = 5, kInt32 = 6, kUInt32 = 7,
  kInt64 = 8, kUInt64 = 9, kFloat = 10, kDouble = 11, kString = 12, kDateTime = 13, kGuid = 14,
  kByteString = 15, kXmlElement = 16, kNodeId = 17, kExpandedNodeId = 18, kStatusCode = 19,
  kQualifiedName = 20, kLocalizedText = 21, kExtensionObject = 22, kDataValue = 23, kVariant = 24,
  kDiagnosticInfo = 25,
};
const char* variant_type_name(VariantType t);

// A decoded Variant. Numbers keep their exact value in `i` (signed types, Boolean, DateTime
// ticks), `u` (unsigned types, StatusCode) or `d` (Float, Double); text-like values in `text`.
// Arrays keep their elements in `items` (a matrix is flattened, its dimensions dropped).
struct Variant {
  VariantType type = VariantType::kNull;
  bool is_array = false;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  std::string text;
  std::vector<Variant> items;

  static Variant of_double(double v) { Variant x; x.type = VariantType::kDouble; x.d = v; return x; }
  // The value as a number: Boolean 0/1, integers, floats, DateTime as Unix seconds, StatusCode.
  // False for null, arrays and non-numeric types.
  bool as_number(double& out) const;
  // Converts a number to a scalar of `t` (for writes typed by the node's DataType); kTypeMismatch
  // for non-numeric types (String takes the number's text) and out-of-range integers.
  static Result<Variant> from_number(VariantType t, double v);
  std::string to_string() const;
};

struct DataValue {
  bool has_value = false;
  Variant value;
  uint32_t status = 0;
  int64_t source_ts = 0;  // ticks; 0: absent
  int64_t server_ts = 0;
};

struct ExtensionObject {
  NodeId type_id;
  uint8_t encoding = 0;  // 0 no body, 1 binary, 2 XML
  std::string body;
};

class UaWriter {
 public:
  std::string& buffer() { return buf_; }
  std::string take() { return std::move(buf_); }
  std::size_t size() const { return buf_.size(); }

  void u8(uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void u64(uint64_t v);
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void f32(float v);
  void f64(double v);
  void string(std::string_view s);  // String and ByteString
  void null_string() { i32(-1); }
  void raw(std::string_view s) { buf_.append(s); }
  void date_time(int64_t ticks) { i64(ticks); }
  void node_id(const NodeId& n);
  void expanded_node_id(const ExpandedNodeId& n);
  void qualified_name(const QualifiedName& q);
  void localized_text(const LocalizedText& t);
  void variant(const Variant& v);
  void data_value(const DataValue& v);
  void extension_object(const ExtensionObject& e);
  void empty_extension_object() { u8(0); u8(0); u8(0); }  // null NodeId (two-byte form), no body
  void put_u32_at(std::size_t pos, uint32_t v);

 private:
  std::string buf_;
};

class UaReader {
 public:
  explicit UaReader(std::string_view data) : data_(data) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  std::string_view rest() const { return data_.substr(pos_); }
  void fail(std::string why);  // keeps the first error
  // An error when bytes are left over (a structure must use its whole body).
  Status finish(std::string_view what);

  uint8_t u8();
  bool boolean() { return u8() != 0; }
  uint16_t u16();
  uint32_t u32();
  int32_t i32() { return static_cast<int32_t>(u32()); }
  uint64_t u64();
  int64_t i64() { return static_cast<int64_t>(u64()); }
  float f32();
  double f64();
  std::string string();  // null reads as ""
  std::string_view bytes(std::size_t n);
  int64_t date_time() { return i64(); }
  // An array's length: -1 (null) reads as 0; a length that the remaining bytes cannot hold
  // (each element takes at least min_element_size) fails.
  uint32_t array_length(std::size_t min_element_size = 1);
  NodeId node_id();
  ExpandedNodeId expanded_node_id();
  QualifiedName qualified_name();
  LocalizedText localized_text();
  Variant variant();
  DataValue data_value();
  ExtensionObject extension_object();
  void skip_diagnostic_info();
  std::vector<uint32_t> status_codes();
  void skip_diagnostic_infos();

 private:
  bool need(std::size_t n);
  void scalar(VariantType t, Variant& v);

  std::string_view data_;
  std::size_t pos_ = 0;
  std::string error_;
  int depth_ = 0;  // nesting of Variants, DataValues and DiagnosticInfos
};

// Base64 (RFC 4648) for opaque NodeIds.
std::string base64_encode(std::string_view in);
Result<std::string> base64_decode(std::string_view in);

}  // namespace edgeloop::opcua
