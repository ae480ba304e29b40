// `edgeloop bench t1`: the T1 rule engine without a broker. An in-process source replays
// pre-generated T1 payloads (WORKLOADS.md: {"ts":..,"v":..} per device, round robin) through
// the JSON codec and the real runtime (window + rule + dispatcher + a counting action), on
// one core, and checks every alert against a reference simulation of the rule.
#pragma once

#include <cstdint>
#include <string>

#include "core/registry.h"

namespace edgeloop {

struct BenchT1Options {
  int devices = 1000;
  int64_t messages = 4'000'000;
  bool decode = true;  // false: records are pre-decoded, measuring the engine alone
  int shards = 0;      // 0: inline (the source thread runs the pipeline)
  bool pin = true;     // pin every thread to one CPU
};

struct BenchT1Result {
  int64_t messages = 0;
  double seconds = 0;
  double readings_per_s = 0;
  double cpu_seconds = 0;
  uint64_t expected_alerts = 0;
  uint64_t received_alerts = 0;
  uint64_t wrong_alerts = 0;
  bool correct = false;
  std::string to_json() const;
};

Result<BenchT1Result> run_bench_t1(const BenchT1Options& options, const Registry& registry);

}  // namespace edgeloop
