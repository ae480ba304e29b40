// The edgeloop binary: run a config, check it, run the demo, generate docs, benchmark.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "app/bench_t1.h"
#include "app/builtins.h"
#include "app/demo_config.h"
#include "app/serve.h"
#include "config/app_config.h"
#include "eval/eval_command.h"
#include "fleet/fleet_command.h"
#include "fleet/fleet_options.h"
#include "config/yaml_loader.h"
#include "core/options.h"
#include "api/http_server.h"
#include "runtime/dead_letter.h"
#include "runtime/inproc_source.h"
#include "store/query_command.h"

namespace {

using edgeloop::Registry;

Registry make_registry() {
  Registry r;
  edgeloop::register_all(r);
  edgeloop::register_runtime(r);
  return r;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "edgeloop: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken synchronously by the main thread (serve.cc): block them here, before
  // any thread starts, so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // spdlog builds its registry on first use: make that happen here, before any thread, and
  // not on whichever connector thread logs first.
  spdlog::set_level(spdlog::level::info);

  CLI::App app{"edgeloop: the edge AIoT runtime. Sensors in, AI and rules at the edge, commands out."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "edgeloop 0.1.0");

  std::string config_path;
  edgeloop::ServeOptions serve;
  std::string duration = "0";

  auto* run = app.add_subcommand("run", "Run the pipelines of a config file until SIGINT/SIGTERM.");
  run->add_option("config", config_path, "Config file (YAML)")->required()->check(CLI::ExistingFile);
  run->add_option("--duration", duration, "Stop after this long (e.g. 60s); 0: run until stopped");
  run->add_option("--http-port", serve.http_port, "Override http.port (0: pick a free port)");

  auto* check = app.add_subcommand("check", "Validate a config file without running it.");
  check->add_option("config", config_path, "Config file (YAML)")->required()->check(CLI::ExistingFile);

  auto* demo = app.add_subcommand("demo", "Run the built-in plant simulator through the whole loop.");
  demo->add_option("--duration", duration, "Stop after this long (e.g. 60s); 0: run until stopped");
  demo->add_option("--http-port", serve.http_port, "Override the dashboard/metrics port");
  bool print_config = false;
  demo->add_flag("--print-config", print_config, "Print the demo's config and exit");

  auto* docs = app.add_subcommand("docs", "Write the config reference (Markdown) generated from the option tables.");
  std::string docs_out;
  docs->add_option("--out", docs_out, "File to write (default: standard output)");

  auto* bench = app.add_subcommand("bench", "Benchmarks without a broker.");
  auto* bench_t1 = bench->add_subcommand("t1", "The T1 rule engine, in process, on one core.");
  bench->require_subcommand(1);
  edgeloop::BenchT1Options bopt;
  bench_t1->add_option("--devices", bopt.devices, "Devices")->check(CLI::Range(1, 1000000));
  bench_t1->add_option("--messages", bopt.messages, "Readings")->check(CLI::Range(int64_t{1000}, int64_t{1'000'000'000}));
  bench_t1->add_option("--shards", bopt.shards, "0: inline in the source thread; N: shard threads");
  bool no_decode = false, no_pin = false;
  bench_t1->add_flag("--no-decode", no_decode, "Feed decoded records (the engine alone, no JSON)");
  bench_t1->add_flag("--no-pin", no_pin, "Do not pin to one CPU");

  edgeloop::eval::EvalCommands eval_commands(app);
  edgeloop::fleet::FleetCommand fleet_command(app);
  edgeloop::store::QueryCommand query_command(app);
  CLI11_PARSE(app, argc, argv);
  if (query_command.selected()) return query_command.run();
  if (fleet_command.selected()) return fleet_command.run(signals);
  const Registry registry = make_registry();
  if (eval_commands.selected()) return eval_commands.run(registry);

  if (*docs) {
    std::string md = registry.reference_markdown();
    md += "\n## Top-level sections\n\n### `runtime`\n\n" + edgeloop::options_markdown(edgeloop::runtime_options());
    md += "\n### `dead_letter`\n\n" + edgeloop::options_markdown(edgeloop::DeadLetterOptions::table());
    md += "\n### `http`\n\n" + edgeloop::options_markdown(edgeloop::ApiOptions::table());
    md += "\n## `edgeloop fleet`\n\nThe keys of `edgeloop fleet --config FILE`; the flags of the same names "
          "override them.\n\n" +
          edgeloop::options_markdown(edgeloop::fleet::FleetOptions::table());
    if (docs_out.empty()) {
      std::cout << md;
    } else {
      std::ofstream f(docs_out);
      f << md;
      if (!f) return fail("cannot write " + docs_out);
    }
    return 0;
  }
  if (*bench_t1) {
    bopt.decode = !no_decode;
    bopt.pin = !no_pin;
    auto r = edgeloop::run_bench_t1(bopt, registry);
    if (!r.ok()) return fail(r.error().to_string());
    std::printf("%s\n", r->to_json().c_str());
    return r->correct ? 0 : 1;
  }

  auto dur = edgeloop::parse_duration_ns(duration);
  if (!dur.ok()) return fail("--duration: " + dur.error().message);
  serve.duration_ns = *dur;

  edgeloop::Result<edgeloop::ConfigNode> root = edgeloop::make_error(edgeloop::Errc::kInternal, "");
  if (*demo) {
    if (print_config) {
      std::cout << edgeloop::kDemoConfig;
      return 0;
    }
    root = edgeloop::load_yaml_string(edgeloop::kDemoConfig, "<demo>");
  } else {
    root = edgeloop::load_yaml_file(config_path);
  }
  if (!root.ok()) return fail(root.error().message);
  auto config = edgeloop::parse_app_config(*root);
  if (!config.ok()) return fail(config.error().message);

  if (*check) {
    auto st = edgeloop::check_config(*config, registry);
    if (!st.ok()) return fail(st.error().message);
    std::printf("%s: ok (%zu sources, %zu pipelines, %zu actions)\n", config_path.c_str(), config->sources.size(),
                config->pipelines.size(), config->actions.size());
    return 0;
  }
  serve.banner = demo->parsed();
  auto st = edgeloop::serve(*config, registry, serve, signals);
  if (!st.ok()) return fail(st.error().message);
  return 0;
}
