#include "connectors/opcua/ua_binary.h"

#include "core/options.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace edgeloop::opcua {

namespace {
constexpr int kMaxDepth = 16;         // nested Variants / DiagnosticInfos
constexpr std::size_t kGuidSize = 16;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "72962b91-fa75-4ae6-8d28-b404dc7daf63" to the wire order: Data1..3 little-endian, Data4 as is.
bool parse_guid(std::string_view s, std::string& out) {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return false;
  uint8_t be[16];
  std::size_t k = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '-') continue;
    const int hi = hex_value(s[i]), lo = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
    if (hi < 0 || lo < 0 || k >= 16) return false;
    be[k++] = static_cast<uint8_t>(hi * 16 + lo);
    ++i;
  }
  if (k != 16) return false;
  const uint8_t wire[16] = {be[3], be[2], be[1], be[0], be[5], be[4], be[7], be[6],
                            be[8], be[9], be[10], be[11], be[12], be[13], be[14], be[15]};
  out.assign(reinterpret_cast<const char*>(wire), 16);
  return true;
}

std::string guid_text(const std::string& w) {
  if (w.size() != kGuidSize) return "?";
  auto b = [&](std::size_t i) { return static_cast<unsigned>(static_cast<uint8_t>(w[i])); };
  char out[40];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b(3), b(2),
                b(1), b(0), b(5), b(4), b(7), b(6), b(8), b(9), b(10), b(11), b(12), b(13), b(14), b(15));
  return out;
}
}  // namespace

std::string status_name(uint32_t s) {
  switch (s) {
    case 0x00000000: return "Good";
    case 0x80010000: return "BadUnexpectedError";
    case 0x80020000: return "BadInternalError";
    case 0x80070000: return "BadEncodingError";
    case 0x80080000: return "BadDecodingError";
    case 0x800A0000: return "BadTimeout";
    case 0x800B0000: return "BadServiceUnsupported";
    case 0x80130000: return "BadSecurityChecksFailed";
    case 0x80200000: return "BadIdentityTokenInvalid";
    case 0x80210000: return "BadIdentityTokenRejected";
    case 0x80220000: return "BadSecureChannelIdInvalid";
    case 0x80240000: return "BadNonceInvalid";
    case 0x80250000: return "BadSessionIdInvalid";
    case 0x80260000: return "BadSessionClosed";
    case 0x80270000: return "BadSessionNotActivated";
    case 0x80280000: return "BadSubscriptionIdInvalid";
    case 0x80290000: return "BadRequestHeaderInvalid";
    case 0x80310000: return "BadNoCommunication";
    case 0x80320000: return "BadWaitingForInitialData";
    case 0x80330000: return "BadNodeIdInvalid";
    case 0x80340000: return "BadNodeIdUnknown";
    case 0x80350000: return "BadAttributeIdInvalid";
    case 0x803A0000: return "BadNotReadable";
    case 0x803B0000: return "BadNotWritable";
    case 0x80740000: return "BadTypeMismatch";
    case 0x808C0000: return "BadSensorFailure";
    case 0x80780000: return "BadTooManyPublishRequests";
    case 0x80790000: return "BadNoSubscription";
    case 0x801F0000: return "BadUserAccessDenied";
    case 0x80380000: return "BadDataEncodingInvalid";
    case 0x80AB0000: return "BadInvalidArgument";
    case 0x80AC0000: return "BadConnectionRejected";
    case 0x80AD0000: return "BadDisconnect";
    case 0x80AE0000: return "BadConnectionClosed";
    case 0x807F0000: return "BadTcpMessageTooLarge";
    case 0x807E0000: return "BadTcpMessageTypeInvalid";
    case 0x80810000: return "BadTcpInternalError";
    case 0x80830000: return "BadTcpEndpointUrlInvalid";
    case 0x80840000: return "BadRequestInterrupted";
    case 0x80850000: return "BadRequestTimeout";
    case 0x80860000: return "BadSecureChannelClosed";
    case 0x80870000: return "BadSecureChannelTokenUnknown";
    case 0x40000000: return "Uncertain";
    default: break;
  }
  char out[16];
  std::snprintf(out, sizeof out, "0x%08X", s);
  return out;
}

