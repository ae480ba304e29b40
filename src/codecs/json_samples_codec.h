// codec.json_samples: a JSON payload of vibration samples to one Record whose block holds
// them (SampleBlock: sample rate and float samples), nfields 0 unless `values` names scalar
// members to carry along (e.g. the shaft speed).
//
// A payload is a bare array of numbers `[0.1, -0.2, ...]` (ts = receive time; the sample rate
// from config), or an object `{"ts": ..., "sample_rate": 25600, "samples": [...], ...}`
// (member names configurable; the payload's sample rate wins over the config's; no ts member:
// the receive time). ts is the time of the first sample. Errors append nothing and say why:
// kParse (malformed, empty), kTypeMismatch (a sample that is not a number, a payload that is
// neither array nor object), kNotFound (no samples member, no sample rate), kTooLarge (over
// max_payload or max_samples), kInvalidArgument (no samples, a rate that is not positive).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/json_codec.h"
#include "core/options.h"
#include "core/plugin.h"

namespace edgeloop {

struct JsonSamplesConfig {
  double sample_rate_hz = 0;            // 0: the payload must carry it
  std::string samples = "samples";      // member names (top level of the object)
  std::string timestamp = "ts";         // empty: always the receive time
  TimestampUnit timestamp_unit = TimestampUnit::kAuto;
  std::string sample_rate = "sample_rate";
  std::vector<std::string> values;      // numeric members carried as the record's fields (<= 8)
  std::size_t max_samples = 1 << 20;
  std::size_t max_payload = 16 << 20;   // bytes
};

const OptionTable& json_samples_codec_options();
Result<JsonSamplesConfig> json_samples_codec_config(const Options& options);

class JsonSamplesCodec final : public Codec {
 public:
  static Result<std::unique_ptr<JsonSamplesCodec>> create(JsonSamplesConfig config);
  static Result<std::unique_ptr<JsonSamplesCodec>> from_options(const Options& options);

  ~JsonSamplesCodec() override;
  const Schema& schema() const override;
  Status decode(std::string_view payload, int64_t recv_ns, std::vector<Record>& out) override;

 private:
  struct Impl;
  explicit JsonSamplesCodec(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgeloop
