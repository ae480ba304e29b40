#include "eval/evaluation.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "eval/example_configs.h"
#include "eval/nab_corpus.h"
#include "eval/nab_scorer.h"
#include "eval/report_util.h"
#include "eval/skab.h"
#include "eval/svg_plot.h"
#include "eval/text_io.h"

namespace edgeloop::eval {

const char* builtin_nab_config() {
  return generated::kNabYaml;
}
const char* builtin_skab_config() {
  return generated::kSkabYaml;
}
const char* builtin_cwru_config() {
  return generated::kCwruYaml;
}
const char* builtin_ims_config() {
  return generated::kImsYaml;
}
const char* builtin_bearing_sim_config() {
  return generated::kBearingSimYaml;
}

namespace {

// "<report without .json>_plots"; the plot of series "a/b.csv" is "a__b.svg" in it.

std::string replay_line(const ReplayStats& st) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "replay: %zu rows, %zu scalar points in %.3f s: %.2f million points/s (%.2f million rows/s)", st.rows,
                st.points, st.seconds, st.points_per_s() * 1e-6, st.rows_per_s() * 1e-6);
  return buf;
}

nlohmann::json replay_json(const ReplayStats& st) {
  return {{"rows", st.rows},
          {"points", st.points},
          {"seconds", st.seconds},
          {"rows_per_s", st.rows_per_s()},
          {"points_per_s", st.points_per_s()}};
}

double nan_to_zero(double v) {
  return std::isnan(v) ? 0.0 : v;
}

}  // namespace

