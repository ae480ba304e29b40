#include "connectors/images/builtins.h"

#include "connectors/images/image_source.h"

namespace edgeloop {

void register_images(Registry& registry) {
  PluginInfo source;
  source.name = "images";
  source.summary =
      "Images for visual inspection: a watched folder, HTTP uploads (POST <path>/<key>) or MQTT messages with a JPEG/PNG "
      "payload, decoded and preprocessed with OpenCV (grayscale or colour, resized to the model's input, normalised) "
      "into a [C,H,W] tensor in the record's block; undecodable or oversized images are dead-lettered and counted.";
  source.options = image_source_options();
  registry.add_source(std::move(source), [](const Options& options) -> Result<std::unique_ptr<Source>> {
    auto config = image_source_config(options);
    if (!config.ok()) return config.take_error();
    auto s = ImageSource::create(std::move(*config));
    if (!s.ok()) return s.take_error();
    return std::unique_ptr<Source>(std::move(s).value());
  });
}

}  // namespace edgeloop
