// The `edgeloop fleet` subcommand, for the binary's main():
//
//   edgeloop::fleet::FleetCommand fleet_command(app);       // before CLI11_PARSE
//   CLI11_PARSE(app, argc, argv);
//   if (fleet_command.selected()) return fleet_command.run(signals);
//
// Options come from `--config FILE` (YAML, the keys of FleetOptions::table()) with the flags
// over them. Runs until SIGINT/SIGTERM (taken from `signals`, blocked by main) or --duration.
#pragma once

#include <CLI/CLI.hpp>
#include <csignal>
#include <string>

namespace edgeloop::fleet {

class FleetCommand {
 public:
  explicit FleetCommand(CLI::App& app);
  bool selected() const;
  // Returns the process exit code.
  int run(const sigset_t& signals);

 private:
  CLI::App* cmd_ = nullptr;
  std::string config_path_;
  std::string nats_;
  std::string stream_;
  std::string durable_;
  std::string subject_;
  std::string http_;
  std::string state_;
  std::string duration_ = "0";
  bool rebuild_ = false;
};

}  // namespace edgeloop::fleet
