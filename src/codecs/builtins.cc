#include "codecs/builtins.h"

#include "codecs/json_codec.h"

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
}

}  // namespace edgeloop
