#include "connectors/http_ingest/builtins.h"

#include "connectors/http_ingest/http_ingest_source.h"

namespace edgeloop {

void register_http_ingest(Registry& registry) {
  PluginInfo source;
  source.name = "http";
  source.summary =
      "An HTTP(S) ingest endpoint: POST a JSON object, an array of objects (application/json) or JSON lines "
      "(application/x-ndjson), each object decoded by a codec and keyed from its fields; bearer tokens (401), a body "
      "bound (413), bad objects dead-lettered while the good ones of the batch go on, 503 when the pipeline stays "
      "busy (nothing dropped).";
  source.options = http_ingest_options();
  const Registry* reg = &registry;
  registry.add_source(std::move(source), [reg](const Options& options) -> Result<std::unique_ptr<Source>> {
    auto s = HttpIngestSource::from_options(options, *reg);
    if (!s.ok()) return s.take_error();
    return std::unique_ptr<Source>(std::move(s).value());
  });
}

}  // namespace edgeloop
