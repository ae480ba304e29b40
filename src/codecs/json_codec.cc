#include "codecs/json_codec.h"

#include "codecs/json_type_phrase.h"

#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "codecs/json_path.h"

namespace edgeloop {

namespace sj = simdjson;
namespace od = simdjson::ondemand;

// ---------------------------------------------------------------------------------------------
// Timestamps

Result<TimestampUnit> parse_timestamp_unit(std::string_view text) {
  if (text == "auto") return TimestampUnit::kAuto;
  if (text == "ns") return TimestampUnit::kNs;
  if (text == "us") return TimestampUnit::kUs;
  if (text == "ms") return TimestampUnit::kMs;
  if (text == "s") return TimestampUnit::kS;
  return make_error(Errc::kInvalidArgument, "unknown timestamp unit '" + std::string(text) + "' (auto, ns, us, ms, s)");
}

const char* timestamp_unit_name(TimestampUnit unit) {
  switch (unit) {
    case TimestampUnit::kAuto: return "auto";
    case TimestampUnit::kNs: return "ns";
    case TimestampUnit::kUs: return "us";
    case TimestampUnit::kMs: return "ms";
    case TimestampUnit::kS: return "s";
  }
  return "?";
}

// Nanoseconds per unit; kAuto resolved by magnitude (|value| as a double is exact enough to
// pick the unit: the thresholds are far from any rounding).
static int64_t ns_per_unit(TimestampUnit unit, double magnitude) {
  switch (unit) {
    case TimestampUnit::kNs: return 1;
    case TimestampUnit::kUs: return 1'000;
    case TimestampUnit::kMs: return 1'000'000;
    case TimestampUnit::kS: return 1'000'000'000;
    case TimestampUnit::kAuto: break;
  }
  if (magnitude < 1e11) return 1'000'000'000;
  if (magnitude < 1e14) return 1'000'000;
  if (magnitude < 1e17) return 1'000;
  return 1;
}

Result<int64_t> timestamp_to_ns(int64_t value, TimestampUnit unit) {
  const int64_t mult = ns_per_unit(unit, std::fabs(static_cast<double>(value)));
  int64_t ns = 0;
  if (__builtin_mul_overflow(value, mult, &ns)) {
    return make_error(Errc::kTooLarge, "timestamp " + std::to_string(value) + " in " +
                                           (mult == 1'000'000'000 ? "s" : mult == 1'000'000 ? "ms" : "us") +
                                           " is out of the int64 nanosecond range");
  }
  return ns;
}

Result<int64_t> timestamp_to_ns(double value, TimestampUnit unit) {
  if (!std::isfinite(value)) return make_error(Errc::kTooLarge, "timestamp is not a finite number");
  const int64_t mult = ns_per_unit(unit, std::fabs(value));
  const double ns = value * static_cast<double>(mult);
  // 2^63 is exactly representable; anything at or past it does not fit.
  if (!(ns > -9223372036854775808.0 && ns < 9223372036854775808.0)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    return make_error(Errc::kTooLarge, std::string("timestamp ") + buf + " is out of the int64 nanosecond range");
  }
  return static_cast<int64_t>(std::llround(ns));
}

// A decimal number's text (JSON grammar, already validated by simdjson) times `mult` (a power
// of ten), rounded to an integer exactly: "1732540000.123456789" seconds is exact in ns, which
// a double is not. Returns false when it does not fit (the caller then reports the range).
static bool decimal_times_pow10(std::string_view text, int64_t mult, int64_t& out) {
  std::size_t i = 0;
  const bool neg = i < text.size() && text[i] == '-';
  if (neg) ++i;
  uint64_t m = 0;  // up to 19 significant digits
  int sig = 0;
  int exp10 = 0;
  int first_dropped = -1;  // the first digit past the 19th, for rounding
  auto digit = [&](int d, bool fraction) {
    if (m == 0 && d == 0) {
      if (fraction) --exp10;  // a leading zero of the fraction only shifts
      return;
    }
    if (sig < 19) {
      m = m * 10 + static_cast<uint64_t>(d);
      ++sig;
      if (fraction) --exp10;
      return;
    }
    if (first_dropped < 0) first_dropped = d;
    if (!fraction) ++exp10;  // a dropped integer digit still scales
  };
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') digit(text[i++] - '0', false);
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') digit(text[i++] - '0', true);
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) eneg = text[i++] == '-';
    int e = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (e < 10000) e = e * 10 + (text[i] - '0');
      ++i;
    }
    exp10 += eneg ? -e : e;
  }
  for (int64_t k = mult; k > 1; k /= 10) ++exp10;
  uint64_t mag = 0;
  if (m == 0) {
    mag = 0;
  } else if (exp10 >= 0) {
    if (exp10 > 19) return false;
    mag = m;
    for (int k = 0; k < exp10; ++k)
      if (__builtin_mul_overflow(mag, uint64_t{10}, &mag)) return false;
    if (exp10 == 0 && first_dropped >= 5 && __builtin_add_overflow(mag, uint64_t{1}, &mag)) return false;
  } else if (exp10 < -19) {
    mag = 0;  // m < 1e19: rounds to zero
  } else {
    uint64_t div = 1;
    for (int k = 0; k < -exp10; ++k) div *= 10;
    mag = m / div;
    if (m % div >= div - m % div) ++mag;  // half away from zero, without overflow
  }
  if (mag > (neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1)) return false;
  out = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Options

