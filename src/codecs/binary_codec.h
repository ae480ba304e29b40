// codec.binary: raw little-endian samples (float32 or int16) to one Record per payload whose
// block holds them as floats (times `scale`), at the configured sample rate; nfields 0.
// Optionally the payload starts with an 8-byte little-endian int64 timestamp (Unix ns) of the
// first sample; otherwise ts is the receive time. Errors append nothing and say why: kParse
// (empty, a byte count that is not a whole number of samples, a header cut short, a float
// that is NaN or infinite), kTooLarge (over max_payload).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/options.h"
#include "core/plugin.h"

namespace edgeloop {

enum class SampleFormat { kF32, kI16 };

struct BinaryCodecConfig {
  SampleFormat format = SampleFormat::kF32;
  double sample_rate_hz = 0;   // required, > 0
  double scale = 1.0;          // each sample is multiplied by it
  bool ts_header = false;      // an int64 LE Unix-ns timestamp before the samples
  std::size_t max_payload = 4 << 20;
};

const OptionTable& binary_codec_options();

class BinaryCodec final : public Codec {
 public:
  static Result<std::unique_ptr<BinaryCodec>> create(BinaryCodecConfig config);
  static Result<std::unique_ptr<BinaryCodec>> from_options(const Options& options);

  const Schema& schema() const override { return schema_; }
  Status decode(std::string_view payload, int64_t recv_ns, std::vector<Record>& out) override;

 private:
  explicit BinaryCodec(BinaryCodecConfig config) : config_(config) {}
  BinaryCodecConfig config_;
  Schema schema_;
};

}  // namespace edgeloop
