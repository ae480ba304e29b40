#include "codecs/builtins.h"

#include "codecs/binary_codec.h"
#include "codecs/json_codec.h"
#include "codecs/json_samples_codec.h"

namespace edgeloop {

void register_codecs(Registry& registry) {
  PluginInfo json;
  json.name = "json";
  json.summary =
      "JSON payloads: one object, or an array of objects (a batch), each giving one record with a "
      "timestamp and up to 8 numeric values read from field paths. Malformed JSON, a missing field, a "
      "value of the wrong type or an oversized payload is rejected whole, with the reason.";
  json.options = json_codec_options();
  registry.add_codec(std::move(json), [](const Options& options) -> Result<std::unique_ptr<Codec>> {
    auto codec = JsonCodec::from_options(options);
    if (!codec.ok()) return codec.take_error();
    return std::unique_ptr<Codec>(std::move(codec).value());
  });

  PluginInfo samples;
  samples.name = "json_samples";
  samples.summary =
      "Vibration samples as JSON: a bare array of numbers, or an object with the samples array and optional ts "
      "(of the first sample) and sample_rate members; one record per payload whose block holds the samples "
      "(for op.samples). The sample rate comes from the payload or from config.";
  samples.options = json_samples_codec_options();
  registry.add_codec(std::move(samples), [](const Options& options) -> Result<std::unique_ptr<Codec>> {
    auto codec = JsonSamplesCodec::from_options(options);
    if (!codec.ok()) return codec.take_error();
    return std::unique_ptr<Codec>(std::move(codec).value());
  });

  PluginInfo binary;
  binary.name = "binary";
  binary.summary =
      "Raw little-endian samples (float32 or int16, times `scale`) at a configured sample rate, optionally after an "
      "8-byte Unix-ns timestamp: one record per payload whose block holds the samples (for op.samples).";
  binary.options = binary_codec_options();
  registry.add_codec(std::move(binary), [](const Options& options) -> Result<std::unique_ptr<Codec>> {
    auto codec = BinaryCodec::from_options(options);
    if (!codec.ok()) return codec.take_error();
    return std::unique_ptr<Codec>(std::move(codec).value());
  });
}

}  // namespace edgeloop
