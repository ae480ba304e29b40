// Operating regimes of C-MAPSS files. FD001 and FD003 fly one condition; FD002 and FD004 six
// (altitude, Mach, throttle: the three setting columns), which move every sensor far more than
// wear does. A model trained on FD001 sees FD001's healthy sensor levels; to judge another
// subset it needs that subset's rows brought to the same scale. Each regime's healthy level is
// learnt from the file itself: the rows of the engines' first cycles (every engine starts
// healthy, and the test trajectories start at cycle 1), and mapped onto the training subset's
// healthy level (mean and standard deviation per column, in the model's sidecar):
//   x' = (x - mean_regime) / std_regime * std_train + mean_train.
// A file in the training subset's own single regime is left as it is.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "eval/cmapss.h"

namespace edgeloop::eval {

// The sidecar's "healthy_baseline": the training subset's rows with cycle <= `cycles`.
struct CmapssHealthyBaseline {
  int cycles = 30;
  std::vector<double> settings;  // the training regime's setting1..3 (rounded as regime_of rounds)
  std::vector<int> columns;      // 0-based columns of the 26-column row
  std::vector<double> mean, std;
};

// The sidecar's "healthy_baseline" object; nullopt when the sidecar has none.
Result<std::optional<CmapssHealthyBaseline>> parse_cmapss_healthy_baseline(std::string_view json,
                                                                           const std::string& name);

// The regime of one row: setting1 (altitude, kft) to the unit, setting2 (Mach) to 0.01,
// setting3 (throttle angle) to the unit; the six FD002 conditions stay apart, sensor noise
// in the settings (FD001: about 0.01 and 0.0006) does not split one.
struct CmapssRegime {
  long altitude = 0, mach_x100 = 0, throttle = 0;
  bool operator==(const CmapssRegime&) const = default;
};
CmapssRegime cmapss_regime_of(double altitude, double mach, double throttle);
CmapssRegime cmapss_regime_of(const double* row);  // a 26-column row: its settings (columns 2..4)

struct CmapssRegimeMapping {
  std::size_t regimes = 0;  // regimes seen in the file
  bool applied = false;     // false: the file is in the training regime alone
  std::string text;         // one line for the eval report
};

// Maps the baseline's columns of every row onto the training subset's healthy level (above).
// A regime with fewer than 10 rows in the first `cycles` cycles learns from all its rows; a
// column constant in a regime is shifted, not scaled.
CmapssRegimeMapping map_cmapss_regimes(std::vector<CmapssEngine>& engines, const CmapssHealthyBaseline& baseline);

}  // namespace edgeloop::eval
