// SKAB (Skoltech Anomaly Benchmark): the experiment CSVs (`;`-separated, a `datetime` column,
// sensor columns, `anomaly` and `changepoint` 0/1 columns) and the leaderboard's outlier
// metrics: per-row TP/FP/FN/TN over the test part of every file (the rows after the first
// 400, which are the training part), summed; F1 = TP / (TP + (FP + FN) / 2) rounded to two
// decimals, FAR = FP / (FP + TN) and MAR = FN / (FN + TP), in percent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace edgeloop::eval {

inline constexpr std::size_t kSkabTrainRows = 400;

struct SkabFile {
  std::string name;                  // relative to the data folder, e.g. "valve1/0.csv"
  std::vector<std::string> columns;  // the sensor columns
  std::vector<int64_t> ts_ns;
  std::vector<std::vector<double>> rows;  // sensor values per row
  std::vector<uint8_t> anomaly;
  std::vector<uint8_t> changepoint;
};

// One file. Columns other than datetime, anomaly and changepoint are sensors.
Result<SkabFile> load_skab_csv(const std::string& path, std::string name);
// Every CSV under DIR (recursively) that has an `anomaly` column, sorted by name; files in a
// folder named `anomaly-free` are left out (the leaderboard does not use them).
// `only`: if not empty, keep the files whose name contains it.
Result<std::vector<SkabFile>> load_skab_folder(const std::string& dir, const std::string& only = "");

struct SkabCounts {
  std::size_t tp = 0, fp = 0, fn = 0, tn = 0;
  void add(const SkabCounts& o) {
    tp += o.tp;
    fp += o.fp;
    fn += o.fn;
    tn += o.tn;
  }
};

// Counts the rows from `first_row` on (predicted vs labelled, both 0/1).
SkabCounts skab_count(const std::vector<uint8_t>& predicted, const std::vector<uint8_t>& labels,
                      std::size_t first_row = kSkabTrainRows);

struct SkabMetrics {
  double f1 = 0;        // unrounded
  double f1_rounded = 0;
  double far = 0;       // percent
  double mar = 0;       // percent
};
SkabMetrics skab_metrics(const SkabCounts& c);

}  // namespace edgeloop::eval
