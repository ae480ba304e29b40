// Replays data sets through a real Runtime built from a pipeline config, as fast as the
// machine allows, in event time: every series is one key of the config's first source (which
// must be `type: inproc`), its rows are pushed in order, and the events that come out are
// collected per row: the score (the `score` field of the insight events, e.g. from
// `detect: {emit: every}`) and the alert state (rules' raised/cleared alerts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/app_config.h"
#include "core/record.h"
#include "core/registry.h"
#include "core/result.h"

namespace edgeloop::eval {

struct ReplaySeries {
  std::string key;                          // the stream key (e.g. the file's name)
  const std::vector<int64_t>* ts_ns = nullptr;
  std::vector<std::string> columns;         // what each value of a row is
  // Row i's values, in `columns` order: values[i * columns.size() + c].
  std::vector<double> values;
  // Optional (vibration): one sample block per row, pushed as that row's Record::block, so
  // that op.samples / op.envelope / op.features see the samples. Empty: scalar rows only.
  std::vector<std::shared_ptr<const SampleBlock>> blocks;
  std::size_t rows() const { return ts_ns ? ts_ns->size() : 0; }
};

struct ReplayOutput {
  std::vector<double> score;     // per row; NaN where no event carried a score
  std::vector<uint8_t> alert;    // per row: 1 while an alert of the key is raised
  // collected[j][row]: the value of field `collect[j]` (replay's argument) in the record that
  // left the pipeline for that row (or the insight event that carried it); NaN where none.
  std::vector<std::vector<double>> collected;
  std::size_t alerts_raised = 0;
  std::size_t score_events = 0;
  std::size_t unmatched_events = 0;  // events whose time matched no row (should be 0)
};

struct ReplayStats {
  std::size_t rows = 0;
  std::size_t points = 0;   // scalar values pushed (rows x fields)
  std::size_t samples = 0;  // samples pushed in blocks (ReplaySeries::blocks)
  double seconds = 0;       // from the first push until every event was delivered
  double rows_per_s() const { return seconds > 0 ? static_cast<double>(rows) / seconds : 0; }
  double points_per_s() const { return seconds > 0 ? static_cast<double>(points) / seconds : 0; }
  double samples_per_s() const { return seconds > 0 ? static_cast<double>(samples) / seconds : 0; }
  bool has_rules = false;   // the pipeline holds a rule step (alerts are predictions)
};

// Called with (rows pushed, rows in all) now and then, from the replaying thread.
using ReplayProgress = std::function<void(std::size_t done, std::size_t total)>;

// Builds the Runtime from `config`, replays every series (one after the other), stops the
// Runtime (which delivers every event) and returns one output per series.
// `collect` names further output fields to keep per row (e.g. the envelope's bpfo, bpfi): read
// from the records that leave the pipeline (an error if its output lacks one), or, when the
// scores come from insight events, from the events that carry them.
// A record that leaves the pipeline is filed under the row with its timestamp (a window of
// op.samples under the row whose block it starts at); rows without one keep NaN.
Result<std::vector<ReplayOutput>> replay(const AppConfig& config, const Registry& registry,
                                         const std::vector<ReplaySeries>& series, ReplayStats& stats,
                                         const ReplayProgress& progress = {},
                                         const std::vector<std::string>& collect = {});

// Loads a config from a file, or from `fallback_text` (an embedded example) when `path` is
// empty; the summary log line is turned off (it would interleave with the progress bar).
Result<AppConfig> load_eval_config(const std::string& path, const char* fallback_text, const char* fallback_name);

}  // namespace edgeloop::eval