// ---- NodeId text form --------------------------------------------------------------------

Result<NodeId> NodeId::parse(std::string_view text) {
  NodeId n;
  std::string_view t = text;
  if (t.rfind("ns=", 0) == 0) {
    const auto semi = t.find(';');
    if (semi == std::string_view::npos) return make_error(Errc::kInvalidArgument, "NodeId '" + std::string(text) + "': 'ns=N;' needs a ';'");
    auto ns = parse_int(t.substr(3, semi - 3));
    if (!ns.ok() || *ns < 0 || *ns > 65535) return make_error(Errc::kInvalidArgument, "NodeId '" + std::string(text) + "': namespace index is not 0..65535");
    n.ns = static_cast<uint16_t>(*ns);
    t = t.substr(semi + 1);
  }
  if (t.size() < 2 || t[1] != '=') {
    return make_error(Errc::kInvalidArgument, "NodeId '" + std::string(text) + "': expected i=, s=, g= or b= (e.g. ns=1;s=Temperature)");
  }
  const std::string_view v = t.substr(2);
  switch (t[0]) {
    case 'i': {
      auto id = parse_int(v);
      if (!id.ok() || *id < 0 || *id > UINT32_MAX) return make_error(Errc::kInvalidArgument, "NodeId '" + std::string(text) + "': i= needs 0..4294967295");
      n.kind = Kind::kNumeric;
      n.numeric = static_cast<uint32_t>(*id);
      return n;
    }
    case 's':
      if (v.empty()) return make_error(Errc::kInvalidArgument, "NodeId '" + std::string(text) + "': empty string identifier");
      n.kind = Kind::kString;
      n.bytes = std::string(v);
      return n;
    case 'g':
      n.kind = Kind::kGuid;
      if (!parse_guid(v, n.bytes)) return make_error(Errc::kInvalidArgument, "NodeId '" + std::string(text) + "': g= needs a GUID like 72962b91-fa75-4ae6-8d28-b404dc7daf63");
      return n;
    case 'b': {
      auto b = base64_decode(v);
      if (!b.ok()) return make_error(Errc::kInvalidArgument, "NodeId '" + std::string(text) + "': b= needs base64");
      n.kind = Kind::kOpaque;
      n.bytes = std::move(b).value();
      return n;
    }
    default:
      return make_error(Errc::kInvalidArgument, "NodeId '" + std::string(text) + "': expected i=, s=, g= or b=");
  }
}

std::string NodeId::to_string() const {
  std::string out = ns ? "ns=" + std::to_string(ns) + ";" : "";
  switch (kind) {
    case Kind::kNumeric: return out + "i=" + std::to_string(numeric);
    case Kind::kString: return out + "s=" + bytes;
    case Kind::kGuid: return out + "g=" + guid_text(bytes);
    case Kind::kOpaque: return out + "b=" + base64_encode(bytes);
  }
  return out;
}

const char* variant_type_name(VariantType t) {
  static const char* const kNames[] = {"Null", "Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64",
                                       "UInt64", "Float", "Double", "String", "DateTime", "Guid", "ByteString",
                                       "XmlElement", "NodeId", "ExpandedNodeId", "StatusCode", "QualifiedName",
                                       "LocalizedText", "ExtensionObject", "DataValue", "Variant", "DiagnosticInfo"};
  const auto i = static_cast<std::size_t>(t);
  return i < sizeof kNames / sizeof kNames[0] ? kNames[i] : "Unknown";
}

bool Variant::as_number(double& out) const {
  if (is_array) return false;
  switch (type) {
    case VariantType::kBoolean:
    case VariantType::kSByte:
    case VariantType::kInt16:
    case VariantType::kInt32:
    case VariantType::kInt64: out = static_cast<double>(i); return true;
    case VariantType::kByte:
    case VariantType::kUInt16:
    case VariantType::kUInt32:
    case VariantType::kUInt64:
    case VariantType::kStatusCode: out = static_cast<double>(u); return true;
    case VariantType::kFloat:
    case VariantType::kDouble: out = d; return true;
    case VariantType::kDateTime: out = static_cast<double>(ticks_to_unix_ns(i)) * 1e-9; return true;
    default: return false;
  }
}

