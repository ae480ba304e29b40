#include "codecs/json_samples_codec.h"

#include "codecs/json_type_phrase.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace edgeloop {

namespace sj = simdjson;
namespace od = simdjson::ondemand;

const OptionTable& json_samples_codec_options() {
  static const OptionTable table = {
      {.name = "sample_rate", .type = OptionType::kNumber, .default_value = "0",
       .description = "Samples per second. 0: every payload must carry it (member `sample_rate_field`); a payload "
                      "that carries it overrides this.",
       .min = 0, .max = 1e9},
      {.name = "samples_field", .type = OptionType::kString, .default_value = "samples",
       .description = "Member of an object payload that holds the array of samples (numbers)."},
      {.name = "sample_rate_field", .type = OptionType::kString, .default_value = "sample_rate",
       .description = "Member of an object payload that may hold the sample rate in Hz."},
      {.name = "timestamp", .type = OptionType::kString, .default_value = "ts",
       .description = "Member of an object payload with the time of the first sample (a number; without it, or for "
                      "a bare array, the receive time). `\"\"`: always the receive time."},
      {.name = "timestamp_unit", .type = OptionType::kString, .default_value = "auto",
       .description = "Unit of the timestamp; `auto` picks it by magnitude as codec.json does.",
       .choices = {"auto", "ns", "us", "ms", "s"}},
      {.name = "values", .type = OptionType::kList,
       .description = "Numeric members of an object payload carried as the record's fields, in order (at most 16), "
                      "e.g. `[rpm]` for op.envelope's `shaft_field`. Each must be present and a number."},
      {.name = "max_samples", .type = OptionType::kInt, .default_value = "1048576",
       .description = "Most samples one payload may hold; more is rejected (`too_large`).", .min = 1, .max = 1 << 26},
      {.name = "max_payload", .type = OptionType::kSize, .default_value = "16MiB",
       .description = "Largest payload accepted; a larger one is rejected (`too_large`) without being parsed.",
       .min = 1, .max = 1024.0 * 1024 * 1024},
  };
  return table;
}

Result<JsonSamplesConfig> json_samples_codec_config(const Options& options) {
  JsonSamplesConfig c;
  c.sample_rate_hz = options.number("sample_rate");
  c.samples = options.str("samples_field");
  c.sample_rate = options.str("sample_rate_field");
  c.timestamp = options.str("timestamp");
  auto unit = parse_timestamp_unit(options.str("timestamp_unit"));
  if (!unit.ok()) return options.error("timestamp_unit", unit.error().message);
  c.timestamp_unit = *unit;
  c.values = options.list("values");
  c.max_samples = static_cast<std::size_t>(options.integer("max_samples"));
  c.max_payload = static_cast<std::size_t>(options.size_bytes("max_payload"));
  return c;
}

struct JsonSamplesCodec::Impl {
  JsonSamplesConfig config;
  Schema schema;
  od::parser parser;
  std::unique_ptr<char[]> buf;
  std::size_t cap = 0;
  std::vector<float> scratch;  // the samples of the payload being decoded

  Status read_samples(od::array arr);
  static Error malformed(sj::error_code err, std::string_view where) {
    return make_error(Errc::kParse, "malformed JSON" + std::string(where) + ": " + sj::error_message(err));
  }
};

Status JsonSamplesCodec::Impl::read_samples(od::array arr) {
  scratch.clear();
  std::size_t i = 0;
  for (auto item : arr) {
    od::value v;
    if (auto err = std::move(item).get(v)) return malformed(err, " in the samples at index " + std::to_string(i));
    double d = 0;
    if (auto err = v.get_double().get(d)) {
      // get_double() reports a string or a literal as a bad number: ask for the type.
      od::json_type t{};
      if (v.type().get(t) == sj::SUCCESS && t != od::json_type::number)
        return make_error(Errc::kTypeMismatch,
                          "sample " + std::to_string(i) + " is " + json_type_phrase(t) + ", expected a number");
      return malformed(err, " in the samples at index " + std::to_string(i));
    }
    if (scratch.size() >= config.max_samples)
      return make_error(Errc::kTooLarge, "more than max_samples (" + std::to_string(config.max_samples) + ") samples");
    scratch.push_back(static_cast<float>(d));
    ++i;
  }
  if (scratch.empty()) return make_error(Errc::kInvalidArgument, "no samples (an empty array)");
  return Status::Ok();
}

