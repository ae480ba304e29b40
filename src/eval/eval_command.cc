#include "eval/eval_command.h"

#include <unistd.h>

#include <cstdio>

namespace edgeloop::eval {

namespace {

void add_common(CLI::App* cmd, EvalOptions& o, bool& no_plots, const char* example) {
  cmd->add_option("--data", o.data_dir, "The data set's folder")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--config", o.config_path, std::string("Pipeline config (default: the built-in ") + example + ")")
      ->check(CLI::ExistingFile);
  cmd->add_option("--report", o.report_path, "Write a JSON report here, and one SVG plot per series in <report>_plots/");
  cmd->add_option("--only", o.only, "Evaluate only the files whose name contains this (a slice)");
  cmd->add_flag("--no-plots", no_plots, "With --report: no SVG plots");
}

}  // namespace

EvalCommands::EvalCommands(CLI::App& app) {
  eval_ = app.add_subcommand("eval", "Replay a benchmark data set through a pipeline and score it.");
  eval_->require_subcommand(1);
  nab_ = eval_->add_subcommand("nab", "Numenta Anomaly Benchmark: data/<category>/<file>.csv, labels/combined_windows.json.");
  add_common(nab_, nab_opts_, no_plots_, "examples/nab.yaml");
  skab_ = eval_->add_subcommand("skab", "Skoltech Anomaly Benchmark: folders of SKAB CSVs.");
  add_common(skab_, skab_opts_, no_plots_, "examples/skab.yaml");
}

bool EvalCommands::selected() const { return eval_->parsed(); }

int EvalCommands::run(const Registry& registry) {
  const bool nab = nab_->parsed();
  EvalOptions o = nab ? nab_opts_ : skab_opts_;
  o.progress = isatty(STDERR_FILENO) != 0;
  o.plots = !no_plots_;
  auto r = nab ? run_nab_eval(o, registry) : run_skab_eval(o, registry);
  if (!r.ok()) {
    std::fprintf(stderr, "edgeloop eval: %s\n", r.error().message.c_str());
    return 1;
  }
  std::fputs(r->text.c_str(), stdout);
  std::printf("%s\n", r->summary_json.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace edgeloop::eval
