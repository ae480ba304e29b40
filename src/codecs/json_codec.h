// codec.json: JSON payloads to Records, with simdjson's on-demand API, a reused parser and a
// reused padded buffer (no allocation per message once warm).
//
// A payload is one object or an array of objects (a batch). Each object yields one Record:
// the timestamp from one field path, the values from others. Any error (malformed JSON,
// missing field, wrong type, too large) appends nothing and says why; the error code says
// which kind (see README.md): kParse, kNotFound, kTypeMismatch, kTooLarge.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/options.h"
#include "core/plugin.h"

namespace edgeloop {

enum class TimestampUnit { kAuto, kNs, kUs, kMs, kS };

// "auto", "ns", "us", "ms", "s".
Result<TimestampUnit> parse_timestamp_unit(std::string_view text);
const char* timestamp_unit_name(TimestampUnit unit);

// A timestamp in `unit` to Unix nanoseconds. kAuto picks the unit by magnitude: below 1e11
// seconds, below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds. Integers stay
// exact; kTooLarge when the result does not fit in int64.
Result<int64_t> timestamp_to_ns(int64_t value, TimestampUnit unit);
Result<int64_t> timestamp_to_ns(double value, TimestampUnit unit);

struct JsonValueField {
  std::string name;  // the field's name in the Schema
  std::string path;  // where it is in the payload: "a.b" or "/a/b"
};

struct JsonCodecConfig {
  std::string timestamp = "ts";  // a field path; empty: use the receive time
  TimestampUnit timestamp_unit = TimestampUnit::kAuto;
  std::vector<JsonValueField> values = {{"v", "v"}};
  std::size_t max_payload = 64 * 1024;  // bytes; larger payloads are kTooLarge
};

// The option table of codec.json, and the config it describes.
const OptionTable& json_codec_options();
Result<JsonCodecConfig> json_codec_config(const Options& options);

class JsonCodec final : public Codec {
 public:
  static Result<std::unique_ptr<JsonCodec>> create(JsonCodecConfig config);
  static Result<std::unique_ptr<JsonCodec>> from_options(const Options& options);

  ~JsonCodec() override;
  const Schema& schema() const override;
  Status decode(std::string_view payload, int64_t recv_ns, std::vector<Record>& out) override;

  const JsonCodecConfig& config() const;

 private:
  struct Impl;
  explicit JsonCodec(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;  // keeps simdjson out of this header
};

}  // namespace edgeloop
