// Small pieces every evaluation shares: number formatting for the report lines, where plots
// go, and reading a step's option out of a pipeline config.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/app_config.h"
#include "core/result.h"

namespace edgeloop::eval {

// `v` formatted with a printf format of one double (e.g. "%.2f").
std::string format_number(const char* printf_format, double v);
// "<report without .json>_plots".
std::string plots_dir_for(const std::string& report);
// The SVG of series "a/b.csv" (or "a/b") is "a__b.svg" in the plots folder.
std::string plot_file_name(const std::string& series);
// Writes the JSON report (indented, atomically), creating its folder.
Status write_report(const std::string& path, const nlohmann::json& report);
// The array `key` of a JSON object (a model sidecar), element by element; errors name `name`
// and the key. json_int_array also refuses an empty array.
Result<std::vector<int>> json_int_array(const nlohmann::json& j, const char* key, const std::string& name);
Result<std::vector<double>> json_number_array(const nlohmann::json& j, const char* key, const std::string& name);
// The option `key` of a step written as a map, or null.
const ConfigNode* step_option(const StepConfig& step, std::string_view key);
// The option `key` of a step as a duration ("2s", "10ms"); kNotFound when absent or written
// as a plain count.
Result<int64_t> step_duration_option(const StepConfig& step, std::string_view key);

}  // namespace edgeloop::eval
