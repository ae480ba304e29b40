#include "connectors/opcua/builtins.h"

#include "connectors/opcua/opcua_source.h"

namespace edgeloop {

void register_opcua(Registry& registry) {
  PluginInfo source;
  source.kind = "source";
  source.name = "opcua";
  source.summary =
      "Subscribes to OPC UA variables (our own UA-TCP binary client, SecurityPolicy None, anonymous or user name) and "
      "turns data changes into records, one stream key per group and one field per node, with the server's source "
      "timestamp. Reconnects with back-off and re-creates session and subscription; Bad values are counted and "
      "forwarded as NaN.";
  source.options = opcua_source_options();
  registry.add_source(std::move(source), [](const Options& options) -> Result<std::unique_ptr<Source>> {
    auto c = opcua_source_config(options);
    if (!c.ok()) return c.take_error();
    auto s = OpcuaSource::create(std::move(c).value());
    if (!s.ok()) return s.take_error();
    return std::unique_ptr<Source>(std::move(s).value());
  });
}

}  // namespace edgeloop