const OptionTable& json_codec_options() {
  static const OptionTable table = {
      {"timestamp", OptionType::kString, "ts",
       "Field path of the event time: dotted (`a.b.ts`) or a JSON pointer (`/a/b/ts`). An empty string "
       "(`\"\"`) uses the receive time. The value must be a JSON number; integers are taken exactly."},
      {"timestamp_unit", OptionType::kString, "auto",
       "Unit of the timestamp. `auto` picks it by magnitude: below 1e11 seconds, below 1e14 milliseconds, "
       "below 1e17 microseconds, else nanoseconds.",
       false, -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
       {"auto", "ns", "us", "ms", "s"}},
      {"values", OptionType::kAny, "v",
       "The numeric fields to read, in order (at most 16): a path, a list of paths, or `{name: path}` entries "
       "(in a list or as a map). A path's field name is its last segment. Each must be a JSON number; "
       "strings, booleans and null are type errors."},
      {"max_payload", OptionType::kSize, "64KiB",
       "Largest payload accepted; a larger one is rejected (reason `too_large`) without being parsed.",
       false, 1, 1024.0 * 1024 * 1024},
  };
  return table;
}

static Status add_value_entry(std::vector<JsonValueField>& out, const ConfigNode& item, const Options& options) {
  if (item.is_scalar()) {
    auto segs = parse_field_path(item.str());
    if (!segs.ok()) return options.error("values", segs.error().message);
    out.push_back({segs->back(), item.str()});
    return Status::Ok();
  }
  if (item.is_map()) {
    for (const auto& [name, path] : item.entries()) {
      if (!path.is_scalar()) {
        return options.error("values", "the path of value '" + name + "' must be a string, got " + path.kind_name());
      }
      if (name.empty()) return options.error("values", "a value name cannot be empty");
      out.push_back({name, path.str()});
    }
    return Status::Ok();
  }
  return options.error("values", std::string("expected a path or {name: path}, got ") + item.kind_name());
}

