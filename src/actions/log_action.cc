#include "actions/log_action.h"

#include <limits>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace edgeloop {

const OptionTable& log_action_options() {
  static const OptionTable table = {
      {"format", OptionType::kString, kDefaultLogFormat,
       "The line to write, a template: {key}, {topic}, {topic[N]}, {ts}, {ts_ms}, {time}, {kind}, {KIND}, {state}, "
       "{rule}, {pipeline}, {seq}, {values} (JSON), {fields} (name=value ...), or a value field name."},
      {"level", OptionType::kString, "info", "Log level of the lines.", false,
       -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
       {"trace", "debug", "info", "warn", "error", "critical"}},
  };
  return table;
}

Result<std::unique_ptr<LogAction>> LogAction::create(const std::string& format, const std::string& level,
                                                     std::shared_ptr<spdlog::logger> logger) {
  auto t = EventTemplate::compile(format, EventTemplate::escape_for(format));
  if (!t.ok()) return t.take_error();
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return make_error(Errc::kInvalidArgument, "unknown log level '" + level + "'");
  }
  std::unique_ptr<LogAction> a(new LogAction());
  a->format_ = std::move(t).value();
  a->level_ = static_cast<int>(lvl);
  a->logger_ = std::move(logger);
  return a;
}

Result<std::unique_ptr<LogAction>> LogAction::from_options(const Options& options) {
  auto a = create(options.str("format"), options.str("level"));
  if (!a.ok()) return options.error("format", a.error().message);
  return a;
}

Status LogAction::start(ActionContext& ctx) {
  if (!ctx.keys) return make_error(Errc::kInvalidArgument, "action " + ctx.name + ": no key table");
  keys_ = ctx.keys;
  if (!logger_) {
    // Not registered with spdlog by name: several log actions may exist at once.
    try {
      logger_ = std::make_shared<spdlog::logger>(ctx.name, std::make_shared<spdlog::sinks::stdout_sink_mt>());
    } catch (const std::exception& e) {
      return make_error(Errc::kInternal, std::string("action ") + ctx.name + ": cannot create its logger: " + e.what());
    }
  }
  if (ctx.metrics) {
    const Metrics::Labels labels = {{"action", ctx.name}};
    events_ = &ctx.metrics->counter("edgeloop_action_events_total", "Events an action received.", labels);
    errors_ = &ctx.metrics->counter("edgeloop_action_errors_total",
                                    "Events an action could not handle (or rendered with an unknown field).", labels);
    format_.set_unknown_counter(errors_);
  }
  return Status::Ok();
}

void LogAction::on_event(const Event& e) {
  if (events_) events_->add();
  line_.clear();
  format_.render(e, *keys_, line_);
  try {
    logger_->log(static_cast<spdlog::level::level_enum>(level_), spdlog::string_view_t(line_.data(), line_.size()));
  } catch (...) {
    if (errors_) errors_->add();
  }
}

}  // namespace edgeloop
