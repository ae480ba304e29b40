#include "eval/nab_scorer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "eval/text_io.h"

namespace edgeloop::eval {

const std::vector<NabProfile>& nab_profiles() {
  static const std::vector<NabProfile> p = {
      {"standard", 1.0, 0.11, 1.0},
      {"reward_low_FP_rate", 1.0, 0.22, 1.0},
      {"reward_low_FN_rate", 1.0, 0.11, 2.0},
  };
  return p;
}

Result<std::vector<NabProfile>> load_nab_profiles(const std::string& path) {
  EDGELOOP_ASSIGN_OR_RETURN(std::string text, read_file(path));
  std::vector<NabProfile> out;
  try {
    const auto j = nlohmann::json::parse(text);
    for (const auto& [name, v] : j.items()) {
      const auto& cm = v.at("CostMatrix");
      out.push_back({name, cm.at("tpWeight").get<double>(), cm.at("fpWeight").get<double>(), cm.at("fnWeight").get<double>()});
    }
  } catch (const std::exception& e) {
    return make_error(Errc::kParse, path + ": " + e.what());
  }
  return out;
}

double nab_scaled_sigmoid(double x) {
  if (x >= 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * x)) - 1.0;
}

std::size_t nab_probation_rows(std::size_t rows) {
  return std::min(static_cast<std::size_t>(std::floor(0.15 * static_cast<double>(rows))), std::size_t{750});
}

NabSweep nab_sweep(std::size_t rows, const std::vector<RowWindow>& windows) {
  NabSweep s;
  s.rows = rows;
  s.all_windows = windows.size();
  s.probation = nab_probation_rows(rows);
  s.window.assign(rows, -1);
  s.value.assign(rows, -1.0);
  const double max_tp = nab_scaled_sigmoid(-1.0);
  // Windows in order; a later window that overlaps an earlier one takes over from its first row,
  // as NAB's sweep does.
  for (std::size_t w = 0; w < windows.size(); ++w) {
    const std::size_t first = std::min(windows[w].first, rows);
    const std::size_t last = std::min(windows[w].last, rows - 1);
    const double width = static_cast<double>(last - first + 1);
    for (std::size_t i = first; i <= last && i < rows; ++i) {
      s.window[i] = static_cast<int32_t>(w);
      const double p = -static_cast<double>(last - i + 1) / width;
      s.value[i] = nab_scaled_sigmoid(p) / max_tp;
    }
  }
  // Outside: the cost depends on the distance to the end of the most recent window.
  bool have_prev = false;
  std::size_t prev_last = 0, prev_width = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    if (s.window[i] >= 0) {
      const auto& w = windows[static_cast<std::size_t>(s.window[i])];
      if (i == std::min(w.last, rows - 1)) {
        have_prev = true;
        prev_last = i;
        prev_width = std::min(w.last, rows - 1) - w.first + 1;
      }
      continue;
    }
    if (!have_prev || prev_width < 2) {
      s.value[i] = -1.0;
    } else {
      s.value[i] = nab_scaled_sigmoid(static_cast<double>(i - prev_last) / static_cast<double>(prev_width - 1));
    }
  }
  std::vector<char> counted(windows.size(), 0);
  for (std::size_t i = s.probation; i < rows; ++i) {
    if (s.window[i] >= 0 && !counted[static_cast<std::size_t>(s.window[i])]) {
      counted[static_cast<std::size_t>(s.window[i])] = 1;
      ++s.n_windows;
    }
  }
  return s;
}

