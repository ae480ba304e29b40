// Development driver: `edgeloop eval` without the edgeloop binary (whose main() the lead
// owns): the same EvalCommands, with every layer registered as main() does.
#include <CLI/CLI.hpp>

#include "app/builtins.h"
#include "eval/eval_command.h"
#include "models/builtins.h"
#include "runtime/inproc_source.h"

int main(int argc, char** argv) {
  CLI::App app{"edgeloop (eval only)"};
  app.require_subcommand(1);
  edgeloop::eval::EvalCommands eval_commands(app);
  CLI11_PARSE(app, argc, argv);
  edgeloop::Registry registry;
  edgeloop::register_all(registry);
  edgeloop::register_models(registry);
  edgeloop::register_runtime(registry);
  if (eval_commands.selected()) return eval_commands.run(registry);
  return 0;
}
