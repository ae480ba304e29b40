// action.log: one line per event to stdout (spdlog), from a template.
#pragma once

#include <memory>
#include <string>

#include "actions/template.h"
#include "core/options.h"
#include "core/plugin.h"

namespace spdlog {
class logger;
}

namespace edgeloop {

inline constexpr const char* kDefaultLogFormat = "{KIND} {state} {pipeline}/{rule} key={key} {fields} ts={time}";

const OptionTable& log_action_options();

class LogAction final : public Action {
 public:
  // `logger`: where lines go; nullptr: a stdout logger of its own.
  static Result<std::unique_ptr<LogAction>> create(const std::string& format, const std::string& level,
                                                   std::shared_ptr<spdlog::logger> logger = nullptr);
  static Result<std::unique_ptr<LogAction>> from_options(const Options& options);

  Status start(ActionContext& ctx) override;
  // Renders and writes synchronously: stdout is expected to keep up with alert rates.
  void on_event(const Event& e) override;
  void stop() override {}

 private:
  LogAction() = default;
  EventTemplate format_;
  int level_ = 2;  // spdlog::level::info
  std::shared_ptr<spdlog::logger> logger_;
  std::string line_;
  KeyTable* keys_ = nullptr;
  Counter* events_ = nullptr;
  Counter* errors_ = nullptr;
};

}  // namespace edgeloop