Result<Variant> Variant::from_number(VariantType t, double v) {
  Variant x;
  x.type = t;
  auto int_in = [&](double lo, double hi) -> bool { return std::isfinite(v) && v == std::floor(v) && v >= lo && v <= hi; };
  auto bad = [&]() {
    return make_error(Errc::kTypeMismatch, std::to_string(v) + " does not fit " + variant_type_name(t));
  };
  switch (t) {
    case VariantType::kBoolean: x.i = v != 0 ? 1 : 0; return x;
    case VariantType::kSByte: if (!int_in(-128, 127)) return bad(); x.i = static_cast<int64_t>(v); return x;
    case VariantType::kInt16: if (!int_in(-32768, 32767)) return bad(); x.i = static_cast<int64_t>(v); return x;
    case VariantType::kInt32: if (!int_in(-2147483648.0, 2147483647.0)) return bad(); x.i = static_cast<int64_t>(v); return x;
    case VariantType::kInt64: if (!int_in(-9.2e18, 9.2e18)) return bad(); x.i = static_cast<int64_t>(v); return x;
    case VariantType::kByte: if (!int_in(0, 255)) return bad(); x.u = static_cast<uint64_t>(v); return x;
    case VariantType::kUInt16: if (!int_in(0, 65535)) return bad(); x.u = static_cast<uint64_t>(v); return x;
    case VariantType::kUInt32: if (!int_in(0, 4294967295.0)) return bad(); x.u = static_cast<uint64_t>(v); return x;
    case VariantType::kUInt64: if (!int_in(0, 1.8e19)) return bad(); x.u = static_cast<uint64_t>(v); return x;
    case VariantType::kFloat:
    case VariantType::kDouble: x.d = v; return x;
    case VariantType::kString: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v);
      x.text = buf;
      return x;
    }
    default:
      return make_error(Errc::kTypeMismatch, std::string("cannot write a number to a ") + variant_type_name(t));
  }
}

std::string Variant::to_string() const {
  if (is_array) return std::string(variant_type_name(type)) + "[" + std::to_string(items.size()) + "]";
  double n = 0;
  if (type == VariantType::kString || type == VariantType::kXmlElement || type == VariantType::kLocalizedText) return text;
  if (as_number(n)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", n);
    return buf;
  }
  return variant_type_name(type);
}

// ---- writer ------------------------------------------------------------------------------

void UaWriter::u16(uint16_t v) {
  u8(static_cast<uint8_t>(v));
  u8(static_cast<uint8_t>(v >> 8));
}
void UaWriter::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
}
void UaWriter::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
}
void UaWriter::f32(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  u32(b);
}
void UaWriter::f64(double v) {
  uint64_t b;
  std::memcpy(&b, &v, 8);
  u64(b);
}
void UaWriter::string(std::string_view s) {
  i32(static_cast<int32_t>(s.size()));
  buf_.append(s);
}
void UaWriter::put_u32_at(std::size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i) buf_[pos + static_cast<std::size_t>(i)] = static_cast<char>(static_cast<uint8_t>(v >> (8 * i)));
}

void UaWriter::node_id(const NodeId& n) {
  switch (n.kind) {
    case NodeId::Kind::kNumeric:
      if (n.ns == 0 && n.numeric <= 0xFF) {
        u8(0x00);
        u8(static_cast<uint8_t>(n.numeric));
      } else if (n.ns <= 0xFF && n.numeric <= 0xFFFF) {
        u8(0x01);
        u8(static_cast<uint8_t>(n.ns));
        u16(static_cast<uint16_t>(n.numeric));
      } else {
        u8(0x02);
        u16(n.ns);
        u32(n.numeric);
      }
      return;
    case NodeId::Kind::kString: u8(0x03); u16(n.ns); string(n.bytes); return;
    case NodeId::Kind::kGuid: u8(0x04); u16(n.ns); raw(n.bytes.size() == kGuidSize ? n.bytes : std::string(kGuidSize, '\0')); return;
    case NodeId::Kind::kOpaque: u8(0x05); u16(n.ns); string(n.bytes); return;
  }
}

