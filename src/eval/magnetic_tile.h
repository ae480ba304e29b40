// `edgeloop eval magnetic_tile --data DIR --model FILE`: visual defect inspection on the
// magnetic tile images (DIR/<class>/Imgs/*.jpg, the layout of ../shared/data/magnetic_tile),
// end to end per image as the inspection pipeline does it (read the file, decode, preprocess
// with source.images' ImagePreprocessor, infer), on the test split the model's sidecar
// (<model stem>.json) lists, or on every image when it lists none. Pass/fail: defect when
// P(pass class) < the sidecar's threshold (no threshold: when another class scores highest).
// Prints the confusion matrix, p50/p99 per-image latency, and as its last line
// {"dataset":"magnetic_tile","images":N,"accuracy":A,"defect_recall":R,"defect_precision":P,"images_per_s":S}
// (accuracy: of the pass/fail decision).
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "eval/evaluation.h"

namespace edgeloop::eval {

// What the model's sidecar says about evaluating it.
struct TileSidecar {
  std::vector<std::string> classes;  // the model's output order; default: the six folders
  int pass_class = 0;                // index into classes
  double threshold = -1;             // on P(pass class); < 0: argmax decides
  std::vector<std::string> test_files;  // relative to DIR ("MT_Free/Imgs/x.jpg"); empty: all
  // P(pass class) of the first test files as the training script computed them
  // (`test_p_free_first10`): the C++ decode + preprocess + inference is checked against them.
  std::vector<double> reference_p_pass;
};

Result<TileSidecar> read_tile_sidecar(const std::string& path);

// Pass/fail counts of the defect class (defect = positive).
struct DefectCounts {
  int tp = 0, fp = 0, tn = 0, fn = 0;
  double recall() const { return tp + fn > 0 ? static_cast<double>(tp) / (tp + fn) : 0.0; }
  double precision() const { return tp + fp > 0 ? static_cast<double>(tp) / (tp + fp) : 0.0; }
  double accuracy() const {
    const int n = tp + fp + tn + fn;
    return n > 0 ? static_cast<double>(tp + tn) / n : 0.0;
  }
};

Result<EvalResult> run_magnetic_tile_eval(const EvalOptions& options, const Registry& registry);

}  // namespace edgeloop::eval