NabFileScore nab_score_file(const NabSweep& sweep, const std::vector<double>& scores, double threshold,
                            const NabProfile& profile) {
  NabFileScore out;
  const std::size_t n_windows = sweep.all_windows;
  out.first_detection.assign(n_windows, std::numeric_limits<std::size_t>::max());
  std::vector<char> present(n_windows, 0);
  double fp_cost = 0;
  for (std::size_t i = sweep.probation; i < sweep.rows && i < scores.size(); ++i) {
    const bool det = scores[i] >= threshold;
    const int32_t w = sweep.window[i];
    if (w >= 0) {
      present[static_cast<std::size_t>(w)] = 1;
      if (det) {
        ++out.counts.tp;
        auto& fd = out.first_detection[static_cast<std::size_t>(w)];
        fd = std::min(fd, i);
      } else {
        ++out.counts.fn;
      }
    } else if (det) {
      ++out.counts.fp;
      fp_cost += sweep.value[i] * profile.a_fp;
    } else {
      ++out.counts.tn;
    }
  }
  double raw = fp_cost;
  for (std::size_t w = 0; w < n_windows; ++w) {
    if (!present[w]) continue;
    ++out.windows;
    const std::size_t fd = out.first_detection[w];
    if (fd == std::numeric_limits<std::size_t>::max()) {
      raw -= profile.a_fn;
    } else {
      ++out.windows_detected;
      // The earliest detection is the best one (the sigmoid falls through the window).
      raw += sweep.value[fd] * profile.a_tp;
    }
  }
  out.raw = raw;
  return out;
}

NabThreshold nab_optimize_threshold(const std::vector<NabSweep>& sweeps, const std::vector<std::vector<double>>& scores,
                                    const NabProfile& profile) {
  struct Row {
    double score;
    double value;
    int32_t window;  // corpus-wide window id, or -1
  };
  std::vector<Row> rows;
  std::size_t window_base = 0;
  std::vector<double> best;  // per corpus window: its credit so far
  double total = 0;
  for (std::size_t f = 0; f < sweeps.size(); ++f) {
    const NabSweep& s = sweeps[f];
    for (std::size_t i = s.probation; i < s.rows && i < scores[f].size(); ++i) {
      const int32_t w = s.window[i];
      rows.push_back({scores[f][i], s.value[i], w < 0 ? -1 : static_cast<int32_t>(window_base) + w});
    }
    // NaN: the window has no row after the probation (it is not scored).
    best.resize(best.size() + s.all_windows, std::numeric_limits<double>::quiet_NaN());
    window_base = best.size();
  }
  for (const Row& r : rows) {
    if (r.window >= 0 && std::isnan(best[static_cast<std::size_t>(r.window)])) {
      best[static_cast<std::size_t>(r.window)] = -profile.a_fn;
      total -= profile.a_fn;
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.score > b.score; });
  NabThreshold result{1.1, total};
  double cur = 1.1;
  for (const Row& r : rows) {
    if (r.score != cur) {
      if (total > result.raw) result = {cur, total};
      cur = r.score;
    }
    if (r.window < 0) {
      total += r.value * profile.a_fp;
    } else {
      double& b = best[static_cast<std::size_t>(r.window)];
      const double credit = r.value * profile.a_tp;
      if (credit > b) {
        total += credit - b;
        b = credit;
      }
    }
  }
  if (total > result.raw) result = {cur, total};
  return result;
}

double nab_normalize(double raw, std::size_t n_windows, const NabProfile& profile) {
  const double n = static_cast<double>(n_windows);
  const double null_raw = -profile.a_fn * n;
  const double perfect_raw = profile.a_tp * n;
  if (perfect_raw == null_raw) return 0;
  return 100.0 * (raw - null_raw) / (perfect_raw - null_raw);
}

NabProfileResult nab_score_corpus_at(const std::vector<NabSweep>& sweeps, const std::vector<std::vector<double>>& scores,
                                     const NabProfile& profile, double threshold) {
  NabProfileResult out;
  out.profile = profile;
  out.threshold = threshold;
  std::size_t windows = 0;
  for (std::size_t f = 0; f < sweeps.size(); ++f) {
    out.files.push_back(nab_score_file(sweeps[f], scores[f], threshold, profile));
    out.raw += out.files.back().raw;
    windows += out.files.back().windows;
  }
  out.score = nab_normalize(out.raw, windows, profile);
  return out;
}

NabProfileResult nab_score_corpus(const std::vector<NabSweep>& sweeps, const std::vector<std::vector<double>>& scores,
                                  const NabProfile& profile) {
  const NabThreshold t = nab_optimize_threshold(sweeps, scores, profile);
  return nab_score_corpus_at(sweeps, scores, profile, t.threshold);
}

}  // namespace edgeloop::eval
