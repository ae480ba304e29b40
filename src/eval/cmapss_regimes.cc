#include "eval/cmapss_regimes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "eval/report_util.h"

namespace edgeloop::eval {

namespace {

constexpr std::size_t kMinHealthyRows = 10;

struct Level {
  std::vector<double> sum, sum_sq;
  std::size_t n = 0;
};

}  // namespace

Result<std::optional<CmapssHealthyBaseline>> parse_cmapss_healthy_baseline(std::string_view json,
                                                                           const std::string& name) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error(Errc::kParse, name + ": not a JSON object");
  auto it = j.find("healthy_baseline");
  if (it == j.end()) return std::optional<CmapssHealthyBaseline>{};
  const std::string where = name + ": healthy_baseline";
  if (!it->is_object()) return make_error(Errc::kParse, where + " must be an object");
  CmapssHealthyBaseline b;
  EDGELOOP_ASSIGN_OR_RETURN(b.settings, json_number_array(*it, "settings", where));
  EDGELOOP_ASSIGN_OR_RETURN(b.mean, json_number_array(*it, "mean", where));
  EDGELOOP_ASSIGN_OR_RETURN(b.std, json_number_array(*it, "std", where));
  EDGELOOP_ASSIGN_OR_RETURN(std::vector<double> columns, json_number_array(*it, "columns", where));
  for (double c : columns) {
    if (c != std::floor(c) || c < 5 || c >= kCmapssColumns)
      return make_error(Errc::kParse, where + ".columns: " + std::to_string(c) + " is not a sensor column (5..25)");
    b.columns.push_back(static_cast<int>(c));
  }
  if (b.settings.size() != 3) return make_error(Errc::kParse, where + ".settings needs the 3 settings");
  if (b.columns.empty() || b.mean.size() != b.columns.size() || b.std.size() != b.columns.size())
    return make_error(Errc::kParse, where + ": columns, mean and std need one value per column");
  if (auto c = it->find("cycles"); c != it->end()) {
    if (!c->is_number_integer() || c->get<int>() < 1) return make_error(Errc::kParse, where + ".cycles must be >= 1");
    b.cycles = c->get<int>();
  }
  return std::optional<CmapssHealthyBaseline>(std::move(b));
}

CmapssRegime cmapss_regime_of(double altitude, double mach, double throttle) {
  return CmapssRegime{std::lround(altitude), std::lround(mach * 100), std::lround(throttle)};
}

CmapssRegime cmapss_regime_of(const double* row) { return cmapss_regime_of(row[2], row[3], row[4]); }

CmapssRegimeMapping map_cmapss_regimes(std::vector<CmapssEngine>& engines, const CmapssHealthyBaseline& baseline) {
  const std::size_t nc = baseline.columns.size();
  std::vector<CmapssRegime> regimes;
  std::vector<Level> healthy, all;
  const auto regime_index = [&](const CmapssRegime& r) {
    for (std::size_t i = 0; i < regimes.size(); ++i)
      if (regimes[i] == r) return i;
    regimes.push_back(r);
    healthy.push_back(Level{std::vector<double>(nc), std::vector<double>(nc), 0});
    all.push_back(Level{std::vector<double>(nc), std::vector<double>(nc), 0});
    return regimes.size() - 1;
  };
  const auto add = [&](Level& l, const double* row) {
    for (std::size_t c = 0; c < nc; ++c) {
      const double x = row[baseline.columns[c]];
      l.sum[c] += x;
      l.sum_sq[c] += x * x;
    }
    ++l.n;
  };
  for (const CmapssEngine& e : engines) {
    for (std::size_t r = 0; r < e.rows(); ++r) {
      const double* row = &e.values[r * kCmapssColumns];
      const std::size_t k = regime_index(cmapss_regime_of(row));
      add(all[k], row);
      if (row[1] <= baseline.cycles) add(healthy[k], row);
    }
  }
  CmapssRegimeMapping m;
  m.regimes = regimes.size();
  const CmapssRegime train = cmapss_regime_of(baseline.settings[0], baseline.settings[1], baseline.settings[2]);
  if (regimes.size() == 1 && regimes[0] == train) {
    m.text = "one operating regime, the training one: sensors as read";
    return m;
  }
  // Per regime and column: x' = x * scale + shift.
  std::vector<std::vector<double>> scale(regimes.size(), std::vector<double>(nc, 1.0));
  std::vector<std::vector<double>> shift(regimes.size(), std::vector<double>(nc, 0.0));
  std::size_t from_all = 0;
  for (std::size_t k = 0; k < regimes.size(); ++k) {
    const Level& l = healthy[k].n >= kMinHealthyRows ? healthy[k] : all[k];
    from_all += healthy[k].n < kMinHealthyRows;
    const double n = static_cast<double>(l.n);
    for (std::size_t c = 0; c < nc; ++c) {
      const double mean = l.sum[c] / n;
      const double var = std::max(0.0, l.sum_sq[c] / n - mean * mean);
      const double sd = std::sqrt(var);
      const bool constant = sd <= 1e-9 * std::max(1.0, std::abs(mean)) || baseline.std[c] <= 0;
      scale[k][c] = constant ? 1.0 : baseline.std[c] / sd;
      shift[k][c] = baseline.mean[c] - mean * scale[k][c];
    }
  }
  for (CmapssEngine& e : engines) {
    for (std::size_t r = 0; r < e.rows(); ++r) {
      double* row = &e.values[r * kCmapssColumns];
      const std::size_t k = regime_index(cmapss_regime_of(row));
      for (std::size_t c = 0; c < nc; ++c) {
        double& x = row[baseline.columns[c]];
        x = x * scale[k][c] + shift[k][c];
      }
    }
  }
  m.applied = true;
  char line[200];
  std::snprintf(line, sizeof(line),
                "%zu operating regimes: each mapped onto the training regime's healthy level (its rows of cycles "
                "<= %d%s)",
                regimes.size(), baseline.cycles,
                from_all > 0 ? "; regimes with fewer than 10 such rows: all their rows" : "");
  m.text = line;
  return m;
}

}  // namespace edgeloop::eval
