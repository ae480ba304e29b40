#include "connectors/sparkplug/builtins.h"

#include "connectors/sparkplug/command_action.h"
#include "connectors/sparkplug/edge_node.h"
#include "connectors/sparkplug/host_source.h"

namespace edgeloop {

void register_sparkplug(Registry& registry) {
  PluginInfo source;
  source.name = "sparkplug";
  source.summary =
      "Sparkplug B host application on MQTT: follows NBIRTH/DBIRTH/NDATA/DDATA/NDEATH/DDEATH of a group, resolves "
      "metric aliases, decodes typed values, checks each node's seq and requests a rebirth (NCMD) on a gap, marks "
      "metrics stale on death (field `stale`). Bad payloads are dead-lettered and counted.";
  source.options = sparkplug::host_source_options();
  registry.add_source(std::move(source), [](const Options& options) -> Result<std::unique_ptr<Source>> {
    auto s = sparkplug::HostSource::from_options(options);
    if (!s.ok()) return s.take_error();
    return std::unique_ptr<Source>(std::move(s).value());
  });

  PluginInfo node;
  node.name = "sparkplug";
  node.summary =
      "edgeloop as a Sparkplug B edge node: NBIRTH (bdSeq) on every connect and NDEATH as the MQTT will, a device per "
      "event key (DBIRTH, then DDATA by alias) with the listed value fields as Double metrics and alerts as Boolean "
      "metrics; answers `Node Control/Rebirth` by re-sending its births.";
  node.options = sparkplug::edge_node_options();
  registry.add_action(std::move(node), [](const Options& options) -> Result<std::unique_ptr<Action>> {
    auto a = sparkplug::EdgeNodeAction::from_options(options);
    if (!a.ok()) return a.take_error();
    return std::unique_ptr<Action>(std::move(a).value());
  });

  PluginInfo command;
  command.name = "sparkplug_command";
  command.summary =
      "Sends a Sparkplug B NCMD (or DCMD) per event writing one metric, its value a constant or an event field: a "
      "rule closes the loop on a Sparkplug edge node or device. QoS 0; dropped and counted while the broker is away.";
  command.options = sparkplug::command_options();
  registry.add_action(std::move(command), [](const Options& options) -> Result<std::unique_ptr<Action>> {
    auto a = sparkplug::CommandAction::from_options(options);
    if (!a.ok()) return a.take_error();
    return std::unique_ptr<Action>(std::move(a).value());
  });
}

}  // namespace edgeloop
