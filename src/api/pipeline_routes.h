// GET /api/v1/pipelines: every pipeline's source, stages (type, options, records in and out
// from the runtime's counters, a rate from two samples) and the thresholds of its rules,
// read from their `when` and `clear` texts (the dashboard draws them on the charts).
#pragma once

#include <string>
#include <vector>

#include "api/http_server.h"
#include "config/app_config.h"
#include "runtime/runtime.h"

namespace edgeloop {

struct Threshold {
  std::string pipeline;
  std::string stage;  // the rule's name (`name`, default "rule")
  std::string field;
  std::string op;     // ">", ">=", "<", "<=", "==", "!="
  double value = 0;
  std::string kind;   // "when" | "clear"
};

// The `field OP number` (or `number OP field`, turned around) comparisons of an expression's
// text; anything else in it (arithmetic, calls) is skipped, not guessed.
std::vector<Threshold> thresholds_of(const std::string& text);
// Every rule step's thresholds, pipelines in config order.
std::vector<Threshold> pipeline_thresholds(const AppConfig& config);

// Registers GET /api/v1/pipelines (role read). `config` and `runtime` must outlive the server.
void register_pipeline_routes(ApiServer& api, Runtime& runtime, const AppConfig& config);

}  // namespace edgeloop
