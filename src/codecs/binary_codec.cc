#include "codecs/binary_codec.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <string>

namespace edgeloop {

const OptionTable& binary_codec_options() {
  static const OptionTable table = {
      {.name = "format", .type = OptionType::kString, .default_value = "f32le",
       .description = "Sample encoding: `f32le` (IEEE float32, little-endian) or `i16le` (signed 16-bit, "
                      "little-endian; use `scale` for physical units).",
       .choices = {"f32le", "i16le"}},
      {.name = "sample_rate", .type = OptionType::kNumber, .description = "Samples per second.", .required = true,
       .min = 1e-9, .max = 1e9},
      {.name = "scale", .type = OptionType::kNumber, .default_value = "1",
       .description = "Multiplier applied to every sample (e.g. g per count for int16)."},
      {.name = "header", .type = OptionType::kString, .default_value = "none",
       .description = "`none`: the payload is samples only (ts = receive time). `ts_ns`: it starts with the time "
                      "of the first sample as an 8-byte little-endian int64 of Unix nanoseconds.",
       .choices = {"none", "ts_ns"}},
      {.name = "max_payload", .type = OptionType::kSize, .default_value = "4MiB",
       .description = "Largest payload accepted; a larger one is rejected (`too_large`).", .min = 1,
       .max = 1024.0 * 1024 * 1024},
  };
  return table;
}

Result<std::unique_ptr<BinaryCodec>> BinaryCodec::create(BinaryCodecConfig config) {
  if (!(config.sample_rate_hz > 0) || !std::isfinite(config.sample_rate_hz))
    return make_error(Errc::kInvalidArgument, "sample_rate must be a positive number");
  if (!std::isfinite(config.scale)) return make_error(Errc::kInvalidArgument, "scale must be a finite number");
  if (config.max_payload == 0) return make_error(Errc::kInvalidArgument, "max_payload must be at least 1 byte");
  return std::unique_ptr<BinaryCodec>(new BinaryCodec(config));
}

Result<std::unique_ptr<BinaryCodec>> BinaryCodec::from_options(const Options& options) {
  BinaryCodecConfig c;
  c.format = options.str("format") == "i16le" ? SampleFormat::kI16 : SampleFormat::kF32;
  c.sample_rate_hz = options.number("sample_rate");
  c.scale = options.number("scale");
  c.ts_header = options.str("header") == "ts_ns";
  c.max_payload = static_cast<std::size_t>(options.size_bytes("max_payload"));
  auto codec = create(c);
  if (!codec.ok()) return options.error("sample_rate", codec.error().message);
  return codec;
}

namespace {

template <class U>
U load_le(const char* p) {
  U v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) {
    if constexpr (sizeof(U) == 2) v = __builtin_bswap16(v);
    if constexpr (sizeof(U) == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof(U) == 8) v = __builtin_bswap64(v);
  }
  return v;
}

}  // namespace

Status BinaryCodec::decode(std::string_view payload, int64_t recv_ns, std::vector<Record>& out) {
  if (payload.size() > config_.max_payload) {
    return make_error(Errc::kTooLarge, "payload of " + std::to_string(payload.size()) +
                                           " bytes is larger than max_payload (" + std::to_string(config_.max_payload) +
                                           " bytes)");
  }
  if (payload.empty()) return make_error(Errc::kParse, "empty payload");
  int64_t ts = recv_ns;
  std::size_t offset = 0;
  if (config_.ts_header) {
    if (payload.size() < 8)
      return make_error(Errc::kParse, "payload of " + std::to_string(payload.size()) +
                                          " bytes is shorter than its 8-byte timestamp header");
    ts = static_cast<int64_t>(load_le<uint64_t>(payload.data()));
    offset = 8;
  }
  const std::size_t width = config_.format == SampleFormat::kF32 ? 4 : 2;
  const std::size_t bytes = payload.size() - offset;
  if (bytes == 0) return make_error(Errc::kParse, "no samples after the timestamp header");
  if (bytes % width != 0) {
    return make_error(Errc::kParse, std::to_string(bytes) + " bytes of samples is not a whole number of " +
                                        std::to_string(width) + "-byte " +
                                        (width == 4 ? "float32" : "int16") + " samples");
  }
  const std::size_t n = bytes / width;
  auto block = std::make_shared<SampleBlock>();
  block->sample_rate_hz = config_.sample_rate_hz;
  block->samples.resize(n);
  float* dst = block->samples.data();
  const char* src = payload.data() + offset;
  const auto scale = static_cast<float>(config_.scale);
  if (config_.format == SampleFormat::kF32) {
    for (std::size_t i = 0; i < n; ++i) {
      const float v = std::bit_cast<float>(load_le<uint32_t>(src + 4 * i));
      if (!std::isfinite(v))
        return make_error(Errc::kParse, "sample " + std::to_string(i) + " is " + (std::isnan(v) ? "NaN" : "infinite"));
      dst[i] = v * scale;
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<int16_t>(load_le<uint16_t>(src + 2 * i))) * scale;
  }
  Record& r = out.emplace_back();
  r.ts_ns = ts;
  r.recv_ns = recv_ns;
  r.nfields = 0;
  r.block = std::move(block);
  return Status::Ok();
}

}  // namespace edgeloop
