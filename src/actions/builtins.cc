#include "actions/builtins.h"

#include "actions/log_action.h"

namespace edgeloop {

void register_actions(Registry& registry) {
  PluginInfo log;
  log.name = "log";
  log.summary = "Writes one line per event to stdout, from a template (see the template placeholders).";
  log.options = log_action_options();
  registry.add_action(std::move(log), [](const Options& options) -> Result<std::unique_ptr<Action>> {
    auto a = LogAction::from_options(options);
    if (!a.ok()) return a.take_error();
    return std::unique_ptr<Action>(std::move(a).value());
  });
}

}  // namespace edgeloop