Result<JsonCodecConfig> json_codec_config(const Options& options) {
  JsonCodecConfig c;
  c.timestamp = options.str("timestamp");
  auto unit = parse_timestamp_unit(options.str("timestamp_unit"));
  if (!unit.ok()) return options.error("timestamp_unit", unit.error().message);
  c.timestamp_unit = *unit;
  c.max_payload = static_cast<std::size_t>(options.size_bytes("max_payload"));
  c.values.clear();
  const ConfigNode* node = options.node("values");
  if (node && node->is_sequence()) {
    for (const auto& item : node->items()) EDGELOOP_TRY(add_value_entry(c.values, item, options));
  } else if (node) {
    EDGELOOP_TRY(add_value_entry(c.values, *node, options));
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// The decoder

namespace {

constexpr int kTimestampTarget = kMaxFields;  // targets below are values, this one the timestamp

// One member name of a compiled path; the paths form a tree so that one pass over each
// object finds every field, in whatever order the payload has them.
struct PathNode {
  std::string segment;
  int target = -1;            // -1: an inner node (an object expected)
  std::vector<int> children;  // indices into nodes_
  std::string path_text;      // the path up to here, for messages
};

struct Slots {
  int64_t ts = 0;
  std::array<double, kMaxFields> f{};
  uint32_t found = 0;
};

}  // namespace

struct JsonCodec::Impl {
  JsonCodecConfig config;
  Schema schema;
  std::vector<PathNode> nodes;  // nodes[0] is the root
  uint32_t all_targets = 0;
  std::vector<std::string> target_text;  // per target bit: the path, for "missing field"
  od::parser parser;
  std::unique_ptr<char[]> buf;
  std::size_t cap = 0;
  const char* base = nullptr;  // start of the current payload in buf

  Status build();
  Status add_path(const std::string& path, int target);
  Status decode_object(od::object obj, int node, Slots& s);
  Status read_target(const PathNode& n, od::value& v, Slots& s);
  int match(const PathNode& parent, od::field& field);
  od::document* doc = nullptr;  // the payload being decoded, for error locations
  // A parse error, located where the iterator stopped.
  Error malformed(sj::error_code err);
  std::size_t offset_of(const char* p) const { return static_cast<std::size_t>(p - base); }
};

Status JsonCodec::Impl::add_path(const std::string& path, int target) {
  auto segs = parse_field_path(path);
  if (!segs.ok()) return segs.error();
  int cur = 0;
  std::string text;
  for (std::size_t i = 0; i < segs->size(); ++i) {
    const std::string& seg = (*segs)[i];
    text += (i ? "." : "") + seg;
    int next = -1;
    for (int c : nodes[static_cast<std::size_t>(cur)].children)
      if (nodes[static_cast<std::size_t>(c)].segment == seg) next = c;
    const bool last = i + 1 == segs->size();
    if (next < 0) {
      if (nodes[static_cast<std::size_t>(cur)].target >= 0) {
        return make_error(Errc::kInvalidArgument, "path '" + path + "' goes inside '" +
                                                      nodes[static_cast<std::size_t>(cur)].path_text +
                                                      "', which is itself a field read as a number");
      }
      nodes.push_back(PathNode{seg, -1, {}, text});
      next = static_cast<int>(nodes.size() - 1);
      nodes[static_cast<std::size_t>(cur)].children.push_back(next);
    } else if (last) {
      const PathNode& n = nodes[static_cast<std::size_t>(next)];
      return make_error(Errc::kInvalidArgument, n.target >= 0 ? "path '" + path + "' is read twice"
                                                              : "path '" + path + "' is a prefix of another path");
    } else if (nodes[static_cast<std::size_t>(next)].target >= 0) {
      return make_error(Errc::kInvalidArgument, "path '" + path + "' goes inside '" + text +
                                                    "', which is itself a field read as a number");
    }
    cur = next;
  }
  nodes[static_cast<std::size_t>(cur)].target = target;
  target_text[static_cast<std::size_t>(target)] = field_path_text(*segs);
  all_targets |= 1u << target;
  return Status::Ok();
}

Status JsonCodec::Impl::build() {
  if (config.values.empty()) return make_error(Errc::kInvalidArgument, "at least one value field is needed");
  if (config.values.size() > kMaxFields) {
    return make_error(Errc::kInvalidArgument, "at most " + std::to_string(kMaxFields) + " value fields, got " +
                                                  std::to_string(config.values.size()));
  }
  if (config.max_payload == 0) return make_error(Errc::kInvalidArgument, "max_payload must be at least 1 byte");
  nodes.push_back(PathNode{});
  target_text.resize(kMaxFields + 1);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < config.values.size(); ++i) {
    const auto& v = config.values[i];
    for (const auto& n : names)
      if (n == v.name) {
        return make_error(Errc::kInvalidArgument,
                          "value name '" + v.name + "' appears twice (name one of them: {other_name: " + v.path + "})");
      }
    names.push_back(v.name);
    EDGELOOP_TRY(add_path(v.path, static_cast<int>(i)));
  }
  if (!config.timestamp.empty()) EDGELOOP_TRY(add_path(config.timestamp, kTimestampTarget));
  schema = Schema(std::move(names));
  return Status::Ok();
}

Error JsonCodec::Impl::malformed(sj::error_code err) {
  const char* where = nullptr;
  if (!doc || doc->current_location().get(where) != sj::SUCCESS) where = nullptr;
  std::string msg = "malformed JSON";
  if (where) msg += " at byte " + std::to_string(offset_of(where));
  else msg += " at the end";
  msg += ": ";
  msg += sj::error_message(err);
  return make_error(Errc::kParse, std::move(msg));
}

int JsonCodec::Impl::match(const PathNode& parent, od::field& field) {
  od::raw_json_string raw = field.key();
  for (int c : parent.children)
    if (raw.unsafe_is_equal(nodes[static_cast<std::size_t>(c)].segment)) return c;
  // A key with escapes ("\u0074s") only matches once unescaped: the slow path, rare.
  const char* p = raw.raw();
  while (*p != '"' && *p != '\\') ++p;  // stage 1 validated that the string closes
  if (*p != '\\') return -1;
  std::string_view key;
  if (field.unescaped_key().get(key) != sj::SUCCESS) return -1;
  for (int c : parent.children)
    if (nodes[static_cast<std::size_t>(c)].segment == key) return c;
  return -1;
}

Status JsonCodec::Impl::read_target(const PathNode& n, od::value& v, Slots& s) {
  od::json_type type;
  if (auto err = v.type().get(type)) return malformed(err);
  const bool is_ts = n.target == kTimestampTarget;
  if (type != od::json_type::number) {
    // type() only peeks at the first byte: make sure "tru" or "nul" read as malformed.
    if (type == od::json_type::boolean) {
      bool b = false;
      if (auto err = v.get_bool().get(b)) return malformed(err);
    } else if (type == od::json_type::null) {
      bool null = false;
      if (auto err = v.is_null().get(null)) return malformed(err);
      if (!null) return malformed(sj::INCORRECT_TYPE);
    }
    return make_error(Errc::kTypeMismatch,
                      std::string(is_ts ? "timestamp field '" : "field '") + n.path_text + "' is " + json_type_phrase(type) +
                          (is_ts ? ", expected an integer or a number" : ", expected a number"));
  }
  if (!is_ts) {
    double d = 0;
    if (auto err = v.get_double().get(d)) return malformed(err);
    s.f[static_cast<std::size_t>(n.target)] = d;
  } else {
    od::number_type nt;
    if (auto err = v.get_number_type().get(nt)) return malformed(err);
    Result<int64_t> ns = int64_t{0};
    if (nt == od::number_type::signed_integer) {
      int64_t i = 0;
      if (auto err = v.get_int64().get(i)) return malformed(err);
      ns = timestamp_to_ns(i, config.timestamp_unit);
    } else if (nt == od::number_type::unsigned_integer) {
      uint64_t u = 0;
      if (auto err = v.get_uint64().get(u)) return malformed(err);
      return make_error(Errc::kTooLarge, "timestamp field '" + n.path_text + "' value " + std::to_string(u) +
                                             " is out of the int64 range");
    } else {
      double d = 0;
      if (auto err = v.get_double().get(d)) return malformed(err);
      const int64_t mult = ns_per_unit(config.timestamp_unit, std::fabs(d));
      int64_t exact = 0;
      if (std::isfinite(d) && decimal_times_pow10(v.raw_json_token(), mult, exact)) ns = exact;
      else ns = timestamp_to_ns(d, config.timestamp_unit);
    }
    if (!ns.ok()) return make_error(ns.error().code, "timestamp field '" + n.path_text + "': " + ns.error().message);
    s.ts = *ns;
  }
  s.found |= 1u << n.target;
  return Status::Ok();
}

Status JsonCodec::Impl::decode_object(od::object obj, int node_index, Slots& s) {
  const PathNode& node = nodes[static_cast<std::size_t>(node_index)];
  for (auto field_result : obj) {
    od::field field;
    if (auto err = std::move(field_result).get(field)) return malformed(err);
    const int child = match(node, field);
    if (child < 0) continue;  // not ours: the iteration skips its value
    const PathNode& c = nodes[static_cast<std::size_t>(child)];
    od::value v = field.value();
    if (c.target >= 0) {
      EDGELOOP_TRY(read_target(c, v, s));
      continue;
    }
    od::json_type type;
    if (auto err = v.type().get(type)) return malformed(err);
    if (type != od::json_type::object) {
      return make_error(Errc::kTypeMismatch, "field '" + c.path_text + "' is " + json_type_phrase(type) + ", expected an object");
    }
    od::object sub;
    if (auto err = v.get_object().get(sub)) return malformed(err);
    EDGELOOP_TRY(decode_object(sub, child, s));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------

JsonCodec::JsonCodec(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonCodec::~JsonCodec() = default;

Result<std::unique_ptr<JsonCodec>> JsonCodec::create(JsonCodecConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  EDGELOOP_TRY(impl->build());
  return std::unique_ptr<JsonCodec>(new JsonCodec(std::move(impl)));
}

Result<std::unique_ptr<JsonCodec>> JsonCodec::from_options(const Options& options) {
  EDGELOOP_ASSIGN_OR_RETURN(JsonCodecConfig config, json_codec_config(options));
  auto codec = create(std::move(config));
  if (!codec.ok()) return options.error("values", codec.error().message);
  return codec;
}

const Schema& JsonCodec::schema() const { return impl_->schema; }
const JsonCodecConfig& JsonCodec::config() const { return impl_->config; }

Status JsonCodec::decode(std::string_view payload, int64_t recv_ns, std::vector<Record>& out) {
  Impl& m = *impl_;
  if (payload.size() > m.config.max_payload) {
    return make_error(Errc::kTooLarge, "payload of " + std::to_string(payload.size()) + " bytes is larger than max_payload (" +
                                           std::to_string(m.config.max_payload) + " bytes)");
  }
  // simdjson reads up to SIMDJSON_PADDING bytes past the end: copy into a buffer that has them.
  const std::size_t need = payload.size() + sj::SIMDJSON_PADDING;
  if (need > m.cap) {
    m.cap = std::max(need, std::min(2 * m.cap, m.config.max_payload + sj::SIMDJSON_PADDING));
    m.buf = std::make_unique<char[]>(m.cap);
  }
  if (!payload.empty()) std::memcpy(m.buf.get(), payload.data(), payload.size());
  std::memset(m.buf.get() + payload.size(), 0, sj::SIMDJSON_PADDING);
  m.base = m.buf.get();

  od::document doc;
  if (auto err = m.parser.iterate(sj::padded_string_view(m.buf.get(), payload.size(), m.cap)).get(doc)) {
    if (err == sj::EMPTY) return make_error(Errc::kParse, "malformed JSON: empty payload");
    m.doc = nullptr;
    return m.malformed(err);
  }
  m.doc = &doc;
  od::json_type type;
  if (auto err = doc.type().get(type)) return m.malformed(err);

  const std::size_t start = out.size();
  const uint8_t nfields = static_cast<uint8_t>(m.config.values.size());
  auto finish = [&](Slots& s, std::size_t index, bool batch) -> Status {
    if (s.found != m.all_targets) {
      for (int t = 0; t <= kTimestampTarget; ++t) {
        const uint32_t bit = 1u << t;
        if ((m.all_targets & bit) && !(s.found & bit)) {
          std::string msg = batch ? "batch element " + std::to_string(index) + ": " : std::string();
          msg += (t == kTimestampTarget ? "missing timestamp field '" : "missing field '") +
                 m.target_text[static_cast<std::size_t>(t)] + "'";
          return make_error(Errc::kNotFound, std::move(msg));
        }
      }
    }
    Record& r = out.emplace_back();
    r.nfields = nfields;
    r.ts_ns = m.config.timestamp.empty() ? recv_ns : s.ts;
    r.recv_ns = recv_ns;
    r.f = s.f;
    return Status::Ok();
  };
  auto fail = [&](Error e) -> Status {
    out.resize(start);
    return e;
  };

  if (type == od::json_type::object) {
    od::object obj;
    if (auto err = doc.get_object().get(obj)) return m.malformed(err);
    Slots s;
    if (Status st = m.decode_object(obj, 0, s); !st.ok()) return fail(st.error());
    if (Status st = finish(s, 0, false); !st.ok()) return fail(st.error());
  } else if (type == od::json_type::array) {
    od::array arr;
    if (auto err = doc.get_array().get(arr)) return m.malformed(err);
    std::size_t index = 0;
    for (auto elem_result : arr) {
      od::value elem;
      if (auto err = std::move(elem_result).get(elem)) return fail(m.malformed(err));
      od::json_type et;
      if (auto err = elem.type().get(et)) return fail(m.malformed(err));
      if (et != od::json_type::object) {
        return fail(make_error(Errc::kTypeMismatch, "batch element " + std::to_string(index) + " is " + json_type_phrase(et) +
                                                        ", expected an object"));
      }
      od::object obj;
      if (auto err = elem.get_object().get(obj)) return fail(m.malformed(err));
      Slots s;
      if (Status st = m.decode_object(obj, 0, s); !st.ok()) {
        Error e = st.error();
        if (e.code != Errc::kParse) e.message = "batch element " + std::to_string(index) + ": " + e.message;
        return fail(std::move(e));
      }
      if (Status st = finish(s, index, true); !st.ok()) return fail(st.error());
      ++index;
    }
  } else {
    // type() only peeks at the first byte: "not json" must read as malformed, not as null.
    sj::error_code err = sj::SUCCESS;
    if (type == od::json_type::boolean) {
      bool b = false;
      err = doc.get_bool().get(b);
    } else if (type == od::json_type::null) {
      bool null = false;
      err = doc.is_null().get(null);
      if (!err && !null) err = sj::INCORRECT_TYPE;
    } else if (type == od::json_type::number) {
      double d = 0;
      err = doc.get_double().get(d);
    } else if (type == od::json_type::string) {
      std::string_view str;
      err = doc.get_string().get(str);
    }
    if (err) return m.malformed(err);
    return make_error(Errc::kTypeMismatch,
                      std::string("payload is ") + json_type_phrase(type) + ", expected an object or an array of objects");
  }
  // On-demand stops where the value ends: anything after it is an error, not ignored.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == sj::SUCCESS) {
    return fail(make_error(Errc::kParse, "malformed JSON: unexpected content after the value at byte " +
                                             std::to_string(m.offset_of(rest))));
  }
  return Status::Ok();
}

}  // namespace edgeloop