void UaWriter::expanded_node_id(const ExpandedNodeId& n) {
  const std::size_t at = buf_.size();
  node_id(n.node);
  uint8_t flags = 0;
  if (!n.namespace_uri.empty()) flags |= 0x80;
  if (n.server_index) flags |= 0x40;
  buf_[at] = static_cast<char>(static_cast<uint8_t>(buf_[at]) | flags);
  if (!n.namespace_uri.empty()) string(n.namespace_uri);
  if (n.server_index) u32(n.server_index);
}

void UaWriter::qualified_name(const QualifiedName& q) {
  u16(q.ns);
  if (q.name.empty()) null_string(); else string(q.name);  // null: "no data encoding" in ReadValueId
}

void UaWriter::localized_text(const LocalizedText& t) {
  u8(static_cast<uint8_t>((t.locale.empty() ? 0 : 1) | (t.text.empty() ? 0 : 2)));
  if (!t.locale.empty()) string(t.locale);
  if (!t.text.empty()) string(t.text);
}

void UaWriter::variant(const Variant& v) {
  auto scalar = [this](const Variant& x) {
    switch (x.type) {
      case VariantType::kBoolean: boolean(x.i != 0); break;
      case VariantType::kSByte: u8(static_cast<uint8_t>(static_cast<int8_t>(x.i))); break;
      case VariantType::kByte: u8(static_cast<uint8_t>(x.u)); break;
      case VariantType::kInt16: u16(static_cast<uint16_t>(static_cast<int16_t>(x.i))); break;
      case VariantType::kUInt16: u16(static_cast<uint16_t>(x.u)); break;
      case VariantType::kInt32: i32(static_cast<int32_t>(x.i)); break;
      case VariantType::kUInt32:
      case VariantType::kStatusCode: u32(static_cast<uint32_t>(x.u)); break;
      case VariantType::kInt64:
      case VariantType::kDateTime: i64(x.i); break;
      case VariantType::kUInt64: u64(x.u); break;
      case VariantType::kFloat: f32(static_cast<float>(x.d)); break;
      case VariantType::kDouble: f64(x.d); break;
      case VariantType::kString:
      case VariantType::kByteString:
      case VariantType::kXmlElement: string(x.text); break;
      case VariantType::kLocalizedText: localized_text({"", x.text}); break;
      default: break;  // other types are not written by this client
    }
  };
  if (v.type == VariantType::kNull) {
    u8(0);
    return;
  }
  if (v.is_array) {
    u8(static_cast<uint8_t>(static_cast<uint8_t>(v.type) | 0x80));
    i32(static_cast<int32_t>(v.items.size()));
    for (const Variant& x : v.items) scalar(x);
    return;
  }
  u8(static_cast<uint8_t>(v.type));
  scalar(v);
}

void UaWriter::data_value(const DataValue& v) {
  uint8_t mask = 0;
  if (v.has_value) mask |= 0x01;
  if (v.status) mask |= 0x02;
  if (v.source_ts) mask |= 0x04;
  if (v.server_ts) mask |= 0x08;
  u8(mask);
  if (v.has_value) variant(v.value);
  if (v.status) u32(v.status);
  if (v.source_ts) date_time(v.source_ts);
  if (v.server_ts) date_time(v.server_ts);
}

void UaWriter::extension_object(const ExtensionObject& e) {
  node_id(e.type_id);
  u8(e.encoding);
  if (e.encoding != 0) string(e.body);
}

// ---- reader ------------------------------------------------------------------------------

void UaReader::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why) + " at byte " + std::to_string(pos_);
  pos_ = data_.size();
}

Status UaReader::finish(std::string_view what) {
  if (!ok()) return make_error(Errc::kParse, std::string(what) + ": " + error_);
  if (remaining() != 0) {
    return make_error(Errc::kParse, std::string(what) + ": " + std::to_string(remaining()) + " bytes left over");
  }
  return Status::Ok();
}

bool UaReader::need(std::size_t n) {
  if (!ok()) return false;
  if (remaining() < n) {
    fail("truncated: need " + std::to_string(n) + " bytes, have " + std::to_string(remaining()));
    return false;
  }
  return true;
}

