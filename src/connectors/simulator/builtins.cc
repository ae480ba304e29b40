#include "connectors/simulator/builtins.h"

#include "connectors/simulator/simulator_source.h"

namespace edgeloop {

void register_simulator(Registry& registry) {
  PluginInfo info;
  info.name = "simulator";
  info.summary =
      "A simulated plant of pumps and motors (keys line1/pump-N, line1/motor-N; topic sim/KEY) with faults on a "
      "schedule: one record per asset per interval with temperature (deg C), vibration (mm/s RMS), current (A), "
      "speed (rpm) and pressure (bar). Event time is sim time; no broker or hardware needed.";
  info.options = SimulatorConfig::table();
  registry.add_source(std::move(info), [](const Options& options) -> Result<std::unique_ptr<Source>> {
    EDGELOOP_ASSIGN_OR_RETURN(SimulatorConfig config, SimulatorConfig::from(options));
    return std::unique_ptr<Source>(std::make_unique<SimulatorSource>(std::move(config)));
  });
}

}  // namespace edgeloop
