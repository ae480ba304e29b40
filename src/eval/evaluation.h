// `edgeloop eval nab|skab|cwru|ims|bearing-sim`: loads (or, for bearing-sim, generates) a data set, replays it through a pipeline config (the
// built-in examples/nab.yaml or skab.yaml, or --config), scores it, writes a JSON report and
// one SVG plot per series (in `<report>_plots/`), and returns the one-line summary.
#pragma once

#include <string>

#include "core/registry.h"
#include "core/result.h"
#include "eval/replay.h"

namespace edgeloop::eval {

struct EvalOptions {
  std::string data_dir;
  std::string config_path;  // empty: the built-in example
  std::string report_path;  // empty: no report, no plots
  std::string only;         // keep the files whose name contains this (a slice)
  bool progress = false;    // a progress bar on stderr
  bool plots = true;        // with a report: one SVG per series
  std::string model_path;            // cwru: a fault classifier (models/cwru_fault_xgb.json); empty: none
  std::string export_features_path;  // cwru: write the classifier's feature rows here (CSV); empty: no
  std::string test_path;             // cmapss: test_FD00x.txt
  std::string rul_path;              // cmapss: RUL_FD00x.txt
  std::string sidecar_path;          // cmapss: the model's sidecar; empty: next to the model
  int threads = 1;                   // magnetic_tile: oneDNN threads per inference
};

struct EvalResult {
  std::string summary_json;  // the contract's last line
  std::string text;          // human-readable lines printed before it
  ReplayStats stats;
};

// The examples compiled into the binary (examples/nab.yaml, examples/skab.yaml).
const char* builtin_nab_config();
const char* builtin_skab_config();
const char* builtin_cwru_config();
const char* builtin_ims_config();
const char* builtin_bearing_sim_config();

Result<EvalResult> run_nab_eval(const EvalOptions& options, const Registry& registry);
Result<EvalResult> run_skab_eval(const EvalOptions& options, const Registry& registry);
// CWRU bearings (cwru_eval.cc): DIR has 12k_DE/*.mat and normal/*.mat.
Result<EvalResult> run_cwru_eval(const EvalOptions& options, const Registry& registry);
// NASA IMS run-to-failure features (ims_eval.cc): DIR has merged_dataset_BearingTest_<n>.csv.
Result<EvalResult> run_ims_eval(const EvalOptions& options, const Registry& registry);
// The simulator's physically modelled bearing faults (bearing_sim_eval.cc); data_dir unused.
Result<EvalResult> run_bearing_sim_eval(const EvalOptions& options, const Registry& registry);
// C-MAPSS remaining useful life (cmapss_eval.cc): a trained model on a test subset; data_dir unused.
Result<EvalResult> run_cmapss_eval(const EvalOptions& options, const Registry& registry);

// A progress bar on stderr, redrawn at most every 100 ms: "[#####.....]  45%  61k/137k rows".
ReplayProgress stderr_progress(const std::string& label);

}  // namespace edgeloop::eval
