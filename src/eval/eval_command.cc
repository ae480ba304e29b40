#include "eval/eval_command.h"

#include "eval/magnetic_tile.h"

#include <unistd.h>

#include <cstdio>

namespace edgeloop::eval {

namespace {

void add_common(CLI::App* cmd, EvalOptions& o, bool& no_plots, const char* example, bool data_required) {
  auto* data = cmd->add_option("--data", o.data_dir, "The data set's folder")->check(CLI::ExistingDirectory);
  if (data_required) data->required();
  cmd->add_option("--config", o.config_path, std::string("Pipeline config (default: the built-in ") + example + ")")
      ->check(CLI::ExistingFile);
  cmd->add_option("--report", o.report_path, "Write a JSON report here, and one SVG plot per series in <report>_plots/");
  cmd->add_option("--only", o.only, "Evaluate only the files whose name contains this (a slice)");
  cmd->add_flag("--no-plots", no_plots, "With --report: no SVG plots");
}

// cmapss replays no pipeline: a model, a test file and its true RULs.
void add_cmapss_options(CLI::App* cmd, EvalOptions& o) {
  cmd->add_option("--model", o.model_path, "RUL model: .onnx sequence model or XGBoost .json (models/cmapss_fd001_*)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--test", o.test_path, "C-MAPSS test file (test_FD00x.txt)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--rul", o.rul_path, "True RULs, one line per test engine (RUL_FD00x.txt)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--sidecar", o.sidecar_path,
                  "The model's windowing sidecar (default: <stem>.sidecar.json, else <stem>.json beside the model)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--report", o.report_path, "Write a JSON report (per-engine predictions) here");
}

}  // namespace

EvalCommands::EvalCommands(CLI::App& app) {
  eval_ = app.add_subcommand("eval", "Replay a benchmark data set through a pipeline and score it.");
  eval_->require_subcommand(1);
  struct Spec {
    const char* name;
    const char* help;
    const char* example;
    Runner run;
    bool data_required;
  };
  const Spec specs[] = {
      {"nab", "Numenta Anomaly Benchmark: data/<category>/<file>.csv, labels/combined_windows.json.",
       "examples/nab.yaml", run_nab_eval, true},
      {"skab", "Skoltech Anomaly Benchmark: folders of SKAB CSVs.", "examples/skab.yaml", run_skab_eval, true},
      {"cwru", "CWRU bearings: 12k_DE/*.mat (faults) and normal/*.mat (healthy baseline).", "examples/cwru.yaml",
       run_cwru_eval, true},
      {"ims", "NASA IMS run-to-failure: merged_dataset_BearingTest_<n>.csv.", "examples/ims.yaml", run_ims_eval, true},
      {"bearing-sim", "The simulator's bearing faults (impulse trains exciting a resonance, under noise).",
       "examples/bearing_sim.yaml", run_bearing_sim_eval, false},
      {"cmapss", "NASA C-MAPSS remaining useful life: a trained model on test_FD00x.txt against RUL_FD00x.txt.",
       "none", run_cmapss_eval, false},
      {"magnetic_tile", "Magnetic tile defect inspection: <class>/Imgs/*.jpg through an image classifier, end to end.",
       "none", run_magnetic_tile_eval, true},
  };
  static_assert(std::size(specs) == std::tuple_size_v<decltype(subs_)>);
  for (std::size_t i = 0; i < subs_.size(); ++i) {
    subs_[i].app = eval_->add_subcommand(specs[i].name, specs[i].help);
    subs_[i].run = specs[i].run;
    if (std::string_view(specs[i].name) == "cmapss") {
      add_cmapss_options(subs_[i].app, subs_[i].options);
      continue;
    }
    add_common(subs_[i].app, subs_[i].options, no_plots_, specs[i].example, specs[i].data_required);
    if (std::string_view(specs[i].name) == "magnetic_tile") {
      subs_[i].app
          ->add_option("--model", subs_[i].options.model_path,
                       "Image classifier (.onnx) with its <stem>.json sidecar (input size, normalisation, classes, "
                       "threshold, test split)")
          ->required()
          ->check(CLI::ExistingFile);
      subs_[i].app
          ->add_option("--threads", subs_[i].options.threads,
                       "Threads one inference may use (oneDNN; as `threads` of model.onnx): 1, the default, "
                       "measures one core")
          ->check(CLI::Range(1, 256));
    }
    if (std::string_view(specs[i].name) == "cwru") {
      subs_[i].app
          ->add_option("--model", subs_[i].options.model_path,
                       "Fault classifier (XGBoost JSON with its <stem>.sidecar.json): classify the recordings it was "
                       "not trained on, across loads, and add \"accuracy\" to the last line")
          ->check(CLI::ExistingFile);
      subs_[i].app->add_option("--export-features", subs_[i].options.export_features_path,
                               "Write the classifier's feature rows (one per window) to this CSV (for training)");
    }
  }
}

bool EvalCommands::selected() const { return eval_->parsed(); }

int EvalCommands::run(const Registry& registry) {
  for (const Sub& sub : subs_) {
    if (!sub.app->parsed()) continue;
    EvalOptions o = sub.options;
    o.progress = isatty(STDERR_FILENO) != 0;
    o.plots = !no_plots_;
    auto r = sub.run(o, registry);
    if (!r.ok()) {
      std::fprintf(stderr, "edgeloop eval: %s\n", r.error().message.c_str());
      return 1;
    }
    std::fputs(r->text.c_str(), stdout);
    std::printf("%s\n", r->summary_json.c_str());
    std::fflush(stdout);
    return 0;
  }
  return 1;
}

}  // namespace edgeloop::eval
