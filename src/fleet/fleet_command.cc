#include "fleet/fleet_command.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>

#include "config/yaml_loader.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "fleet/fleet_service.h"

namespace edgeloop::fleet {

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "edgeloop fleet: %s\n", what.c_str());
  return 1;
}

}  // namespace

FleetCommand::FleetCommand(CLI::App& app) {
  cmd_ = app.add_subcommand("fleet",
                            "Consume the gateways' events from NATS JetStream (a durable consumer) and serve the "
                            "fleet's state and open alerts over HTTP.");
  cmd_->add_option("--config", config_path_, "YAML file of fleet options (see docs/config-reference.md)")
      ->check(CLI::ExistingFile);
  cmd_->add_option("--nats", nats_, "NATS server URLs, separated by commas (default nats://127.0.0.1:4222)");
  cmd_->add_option("--stream", stream_, "JetStream stream (default EDGELOOP)");
  cmd_->add_option("--durable", durable_, "Durable consumer name (default edgeloop-fleet)");
  cmd_->add_option("--subject", subject_, "Filter subject (default edgeloop.>)");
  cmd_->add_option("--http", http_, "ADDR:PORT of the HTTP API (default 127.0.0.1:8090; port 0: a free one)");
  cmd_->add_option("--state", state_, "State file (default fleet-state.json; none: memory only, replay at start)");
  cmd_->add_flag("--rebuild", rebuild_, "Discard the state and the durable; rebuild by replaying the stream");
  cmd_->add_option("--duration", duration_, "Stop after this long (e.g. 60s); 0: run until stopped");
}

bool FleetCommand::selected() const {
  return cmd_->parsed();
}

int FleetCommand::run(const sigset_t& signals) {
  ConfigNode root = ConfigNode::map(Mark{});
  std::string path = "fleet";
  if (!config_path_.empty()) {
    auto loaded = load_yaml_file(config_path_);
    if (!loaded.ok()) return fail(loaded.error().message);
    if (!loaded->is_null()) {
      if (!loaded->is_map()) return fail(config_path_ + ": expected a map of fleet options");
      root = std::move(loaded).value();
    }
  }
  // Flags given on the command line replace the file's values.
  const Mark cli_mark{std::make_shared<const std::string>("<command line>"), 0, 0};
  const std::pair<const char*, const std::string*> flags[] = {
      {"nats", &nats_},       {"stream", &stream_}, {"durable", &durable_},
      {"subject", &subject_}, {"http", &http_},     {"state", &state_},
  };
  for (const auto& [name, value] : flags) {
    if (cmd_->count(std::string("--") + name) > 0) root.set(name, ConfigNode::scalar(*value, cli_mark));
  }
  if (rebuild_) root.set("rebuild", ConfigNode::scalar("true", cli_mark));
  auto options = FleetOptions::from_node(root, path);
  if (!options.ok()) return fail(options.error().message);
  auto duration = parse_duration_ns(duration_);
  if (!duration.ok()) return fail("--duration: " + duration.error().message);

  Metrics metrics;
  FleetService service(*options, metrics);
  if (auto st = service.start(); !st.ok()) return fail(st.error().message);
  spdlog::info(
      "fleet: serving http://{}:{} (/api/v1/fleet/gateways, /api/v1/fleet/assets, /api/v1/fleet/alerts, "
      "/healthz, /metrics)",
      service.http_host(), service.http_port());

  const int64_t deadline = *duration > 0 ? mono_now_ns() + *duration : 0;
  while (true) {
    int64_t wait_ns = kNsPerSec;
    if (deadline) {
      const int64_t left = deadline - mono_now_ns();
      if (left <= 0) break;
      wait_ns = std::min(wait_ns, left);
    }
    timespec ts{static_cast<time_t>(wait_ns / kNsPerSec), static_cast<long>(wait_ns % kNsPerSec)};
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) {
      spdlog::info("fleet: signal {}, stopping", sig);
      break;
    }
  }
  service.stop();
  spdlog::info("fleet: stopped; consumed {}, applied {}, duplicates {}, invalid {}, acked {}",
               metrics.value("edgeloop_fleet_consumed_total"), metrics.value("edgeloop_fleet_applied_total"),
               metrics.value("edgeloop_fleet_duplicates_total"), metrics.value("edgeloop_fleet_invalid_total"),
               metrics.value("edgeloop_fleet_acked_total"));
  return 0;
}

}  // namespace edgeloop::fleet
