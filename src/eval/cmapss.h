// NASA C-MAPSS turbofan remaining-useful-life data (train/test_FD00x.txt, RUL_FD00x.txt), the
// scores (RMSE, PHM08) and the RUL models trained by tools/train/cmapss_rul.py: the windowing
// their JSON sidecar describes, run through load_tensor_model (ONNX sequence models or XGBoost
// on windowed features).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgeloop::eval {

inline constexpr int kCmapssColumns = 26;  // unit cycle setting1..3 s1..s21

// One engine's rows in file order (by cycle), each kCmapssColumns values.
struct CmapssEngine {
  int unit = 0;
  std::vector<double> values;  // rows * kCmapssColumns, row-major
  std::size_t rows() const { return values.size() / kCmapssColumns; }
  double at(std::size_t row, int column) const {
    return values[row * kCmapssColumns + static_cast<std::size_t>(column)];
  }
};

// Parses a C-MAPSS file (26 space-separated numbers per line, no header). Engines come out in
// the order their units first appear; a unit's rows must be contiguous with cycles increasing.
// `name` prefixes error messages ("test_FD002.txt:17: ...").
Result<std::vector<CmapssEngine>> parse_cmapss(std::string_view text, const std::string& name);
// RUL_FD00x.txt: one true RUL (cycles) per line, line i for engine i.
Result<std::vector<double>> parse_cmapss_rul(std::string_view text, const std::string& name);

// Root mean squared error of predicted - true.
double rul_rmse(std::span<const double> predicted, std::span<const double> truth);
// PHM08 score: sum of exp(-d/13) - 1 for d < 0 (early) and exp(d/10) - 1 for d >= 0 (late),
// d = predicted - true.
double phm08_score(std::span<const double> predicted, std::span<const double> truth);

// One block of a window-features model's input: one value per column (the cycle: one value).
// kLast..kMax summarise the last `window` rows of the model window (0: all of it); kEwm is the
// exponentially weighted mean over the engine's whole history up to the end row (starting at
// the first row, weight `alpha` on the newest); kCycle is the cycle number (column 1) of the
// end row. Sidecar tokens: "last", "mean", "slope", "std", "min", "max" (optionally "@N",
// 2 <= N <= window), "ewm@ALPHA" (0 < ALPHA <= 1), "cycle".
struct CmapssFeature {
  enum class Stat { kLast, kMean, kSlope, kStd, kMin, kMax, kEwm, kCycle };
  Stat stat = Stat::kLast;
  int window = 0;
  double alpha = 0;
};

// What a model's sidecar says about its input.
struct CmapssModelSpec {
  enum class Kind { kSequence, kWindowFeatures };
  Kind kind = Kind::kSequence;
  int window = 30;
  std::vector<int> columns;  // 0-based columns of the 26-column row, in model order
  // Sequence models: min-max scaling applied here unless the graph already does it.
  bool scale_in_graph = true;
  std::vector<double> scale_min, scale_max;
  // Window-features models: the blocks in input order. The default is the first sidecars'
  // layout (no "features" key): lasts, means, slopes over the whole window.
  std::vector<CmapssFeature> features{
      {CmapssFeature::Stat::kLast, 0, 0}, {CmapssFeature::Stat::kMean, 0, 0}, {CmapssFeature::Stat::kSlope, 0, 0}};
};

// Parses one sidecar feature token ("mean@10", "ewm@0.1", "cycle"); window: the model window.
Result<CmapssFeature> parse_cmapss_feature(std::string_view token, int window);

// Reads the sidecar JSON (tools/train/cmapss_rul.py writes it next to the model).
Result<CmapssModelSpec> parse_cmapss_sidecar(std::string_view json, const std::string& name);
// The sidecar of a model file: "<stem>.sidecar.json" when it exists, else "<stem>.json" when
// that is not the model itself (models/cmapss_fd001_gru.onnx -> models/cmapss_fd001_gru.json).
std::string cmapss_sidecar_path(const std::string& model_path);

// The model input for the window ending at `end_row` (exclusive) of an engine: window x
// columns values, oldest first; rows before the first are the first row repeated (engines
// shorter than the window are padded at the front). Sequence: scaled per the spec;
// window features: the spec's blocks in order, each one value per column in column order
// (slopes: least-squares per cycle; std: population standard deviation), the cycle one value.
std::vector<float> cmapss_model_input(const CmapssEngine& engine, std::size_t end_row, const CmapssModelSpec& spec);
// The size of cmapss_model_input's result.
std::size_t cmapss_input_size(const CmapssModelSpec& spec);

struct CmapssScore {
  std::vector<int> units;
  std::vector<double> predicted, truth;
  double rmse = 0;
  double phm08 = 0;
  std::string backend;  // what ran the model ("onednn", "opencv-dnn", "xgboost")
  std::string regimes;  // how the file's operating regimes were treated (empty: no healthy baseline in the sidecar)
};

// Predicts each test engine's RUL at its last row with the model (and its sidecar), scores it
// against `rul_path`. max_engines > 0: only the first max_engines engines.
Result<CmapssScore> evaluate_cmapss(const std::string& model_path, const std::string& sidecar_path,
                                    const std::string& test_path, const std::string& rul_path,
                                    std::size_t max_engines = 0);

}  // namespace edgeloop::eval
