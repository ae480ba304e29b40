#include "eval/report_util.h"

#include <cstdio>
#include <filesystem>

#include "core/options.h"
#include "eval/text_io.h"

namespace edgeloop::eval {

std::string format_number(const char* printf_format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, printf_format, v);
  return buf;
}

std::string plots_dir_for(const std::string& report) {
  std::string stem = report;
  if (stem.size() > 5 && stem.substr(stem.size() - 5) == ".json") stem.resize(stem.size() - 5);
  return stem + "_plots";
}

std::string plot_file_name(const std::string& series) {
  std::string n;
  for (char c : series) n += (c == '/' || c == '\\') ? std::string("__") : std::string(1, c);
  if (n.size() > 4 && n.substr(n.size() - 4) == ".csv") n.resize(n.size() - 4);
  return n + ".svg";
}

Result<std::vector<int>> json_int_array(const nlohmann::json& j, const char* key, const std::string& name) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->empty())
    return make_error(Errc::kParse, name + ": '" + key + "' must be a non-empty array of integers");
  std::vector<int> out;
  for (const auto& v : *it) {
    if (!v.is_number_integer()) return make_error(Errc::kParse, name + ": '" + key + "' must hold integers");
    out.push_back(v.get<int>());
  }
  return out;
}

Result<std::vector<double>> json_number_array(const nlohmann::json& j, const char* key, const std::string& name) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return make_error(Errc::kParse, name + ": '" + key + "' must be an array");
  std::vector<double> out;
  for (const auto& v : *it) {
    if (!v.is_number()) return make_error(Errc::kParse, name + ": '" + key + "' must hold numbers");
    out.push_back(v.get<double>());
  }
  return out;
}

Status write_report(const std::string& path, const nlohmann::json& report) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  return write_file_atomic(path, report.dump(2) + "\n");
}

const ConfigNode* step_option(const StepConfig& step, std::string_view key) {
  return step.node.is_map() ? step.node.find(key) : nullptr;
}

Result<int64_t> step_duration_option(const StepConfig& step, std::string_view key) {
  const ConfigNode* node = step_option(step, key);
  if (node == nullptr || !node->is_scalar() || parse_int(node->str()).ok())
    return make_error(Errc::kNotFound, std::string(key) + " is not a duration");
  return parse_duration_ns(node->str());
}

}  // namespace edgeloop::eval