ReplayProgress stderr_progress(const std::string& label) {
  auto last = std::make_shared<int64_t>(0);
  return [label, last](std::size_t done, std::size_t total) {
    const int64_t now = mono_now_ns();
    if (done < total && now - *last < 100'000'000) return;
    *last = now;
    const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int width = 30, fill = static_cast<int>(frac * width);
    std::string bar(static_cast<std::size_t>(fill), '#');
    bar.append(static_cast<std::size_t>(width - fill), '.');
    std::fprintf(stderr, "\r%s [%s] %3.0f%%  %zu/%zu rows", label.c_str(), bar.c_str(), frac * 100, done, total);
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

Result<EvalResult> run_nab_eval(const EvalOptions& o, const Registry& registry) {
  EDGELOOP_ASSIGN_OR_RETURN(NabCorpus corpus, load_nab_corpus(o.data_dir, o.only));
  std::vector<NabProfile> profiles = nab_profiles();
  if (std::filesystem::exists(o.data_dir + "/profiles.json")) {
    EDGELOOP_ASSIGN_OR_RETURN(profiles, load_nab_profiles(o.data_dir + "/profiles.json"));
  }
  EDGELOOP_ASSIGN_OR_RETURN(AppConfig config,
                            load_eval_config(o.config_path, builtin_nab_config(), "<built-in examples/nab.yaml>"));

  std::vector<ReplaySeries> series;
  for (const auto& f : corpus.files) {
    ReplaySeries s;
    s.key = f.name;
    s.ts_ns = &f.ts_ns;
    s.columns = {"value"};
    s.values = f.values;
    series.push_back(std::move(s));
  }
  EvalResult res;
  EDGELOOP_ASSIGN_OR_RETURN(auto outputs, replay(config, registry, series, res.stats,
                                                 o.progress ? stderr_progress("nab") : ReplayProgress{}));

  std::vector<NabSweep> sweeps;
  std::vector<std::vector<double>> scores;
  std::size_t missing = 0;
  for (std::size_t f = 0; f < corpus.files.size(); ++f) {
    sweeps.push_back(nab_sweep(corpus.files[f].values.size(), corpus.files[f].windows));
    std::vector<double> s(outputs[f].score.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (std::isnan(outputs[f].score[i])) ++missing;
      s[i] = std::clamp(nan_to_zero(outputs[f].score[i]), 0.0, 1.0);
    }
    scores.push_back(std::move(s));
  }
  if (missing == corpus.rows()) {
    return make_error(Errc::kInvalidConfig,
                      "no score came out of the pipeline: it needs a step that emits insight events "
                      "with a `score` field for every record (e.g. `detect: {emit: every}`)");
  }
  std::vector<NabProfileResult> results;
  for (const auto& p : profiles) results.push_back(nab_score_corpus(sweeps, scores, p));
  auto find = [&](const std::string& name) -> const NabProfileResult* {
    for (const auto& r : results)
      if (r.profile.name == name) return &r;
    return nullptr;
  };
  const NabProfileResult* standard = find("standard");
  const NabProfileResult* low_fp = find("reward_low_FP_rate");
  const NabProfileResult* low_fn = find("reward_low_FN_rate");
  if (!standard || !low_fp || !low_fn)
    return make_error(Errc::kInvalidArgument, "profiles.json lacks one of NAB's three profiles");

  res.text = replay_line(res.stats) + "\n";
  char buf[256];
  for (const auto* r : {standard, low_fp, low_fn}) {
    std::snprintf(buf, sizeof buf, "nab %-19s score %6.2f  (threshold %.6f, raw %.3f, %zu windows)\n",
                  r->profile.name.c_str(), r->score, r->threshold, r->raw, corpus.windows());
    res.text += buf;
  }
  if (missing > 0) res.text += "warning: " + std::to_string(missing) + " rows got no score (counted as 0)\n";

  if (!o.report_path.empty()) {
    nlohmann::json report;
    report["dataset"] = "nab";
    report["data"] = o.data_dir;
    report["config"] = o.config_path.empty() ? "<built-in examples/nab.yaml>" : o.config_path;
    report["files"] = corpus.files.size();
    report["windows"] = corpus.windows();
    report["rows"] = corpus.rows();
    report["rows_without_score"] = missing;
    report["replay"] = replay_json(res.stats);
    for (const auto& r : results) {
      report["profiles"][r.profile.name] = {
          {"score", r.score},
          {"threshold", r.threshold},
          {"raw", r.raw},
          {"weights", {{"tp", r.profile.a_tp}, {"fp", r.profile.a_fp}, {"fn", r.profile.a_fn}}}};
    }
    report["published_on_these_41_files"] = {{"CAD OSE", 75.89}, {"Numenta HTM", 75.52}, {"ARTime", 74.60}};
    const std::string plots = plots_dir_for(o.report_path);
    if (o.plots) {
      std::error_code ec;
      std::filesystem::create_directories(plots, ec);
      if (ec) return make_error(Errc::kIo, "cannot create " + plots + ": " + ec.message());
    }
    nlohmann::json per_file = nlohmann::json::array();
    for (std::size_t f = 0; f < corpus.files.size(); ++f) {
      const auto& file = corpus.files[f];
      const auto& fs = standard->files[f];
      nlohmann::json j = {{"file", file.name},
                          {"rows", file.values.size()},
                          {"windows", fs.windows},
                          {"windows_detected", fs.windows_detected},
                          {"false_positive_rows", fs.counts.fp},
                          {"raw_standard", fs.raw},
                          {"raw_reward_low_FP_rate", low_fp->files[f].raw},
                          {"raw_reward_low_FN_rate", low_fn->files[f].raw},
                          {"alerts_raised", outputs[f].alerts_raised}};
      if (o.plots) {
        PlotSpec spec;
        spec.title =
            file.name + "  (NAB standard: detections at threshold " + format_number("%.2f", standard->threshold) + ")";
        spec.ts_ns = file.ts_ns;
        spec.signal_names = {"value"};
        spec.signals = {file.values};
        spec.score = outputs[f].score;
        spec.threshold = standard->threshold;
        spec.labels = file.windows;
        spec.alerts.resize(file.values.size());
        for (std::size_t i = 0; i < spec.alerts.size(); ++i)
          spec.alerts[i] = scores[f][i] >= standard->threshold || outputs[f].alert[i];
        spec.unscored_rows = sweeps[f].probation;
        const std::string name = plot_file_name(file.name);
        EDGELOOP_TRY(write_file_atomic(plots + "/" + name, render_svg(spec)));
        j["plot"] = std::filesystem::path(plots).filename().string() + "/" + name;
      }
      per_file.push_back(std::move(j));
    }
    report["per_file"] = std::move(per_file);
    EDGELOOP_TRY(write_report(o.report_path, report));
    res.text += "report: " + o.report_path + (o.plots ? " (plots in " + plots + "/)" : std::string()) + "\n";
  }
  res.summary_json = "{\"dataset\":\"nab\",\"files\":" + std::to_string(corpus.files.size()) +
                     ",\"standard\":" + format_number("%.2f", standard->score) +
                     ",\"reward_low_FP_rate\":" + format_number("%.2f", low_fp->score) +
                     ",\"reward_low_FN_rate\":" + format_number("%.2f", low_fn->score) + "}";
  return res;
}

Result<EvalResult> run_skab_eval(const EvalOptions& o, const Registry& registry) {
  EDGELOOP_ASSIGN_OR_RETURN(auto files, load_skab_folder(o.data_dir, o.only));
  EDGELOOP_ASSIGN_OR_RETURN(AppConfig config,
                            load_eval_config(o.config_path, builtin_skab_config(), "<built-in examples/skab.yaml>"));
  std::vector<ReplaySeries> series;
  for (const auto& f : files) {
    ReplaySeries s;
    s.key = f.name;
    s.ts_ns = &f.ts_ns;
    s.columns = f.columns;
    s.values.reserve(f.rows.size() * f.columns.size());
    for (const auto& r : f.rows) s.values.insert(s.values.end(), r.begin(), r.end());
    series.push_back(std::move(s));
  }
  EvalResult res;
  EDGELOOP_ASSIGN_OR_RETURN(auto outputs, replay(config, registry, series, res.stats,
                                                 o.progress ? stderr_progress("skab") : ReplayProgress{}));
  // Predictions: the alert state when the pipeline has a rule, else score >= 0.5.
  SkabCounts total;
  std::vector<std::vector<uint8_t>> predicted(files.size());
  std::vector<SkabCounts> per(files.size());
  for (std::size_t f = 0; f < files.size(); ++f) {
    auto& p = predicted[f];
    p.resize(files[f].rows.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      p[i] = res.stats.has_rules ? outputs[f].alert[i] : (outputs[f].score[i] >= 0.5 ? 1 : 0);
    }
    per[f] = skab_count(p, files[f].anomaly);
    total.add(per[f]);
  }
  const SkabMetrics m = skab_metrics(total);
  char buf[256];
  res.text = replay_line(res.stats) + "\n";
  std::snprintf(buf, sizeof buf,
                "skab: %zu files, F1 %.4f (%.2f), FAR %.2f %%, MAR %.2f %%  (TP %zu FP %zu FN %zu TN %zu; %s)\n",
                files.size(), m.f1, m.f1_rounded, m.far, m.mar, total.tp, total.fp, total.fn, total.tn,
                res.stats.has_rules ? "predictions: the rule's alerts" : "predictions: score >= 0.5");
  res.text += buf;
  if (!o.report_path.empty()) {
    nlohmann::json report;
    report["dataset"] = "skab";
    report["data"] = o.data_dir;
    report["config"] = o.config_path.empty() ? "<built-in examples/skab.yaml>" : o.config_path;
    report["files"] = files.size();
    report["protocol"] =
        "per file: first 400 rows train (warm-up), the rest test; outlier metrics summed over every test row";
    report["predictions"] = res.stats.has_rules ? "alerts of the pipeline's rule" : "score >= 0.5";
    report["replay"] = replay_json(res.stats);
    report["f1"] = m.f1;
    report["f1_rounded"] = m.f1_rounded;
    report["far_percent"] = m.far;
    report["mar_percent"] = m.mar;
    report["counts"] = {{"tp", total.tp}, {"fp", total.fp}, {"fn", total.fn}, {"tn", total.tn}};
    report["published_best_unsupervised"] = {{"algorithm", "Conv-AE"},
                                             {"f1", 0.78},
                                             {"far", 13.55},
                                             {"mar", 28.02},
                                             {"note", "SKAB leaderboard, all 34 files (valve1, valve2, other)"}};
    const std::string plots = plots_dir_for(o.report_path);
    if (o.plots) {
      std::error_code ec;
      std::filesystem::create_directories(plots, ec);
      if (ec) return make_error(Errc::kIo, "cannot create " + plots + ": " + ec.message());
    }
    nlohmann::json per_file = nlohmann::json::array();
    for (std::size_t f = 0; f < files.size(); ++f) {
      const SkabMetrics fm = skab_metrics(per[f]);
      nlohmann::json j = {{"file", files[f].name}, {"rows", files[f].rows.size()},
                          {"tp", per[f].tp},       {"fp", per[f].fp},
                          {"fn", per[f].fn},       {"tn", per[f].tn},
                          {"f1", fm.f1},           {"alerts_raised", outputs[f].alerts_raised}};
      if (o.plots) {
        PlotSpec spec;
        spec.title = files[f].name + "  (F1 " + format_number("%.2f", fm.f1) + ")";
        spec.ts_ns = files[f].ts_ns;
        spec.signal_names = files[f].columns;
        spec.signals.resize(files[f].columns.size());
        for (const auto& r : files[f].rows)
          for (std::size_t c = 0; c < r.size(); ++c) spec.signals[c].push_back(r[c]);
        spec.score = outputs[f].score;
        spec.threshold = res.stats.has_rules ? -1 : 0.5;
        for (std::size_t i = 0; i < files[f].anomaly.size(); ++i) {
          if (!files[f].anomaly[i]) continue;
          if (!spec.labels.empty() && spec.labels.back().last + 1 == i)
            spec.labels.back().last = i;
          else
            spec.labels.push_back({i, i});
        }
        spec.alerts = predicted[f];
        spec.unscored_rows = kSkabTrainRows;
        const std::string name = plot_file_name(files[f].name);
        EDGELOOP_TRY(write_file_atomic(plots + "/" + name, render_svg(spec)));
        j["plot"] = std::filesystem::path(plots).filename().string() + "/" + name;
      }
      per_file.push_back(std::move(j));
    }
    report["per_file"] = std::move(per_file);
    EDGELOOP_TRY(write_report(o.report_path, report));
    res.text += "report: " + o.report_path + (o.plots ? " (plots in " + plots + "/)" : std::string()) + "\n";
  }
  res.summary_json = "{\"dataset\":\"skab\",\"files\":" + std::to_string(files.size()) +
                     ",\"f1\":" + format_number("%.2f", m.f1_rounded) + ",\"far\":" + format_number("%.2f", m.far) +
                     ",\"mar\":" + format_number("%.2f", m.mar) + "}";
  return res;
}

}  // namespace edgeloop::eval