Result<std::unique_ptr<JsonSamplesCodec>> JsonSamplesCodec::create(JsonSamplesConfig config) {
  if (config.values.size() > kMaxFields)
    return make_error(Errc::kInvalidArgument, "at most " + std::to_string(kMaxFields) + " values, got " +
                                                  std::to_string(config.values.size()));
  if (config.samples.empty()) return make_error(Errc::kInvalidArgument, "samples_field cannot be empty");
  if (config.max_payload == 0 || config.max_samples == 0)
    return make_error(Errc::kInvalidArgument, "max_payload and max_samples must be at least 1");
  for (std::size_t i = 0; i < config.values.size(); ++i) {
    const std::string& v = config.values[i];
    if (v.empty() || v == config.samples || v == config.timestamp || v == config.sample_rate)
      return make_error(Errc::kInvalidArgument, "value member '" + v + "' is empty or already used");
    for (std::size_t j = 0; j < i; ++j)
      if (config.values[j] == v) return make_error(Errc::kInvalidArgument, "value member '" + v + "' is listed twice");
  }
  auto impl = std::make_unique<Impl>();
  impl->schema = Schema(config.values);
  impl->config = std::move(config);
  return std::unique_ptr<JsonSamplesCodec>(new JsonSamplesCodec(std::move(impl)));
}

Result<std::unique_ptr<JsonSamplesCodec>> JsonSamplesCodec::from_options(const Options& options) {
  auto config = json_samples_codec_config(options);
  if (!config.ok()) return config.take_error();
  auto codec = create(std::move(config).value());
  if (!codec.ok()) return options.error("values", codec.error().message);
  return codec;
}

