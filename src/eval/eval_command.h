// The `edgeloop eval` subcommands (nab, skab, cwru, ims, bearing-sim, cmapss, magnetic_tile), for the binary's main():
//
//   edgeloop::eval::EvalCommands eval_commands(app);   // before CLI11_PARSE
//   CLI11_PARSE(app, argc, argv);
//   const Registry registry = make_registry();        // with register_models
//   if (eval_commands.selected()) return eval_commands.run(registry);
//
// Each prints human-readable lines, then, as its last line, one JSON object (the evaluation
// contract); a progress bar goes to stderr when it is a terminal.
#pragma once

#include <CLI/CLI.hpp>
#include <array>

#include "core/registry.h"
#include "eval/evaluation.h"

namespace edgeloop::eval {

class EvalCommands {
 public:
  explicit EvalCommands(CLI::App& app);
  bool selected() const;
  // Runs the selected command; returns the process exit code.
  int run(const Registry& registry);

 private:
  using Runner = Result<EvalResult> (*)(const EvalOptions&, const Registry&);
  struct Sub {
    CLI::App* app = nullptr;
    Runner run = nullptr;
    EvalOptions options;
  };
  CLI::App* eval_ = nullptr;
  std::array<Sub, 7> subs_;
  bool no_plots_ = false;
};

}  // namespace edgeloop::eval
