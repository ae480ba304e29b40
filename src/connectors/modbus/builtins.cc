#include "connectors/modbus/builtins.h"

#include "connectors/modbus/modbus_source.h"
#include "connectors/modbus/modbus_write.h"

namespace edgeloop {

void register_modbus(Registry& registry) {
  PluginInfo source;
  source.name = "modbus";
  source.summary =
      "Polls Modbus TCP devices (libmodbus), one thread per device: holding/input registers, coils and discrete "
      "inputs, typed (int16..float64, bool; byte/word order, scale, offset), adjacent points batched into one "
      "request. One record per device and poll (key: the device name). Reconnects with back-off; exceptions and "
      "timeouts are counted (edgeloop_source_errors_total{reason}) and dead-lettered, never fatal.";
  source.options = modbus_source_options();
  registry.add_source(std::move(source), [](const Options& options) -> Result<std::unique_ptr<Source>> {
    auto s = ModbusSource::from_options(options);
    if (!s.ok()) return s.take_error();
    return std::unique_ptr<Source>(std::move(s).value());
  });

  PluginInfo write;
  write.name = "modbus_write";
  write.summary =
      "Writes a value per event to a Modbus holding register (typed like source.modbus points) or a coil, then "
      "reads it back and checks it. Never blocks the dispatch thread: a bounded queue feeds the action's writer "
      "thread, which reconnects with back-off.";
  write.options = modbus_write_options();
  registry.add_action(std::move(write), [](const Options& options) -> Result<std::unique_ptr<Action>> {
    auto a = ModbusWriteAction::from_options(options);
    if (!a.ok()) return a.take_error();
    return std::unique_ptr<Action>(std::move(a).value());
  });
}

}  // namespace edgeloop