JsonSamplesCodec::JsonSamplesCodec(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonSamplesCodec::~JsonSamplesCodec() = default;
const Schema& JsonSamplesCodec::schema() const { return impl_->schema; }

Status JsonSamplesCodec::decode(std::string_view payload, int64_t recv_ns, std::vector<Record>& out) {
  Impl& m = *impl_;
  const JsonSamplesConfig& c = m.config;
  if (payload.empty()) return make_error(Errc::kParse, "malformed JSON: empty payload");
  if (payload.size() > c.max_payload) {
    return make_error(Errc::kTooLarge, "payload of " + std::to_string(payload.size()) +
                                           " bytes is larger than max_payload (" + std::to_string(c.max_payload) +
                                           " bytes)");
  }
  // simdjson reads up to SIMDJSON_PADDING bytes past the end: copy into a buffer that has them.
  const std::size_t need = payload.size() + sj::SIMDJSON_PADDING;
  if (need > m.cap) {
    m.cap = std::max(need, std::min(2 * m.cap, c.max_payload + sj::SIMDJSON_PADDING));
    m.buf = std::make_unique<char[]>(m.cap);
  }
  std::memcpy(m.buf.get(), payload.data(), payload.size());
  std::memset(m.buf.get() + payload.size(), 0, sj::SIMDJSON_PADDING);

  od::document doc;
  if (auto err = m.parser.iterate(sj::padded_string_view(m.buf.get(), payload.size(), m.cap)).get(doc)) {
    if (err == sj::EMPTY) return make_error(Errc::kParse, "malformed JSON: empty payload");
    return Impl::malformed(err, "");
  }
  od::json_type type{};
  if (auto err = doc.type().get(type)) return Impl::malformed(err, "");

  double rate = c.sample_rate_hz;
  int64_t ts = recv_ns;
  std::array<double, kMaxFields> f{};
  uint32_t found = 0;
  bool have_samples = false;
  if (type == od::json_type::array) {
    if (!c.values.empty())
      return make_error(Errc::kNotFound, "a bare array carries no values (" + c.values.front() + "): send an object");
    od::array arr;
    if (auto err = doc.get_array().get(arr)) return Impl::malformed(err, "");
    EDGELOOP_TRY(m.read_samples(arr));
    have_samples = true;
  } else if (type == od::json_type::object) {
    od::object obj;
    if (auto err = doc.get_object().get(obj)) return Impl::malformed(err, "");
    for (auto field_result : obj) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return Impl::malformed(err, "");
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return Impl::malformed(err, "");
      od::value v = field.value();
      if (key == c.samples) {
        od::array arr;
        if (auto err = v.get_array().get(arr)) {
          if (err != sj::INCORRECT_TYPE) return Impl::malformed(err, "");
          od::json_type t{};
          const char* what = v.type().get(t) == sj::SUCCESS ? json_type_phrase(t) : "not an array";
          return make_error(Errc::kTypeMismatch, "field '" + c.samples + "' is " + what + ", expected an array of numbers");
        }
        EDGELOOP_TRY(m.read_samples(arr));
        have_samples = true;
        continue;
      }
      const bool is_ts = !c.timestamp.empty() && key == c.timestamp;
      const bool is_rate = key == c.sample_rate;
      int value_index = -1;
      for (std::size_t i = 0; i < c.values.size(); ++i)
        if (key == c.values[i]) value_index = static_cast<int>(i);
      if (!is_ts && !is_rate && value_index < 0) continue;  // skipped with structural checks only
      od::json_type t{};
      if (auto err = v.type().get(t)) return Impl::malformed(err, "");
      if (t != od::json_type::number)
        return make_error(Errc::kTypeMismatch, "field '" + std::string(key) + "' is " + json_type_phrase(t) + ", expected a number");
      od::number_type nt{};
      if (auto err = v.get_number_type().get(nt)) return Impl::malformed(err, "");
      if (is_ts) {
        Result<int64_t> ns = make_error(Errc::kInternal, "");
        if (nt == od::number_type::signed_integer) {
          int64_t i = 0;
          if (auto err = v.get_int64().get(i)) return Impl::malformed(err, "");
          ns = timestamp_to_ns(i, c.timestamp_unit);
        } else {
          double d = 0;
          if (auto err = v.get_double().get(d)) return Impl::malformed(err, "");
          ns = timestamp_to_ns(d, c.timestamp_unit);
        }
        if (!ns.ok()) return ns.take_error();
        ts = *ns;
        continue;
      }
      double d = 0;
      if (auto err = v.get_double().get(d)) return Impl::malformed(err, "");
      if (is_rate) {
        if (!(d > 0) || !std::isfinite(d))
          return make_error(Errc::kInvalidArgument, "sample rate " + std::to_string(d) + " is not a positive number");
        rate = d;
      } else {
        f[static_cast<std::size_t>(value_index)] = d;
        found |= 1u << value_index;
      }
    }
  } else {
    return make_error(Errc::kTypeMismatch,
                      std::string("payload is ") + json_type_phrase(type) + ", expected an array of numbers or an object");
  }
  // On-demand stops where the value ends: anything after it is an error, not ignored.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == sj::SUCCESS)
    return make_error(Errc::kParse, "malformed JSON: unexpected content after the value at byte " +
                                        std::to_string(rest - m.buf.get()));
  if (!have_samples) return make_error(Errc::kNotFound, "missing field '" + c.samples + "'");
  for (std::size_t i = 0; i < c.values.size(); ++i)
    if (!(found & (1u << i))) return make_error(Errc::kNotFound, "missing field '" + c.values[i] + "'");
  if (!(rate > 0))
    return make_error(Errc::kNotFound, "no sample rate: the payload has no '" + c.sample_rate +
                                           "' and the codec's sample_rate is not set");

  auto block = std::make_shared<SampleBlock>();
  block->sample_rate_hz = rate;
  block->samples.assign(m.scratch.begin(), m.scratch.end());
  Record& r = out.emplace_back();
  r.ts_ns = ts;
  r.recv_ns = recv_ns;
  r.nfields = static_cast<uint8_t>(c.values.size());
  r.f = f;
  r.block = std::move(block);
  return Status::Ok();
}

}  // namespace edgeloop
