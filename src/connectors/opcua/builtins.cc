#include "connectors/opcua/builtins.h"

#include "connectors/opcua/opcua_source.h"
#include "connectors/opcua/opcua_write.h"

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

  PluginInfo write;
  write.kind = "action";
  write.name = "opcua_write";
  write.summary =
      "Writes an OPC UA variable per event (our UA-TCP client, SecurityPolicy None) with a value rendered from the "
      "event, typed by the node's DataType (read once and cached); optionally reads it back and compares. Never "
      "blocks the dispatch thread: a bounded queue feeds the action's writer thread, which keeps a session, renews "
      "the channel and reconnects with back-off.";
  write.options = opcua_write_options();
  registry.add_action(std::move(write), [](const Options& options) -> Result<std::unique_ptr<Action>> {
    auto a = OpcuaWriteAction::from_options(options);
    if (!a.ok()) return a.take_error();
    return std::unique_ptr<Action>(std::move(a).value());
  });
}

}  // namespace edgeloop
