// NASA IMS run-to-failure features (`../shared/data/ims`): loading the per-snapshot CSVs, the
// rig reference each bearing channel is compared with, and the scoring of alarms per bearing
// (lead time before the last running snapshot, alarms on the bearings that survived).
// Implemented in ims_eval.cc, with `run_ims_eval`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace edgeloop::eval {

// One run-to-failure test: `merged_dataset_BearingTest_<n>.csv`, a header (an empty first
// name, then one name per accelerometer channel: "Bearing k" or "Bearing k C1"), then one row
// per snapshot: "YYYY-MM-DD HH:MM:SS" and each channel's mean |acceleration| in g.
struct ImsTest {
  int number = 0;                 // n of the file name
  std::string file;               // the file's name
  std::vector<std::string> channels;  // column names, as in the header
  std::vector<int> bearing;       // per channel: its bearing (k)
  std::vector<std::string> suffix;  // per channel: what follows "Bearing k " ("C1"), or ""
  // Running snapshots only (see stopped_rows), in file order.
  std::vector<int64_t> ts_ns;
  std::vector<std::vector<double>> values;  // values[channel][row]
  std::size_t stopped_rows = 0;   // snapshots of a stopped rig, left out (test 2 ends with two)
  std::vector<int> failed;        // bearings that failed at the end of the test (ims_failed_bearings)

  std::vector<int> bearings() const;  // distinct, ascending
  std::size_t rows() const { return ts_ns.size(); }
  // The stream key of a channel: "test2/bearing1", "test1/bearing3_c1".
  std::string key(std::size_t channel) const;
};

// The bearings that failed at the end of IMS test n (NASA's documentation; the data README):
// test 1: inner race (3) and roller (4); test 2: outer race (1); test 3: outer race (3).
// Empty for another n (unknown: such a test is not scored).
std::vector<int> ims_failed_bearings(int test);

// Reads one test. A snapshot is a stopped rig (left out, counted) when the median of its
// channels is below 10 % of the median of that over the whole file: the rig's vibration is
// gone, so the row says nothing about the bearings (test 2's last two rows).
Result<ImsTest> load_ims_csv(const std::string& path, int number);
// Every `merged_dataset_BearingTest_<n>.csv` in DIR (not recursive), by n; `only` keeps the
// files whose name contains it. kNotFound when there is none.
Result<std::vector<ImsTest>> load_ims_folder(const std::string& dir, const std::string& only = "");

// The rig reference of a channel, per row: the mean level of the *other* bearings (a bearing's
// level: the mean of its channels). Its ratio `v / rig` cancels what moves every bearing alike
// (the rig restarted with another level in test 1, the whole rig shaking when one bearing
// breaks) and keeps what one bearing does alone. NaN when the test has a single bearing.
std::vector<double> ims_rig_reference(const ImsTest& test, std::size_t channel);

// The outcome of one bearing: its first alarm (the earliest over its channels).
struct ImsBearingOutcome {
  int test = 0;
  int bearing = 0;
  bool failed = false;
  int64_t first_alarm_ns = -1;    // -1: never alarmed
  std::string first_channel;      // the channel that alarmed first
  double lead_hours = 0;          // last running snapshot - first alarm, in hours (alarmed only)
  std::size_t alerts_raised = 0;  // over its channels
  // Healthy bearings: it alarmed before the earliest alarm of a failing bearing of its test
  // (or a failing bearing never alarmed).
  bool before_failing = false;
};

struct ImsScore {
  std::size_t tests = 0, bearings = 0, failed = 0, detected = 0;
  std::size_t false_alarms = 0;                 // healthy bearings that alarmed at all
  std::size_t false_alarms_before_failing = 0;  // ... before the failing bearing of their test
  std::vector<ImsBearingOutcome> outcomes;      // by test, then bearing
  // The lead of a (test, bearing), or a negative number when it did not alarm / is unknown.
  double lead_hours(int test, int bearing) const;
};

// Scores the alarms: first_alarm_row[t][c] is the first row of test t's channel c with an
// alert raised (SIZE_MAX: none), alerts[t][c] how many were raised. Tests whose failures are
// unknown (ims_failed_bearings empty) are left out.
ImsScore score_ims(const std::vector<ImsTest>& tests, const std::vector<std::vector<std::size_t>>& first_alarm_row,
                   const std::vector<std::vector<std::size_t>>& alerts_raised);

}  // namespace edgeloop::eval