uint8_t UaReader::u8() {
  if (!need(1)) return 0;
  return static_cast<uint8_t>(data_[pos_++]);
}
uint16_t UaReader::u16() {
  if (!need(2)) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + pos_);
  pos_ += 2;
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t UaReader::u32() {
  if (!need(4)) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + pos_);
  pos_ += 4;
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t UaReader::u64() {
  const uint64_t lo = u32();
  const uint64_t hi = u32();
  return lo | (hi << 32);
}
float UaReader::f32() {
  const uint32_t b = u32();
  float v;
  std::memcpy(&v, &b, 4);
  return v;
}
double UaReader::f64() {
  const uint64_t b = u64();
  double v;
  std::memcpy(&v, &b, 8);
  return v;
}

std::string_view UaReader::bytes(std::size_t n) {
  if (!need(n)) return {};
  const std::string_view out = data_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::string UaReader::string() {
  const int32_t n = i32();
  if (!ok() || n <= 0) {
    if (n < -1) fail("negative string length " + std::to_string(n));
    return {};
  }
  return std::string(bytes(static_cast<std::size_t>(n)));
}

uint32_t UaReader::array_length(std::size_t min_element_size) {
  const int32_t n = i32();
  if (!ok()) return 0;
  if (n < -1) {
    fail("negative array length " + std::to_string(n));
    return 0;
  }
  if (n <= 0) return 0;
  if (static_cast<std::size_t>(n) > remaining() / (min_element_size ? min_element_size : 1)) {
    fail("array length " + std::to_string(n) + " exceeds the message");
    return 0;
  }
  return static_cast<uint32_t>(n);
}

NodeId UaReader::node_id() {
  NodeId n;
  const uint8_t enc = u8() & 0x3F;  // ExpandedNodeId flags are read by the caller
  switch (enc) {
    case 0x00: n.numeric = u8(); break;
    case 0x01: n.ns = u8(); n.numeric = u16(); break;
    case 0x02: n.ns = u16(); n.numeric = u32(); break;
    case 0x03: n.ns = u16(); n.kind = NodeId::Kind::kString; n.bytes = string(); break;
    case 0x04: n.ns = u16(); n.kind = NodeId::Kind::kGuid; n.bytes = std::string(bytes(kGuidSize)); break;
    case 0x05: n.ns = u16(); n.kind = NodeId::Kind::kOpaque; n.bytes = string(); break;
    default: fail("unknown NodeId encoding " + std::to_string(enc));
  }
  return n;
}

ExpandedNodeId UaReader::expanded_node_id() {
  ExpandedNodeId e;
  if (!need(1)) return e;
  const uint8_t flags = static_cast<uint8_t>(data_[pos_]);
  e.node = node_id();
  if (flags & 0x80) e.namespace_uri = string();
  if (flags & 0x40) e.server_index = u32();
  return e;
}

QualifiedName UaReader::qualified_name() {
  QualifiedName q;
  q.ns = u16();
  q.name = string();
  return q;
}

LocalizedText UaReader::localized_text() {
  LocalizedText t;
  const uint8_t mask = u8();
  if (mask & 0x01) t.locale = string();
  if (mask & 0x02) t.text = string();
  return t;
}

ExtensionObject UaReader::extension_object() {
  ExtensionObject e;
  e.type_id = node_id();
  e.encoding = u8();
  if (e.encoding == 1 || e.encoding == 2) {
    e.body = string();
  } else if (e.encoding != 0) {
    fail("unknown ExtensionObject encoding " + std::to_string(e.encoding));
  }
  return e;
}

void UaReader::scalar(VariantType t, Variant& v) {
  switch (t) {
    case VariantType::kBoolean: v.i = u8() ? 1 : 0; break;
    case VariantType::kSByte: v.i = static_cast<int8_t>(u8()); break;
    case VariantType::kByte: v.u = u8(); break;
    case VariantType::kInt16: v.i = static_cast<int16_t>(u16()); break;
    case VariantType::kUInt16: v.u = u16(); break;
    case VariantType::kInt32: v.i = i32(); break;
    case VariantType::kUInt32:
    case VariantType::kStatusCode: v.u = u32(); break;
    case VariantType::kInt64:
    case VariantType::kDateTime: v.i = i64(); break;
    case VariantType::kUInt64: v.u = u64(); break;
    case VariantType::kFloat: v.d = f32(); break;
    case VariantType::kDouble: v.d = f64(); break;
    case VariantType::kString:
    case VariantType::kByteString:
    case VariantType::kXmlElement: v.text = string(); break;
    case VariantType::kGuid: v.text = std::string(bytes(kGuidSize)); break;
    case VariantType::kNodeId: v.text = node_id().to_string(); break;
    case VariantType::kExpandedNodeId: v.text = expanded_node_id().node.to_string(); break;
    case VariantType::kQualifiedName: v.text = qualified_name().name; break;
    case VariantType::kLocalizedText: v.text = localized_text().text; break;
    case VariantType::kExtensionObject: v.text = extension_object().body; break;
    case VariantType::kDataValue: {
      DataValue inner = data_value();
      v.items.push_back(std::move(inner.value));
      break;
    }
    case VariantType::kVariant: v.items.push_back(variant()); break;
    case VariantType::kDiagnosticInfo: skip_diagnostic_info(); break;
    default: fail("unknown Variant type " + std::to_string(static_cast<int>(t)));
  }
}

Variant UaReader::variant() {
  Variant v;
  if (++depth_ > kMaxDepth) {
    fail("Variant nested too deep");
    --depth_;
    return v;
  }
  const uint8_t mask = u8();
  const uint8_t type_id = mask & 0x3F;
  if (type_id > static_cast<uint8_t>(VariantType::kDiagnosticInfo)) {
    fail("unknown Variant type " + std::to_string(type_id));
    --depth_;
    return v;
  }
  v.type = static_cast<VariantType>(type_id);
  if (mask & 0x80) {
    v.is_array = true;
    const uint32_t n = array_length(1);
    v.items.reserve(n);
    for (uint32_t k = 0; k < n && ok(); ++k) {
      Variant x;
      x.type = v.type;
      scalar(v.type, x);
      v.items.push_back(std::move(x));
    }
    if (mask & 0x40) {  // ArrayDimensions: flattened
      const uint32_t dims = array_length(4);
      for (uint32_t k = 0; k < dims && ok(); ++k) (void)i32();
    }
  } else if (v.type != VariantType::kNull) {
    scalar(v.type, v);
  }
  --depth_;
  return v;
}

DataValue UaReader::data_value() {
  DataValue v;
  if (++depth_ > kMaxDepth) {
    fail("DataValue nested too deep");
    --depth_;
    return v;
  }
  const uint8_t mask = u8();
  if (mask & 0x01) {
    v.has_value = true;
    v.value = variant();
  }
  if (mask & 0x02) v.status = u32();
  if (mask & 0x04) v.source_ts = date_time();
  if (mask & 0x10) (void)u16();  // source picoseconds
  if (mask & 0x08) v.server_ts = date_time();
  if (mask & 0x20) (void)u16();  // server picoseconds
  --depth_;
  return v;
}

void UaReader::skip_diagnostic_info() {
  if (++depth_ > kMaxDepth) {
    fail("DiagnosticInfo nested too deep");
    --depth_;
    return;
  }
  const uint8_t mask = u8();
  if (mask & 0x01) (void)i32();  // SymbolicId
  if (mask & 0x02) (void)i32();  // NamespaceUri
  if (mask & 0x08) (void)i32();  // Locale
  if (mask & 0x04) (void)i32();  // LocalizedText
  if (mask & 0x10) (void)string();  // AdditionalInfo
  if (mask & 0x20) (void)u32();  // InnerStatusCode
  if (mask & 0x40) skip_diagnostic_info();
  --depth_;
}

std::vector<uint32_t> UaReader::status_codes() {
  const uint32_t n = array_length(4);
  std::vector<uint32_t> out;
  out.reserve(n);
  for (uint32_t k = 0; k < n && ok(); ++k) out.push_back(u32());
  return out;
}

void UaReader::skip_diagnostic_infos() {
  const uint32_t n = array_length(1);
  for (uint32_t k = 0; k < n && ok(); ++k) skip_diagnostic_info();
}

// ---- base64 ------------------------------------------------------------------------------

std::string base64_encode(std::string_view in) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16) |
                       (static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8) | static_cast<uint8_t>(in[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(v >> (6 * k)) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) return make_error(Errc::kParse, "invalid base64 character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace edgeloop::opcua
