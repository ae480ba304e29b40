// `edgeloop eval bearing-sim` (bearing_sim.h): generate, replay, score.
//
// Scoring. A row's window is healthy when it ends before the fault's onset (every row of a
// healthy run); the healthy windows counted are those after the detector's warm-up (read from
// the config: `warmup` as a duration), and a false alarm is one on which an alert of the rule
// holds. A faulty run is detected when an alert holds on a window that holds fault samples.
// The defect is named by the envelope over the windows wholly in the fault part (the median of
// each of bpfo, bpfi and bsf: the largest leads).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "core/options.h"
#include "eval/bearing_sim.h"
#include "eval/evaluation.h"
#include "eval/report_util.h"
#include "eval/svg_plot.h"
#include "eval/text_io.h"

namespace edgeloop::eval {

namespace {

constexpr double kAfterWarmupS = 4.0;               // held-out healthy seconds after the warm-up, in every run
constexpr double kFaultS = 4.0;                     // the fault part
constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // event time of each run's first sample
const char* const kBuiltinName = "<built-in examples/bearing_sim.yaml>";

struct Settings {
  std::size_t window = 0;  // the samples step's size
  std::size_t hop = 0;     // ... and hop: samples per row
  double warmup_s = 0;     // the detector's warm-up
};

Result<Settings> read_settings(const AppConfig& config) {
  const std::string& src = config.sources.front().name;
  const PipelineConfig* pipe = nullptr;
  for (const auto& p : config.pipelines)
    if (p.from == src && !pipe) pipe = &p;
  if (!pipe) return make_error(Errc::kInvalidConfig, config.file + ": no pipeline reads from source " + src);
  const StepConfig* samples = nullptr;
  const StepConfig* detect = nullptr;
  for (const auto& st : pipe->steps) {
    if (st.name == "samples" && !samples) samples = &st;
    if (st.name == "detect" && !detect) detect = &st;
  }
  if (!samples)
    return make_error(Errc::kInvalidConfig,
                      config.file + ": pipeline " + pipe->name + " has no `samples` step (the windows)");
  Settings s;
  const ConfigNode* size = samples->node.is_scalar() ? &samples->node : step_option(*samples, "size");
  auto n = size && size->is_scalar() ? parse_int(size->str()) : Result<int64_t>(make_error(Errc::kNotFound, ""));
  if (!n.ok() || *n < 64)
    return make_error(Errc::kInvalidConfig, samples->path + ": needs a window `size` (at least 64)");
  s.window = static_cast<std::size_t>(*n);
  s.hop = s.window;
  if (const ConfigNode* hop = step_option(*samples, "hop")) {
    auto h = hop->is_scalar() ? parse_int(hop->str()) : Result<int64_t>(make_error(Errc::kParse, ""));
    if (!h.ok() || *h < 1) return make_error(Errc::kInvalidConfig, samples->path + ".hop: expected a count of samples");
    s.hop = static_cast<std::size_t>(*h);
  }
  if (!detect)
    return make_error(Errc::kInvalidConfig, config.file + ": pipeline " + pipe->name + " has no `detect` step");
  auto w = step_duration_option(*detect, "warmup");
  if (!w.ok() || *w <= 0 || *w > 60'000'000'000) {
    return make_error(Errc::kInvalidConfig,
                      detect->path +
                          ": the bearing-sim evaluation starts each run with the detector's "
                          "warm-up of healthy signal: give `warmup` as a duration (e.g. 2s, at most 60s)");
  }
  s.warmup_s = static_cast<double>(*w) * 1e-9;
  return s;
}

double median_skip_nan(std::vector<double> v) {
  std::erase_if(v, [](double x) { return std::isnan(x); });
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const std::size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  return v[m];
}

struct RunOutcome {
  std::size_t healthy_windows = 0, false_alarms = 0;  // after the warm-up, before the onset
  std::size_t fault_windows = 0, alarm_windows = 0;
  bool detected = false;
  double first_alarm_s = std::numeric_limits<double>::quiet_NaN();  // after the onset, when the window ends
  double max_score = 0;
  BearingDefect named = BearingDefect::kNone;
  double bpfo = 0, bpfi = 0, bsf = 0;  // medians over the fault part
};

}  // namespace

std::vector<BearingSimRun> bearing_sim_runs() {
  std::vector<BearingSimRun> runs;
  uint64_t seed = 1;
  for (double rpm : {1797.0, 1730.0}) {
    for (double snr : {20.0, 14.0, 8.0}) {
      for (BearingDefect d : {BearingDefect::kOuterRace, BearingDefect::kInnerRace, BearingDefect::kBall}) {
        for (double sev : {1.0, 0.5, 0.25}) {
          runs.push_back({std::string(bearing_defect_name(d)) + "/sev" + format_number("%.2f", sev) + "/snr" +
                              format_number("%.0f", snr) + "/" + format_number("%.0f", rpm) + "rpm",
                          d, sev, snr, rpm, seed++});
        }
      }
      for (int k = 1; k <= 2; ++k) {
        runs.push_back(
            {"healthy/snr" + format_number("%.0f", snr) + "/" + format_number("%.0f", rpm) + "rpm/" + std::to_string(k),
             BearingDefect::kNone, 0, snr, rpm, seed++});
      }
    }
  }
  return runs;
}

BearingSimSignal generate_bearing_sim(const BearingSimRun& run, double healthy_s, double fault_s,
                                      const VibrationSpec& base) {
  VibrationSpec spec = base;
  spec.snr_db = run.snr_db;
  BearingVibration vib(spec, run.seed);
  BearingSimSignal s;
  s.sample_rate_hz = spec.sample_rate_hz;
  s.onset = static_cast<std::size_t>(std::llround(healthy_s * spec.sample_rate_hz));
  s.samples.resize(s.onset + static_cast<std::size_t>(std::llround(fault_s * spec.sample_rate_hz)));
  const double shaft_hz = run.rpm / 60.0;
  std::span<float> all(s.samples);
  vib.generate(shaft_hz, BearingDefect::kNone, 0, all.first(s.onset));
  vib.generate(shaft_hz, run.defect, run.severity, all.subspan(s.onset));
  return s;
}

std::vector<std::shared_ptr<const SampleBlock>> sample_blocks(const std::vector<float>& x, std::size_t hop,
                                                              double sample_rate_hz) {
  std::vector<std::shared_ptr<const SampleBlock>> out;
  if (hop == 0) return out;
  for (std::size_t at = 0; at + hop <= x.size(); at += hop) {
    auto b = std::make_shared<SampleBlock>();
    b->sample_rate_hz = sample_rate_hz;
    b->samples.assign(x.begin() + static_cast<std::ptrdiff_t>(at), x.begin() + static_cast<std::ptrdiff_t>(at + hop));
    out.push_back(std::move(b));
  }
  return out;
}

BearingDefect name_bearing_defect(const std::vector<double>& bpfo, const std::vector<double>& bpfi,
                                  const std::vector<double>& bsf, std::size_t from, std::size_t to) {
  to = std::min({to, bpfo.size(), bpfi.size(), bsf.size()});
  std::vector<double> o, i, b;
  for (std::size_t r = from; r < to; ++r) {
    if (std::isnan(bpfo[r]) || std::isnan(bpfi[r]) || std::isnan(bsf[r])) continue;
    o.push_back(bpfo[r]);
    i.push_back(bpfi[r]);
    b.push_back(bsf[r]);
  }
  if (o.empty()) return BearingDefect::kNone;
  const double mo = median_skip_nan(o), mi = median_skip_nan(i), mb = median_skip_nan(b);
  if (mo >= mi && mo >= mb) return BearingDefect::kOuterRace;
  return mi >= mb ? BearingDefect::kInnerRace : BearingDefect::kBall;
}

Result<EvalResult> run_bearing_sim_eval(const EvalOptions& o, const Registry& registry) {
  const std::string config_name = o.config_path.empty() ? kBuiltinName : o.config_path;
  EDGELOOP_ASSIGN_OR_RETURN(AppConfig config,
                            load_eval_config(o.config_path, builtin_bearing_sim_config(), config_name.c_str()));
  if (config.sources.empty()) return make_error(Errc::kInvalidConfig, config_name + ": the config has no source");
  EDGELOOP_ASSIGN_OR_RETURN(Settings set, read_settings(config));

  std::vector<BearingSimRun> runs = bearing_sim_runs();
  if (!o.only.empty())
    std::erase_if(runs, [&](const BearingSimRun& r) { return r.name.find(o.only) == std::string::npos; });
  if (runs.empty()) return make_error(Errc::kNotFound, "no bearing-sim run matches '" + o.only + "'");
  const double healthy_s = set.warmup_s + kAfterWarmupS;
  const VibrationSpec base;
  const double fs = base.sample_rate_hz;
  const double hop_s = static_cast<double>(set.hop) / fs;

  // Generate: one key per run, rows of `hop` samples, the shaft speed as the row's field.
  std::vector<ReplaySeries> series(runs.size());
  std::vector<std::vector<int64_t>> ts(runs.size());
  std::vector<std::size_t> onset(runs.size());
  std::vector<std::vector<double>> block_rms(runs.size());
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const BearingSimSignal sig = generate_bearing_sim(runs[k], healthy_s, kFaultS, base);
    onset[k] = sig.onset;
    ReplaySeries& s = series[k];
    s.key = runs[k].name;
    s.columns = {"rpm"};
    s.blocks = sample_blocks(sig.samples, set.hop, sig.sample_rate_hz);
    for (std::size_t i = 0; i < s.blocks.size(); ++i) {
      ts[k].push_back(kT0 + static_cast<int64_t>(std::llround(static_cast<double>(i) * hop_s * 1e9)));
      s.values.push_back(runs[k].rpm);
      double e = 0;
      for (float v : s.blocks[i]->samples) e += static_cast<double>(v) * v;
      block_rms[k].push_back(std::sqrt(e / static_cast<double>(set.hop)));
    }
    s.ts_ns = &ts[k];
  }
  EvalResult res;
  EDGELOOP_ASSIGN_OR_RETURN(
      auto outputs, replay(config, registry, series, res.stats,
                           o.progress ? stderr_progress("bearing-sim") : ReplayProgress{}, {"bpfo", "bpfi", "bsf"}));

  // Score each run.
  std::vector<RunOutcome> out(runs.size());
  std::size_t faulty = 0, detected = 0, healthy_windows = 0, false_alarms = 0, named = 0;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const auto& op = outputs[k];
    RunOutcome& r = out[k];
    const std::size_t rows = op.score.size();
    const bool is_faulty = runs[k].defect != BearingDefect::kNone && runs[k].severity > 0;
    std::size_t fault_from = rows;  // the first row whose window lies wholly in the fault part
    for (std::size_t i = 0; i < rows; ++i) {
      const double sc = op.score[i];
      if (std::isnan(sc)) continue;
      const std::size_t first = i * set.hop, end = first + set.window;
      const bool alarm = res.stats.has_rules ? op.alert[i] != 0 : sc >= 0.5;
      const double start_s = static_cast<double>(first) / fs;
      if (!is_faulty || end <= onset[k]) {
        if (start_s < set.warmup_s) continue;
        ++r.healthy_windows;
        if (alarm) ++r.false_alarms;
        continue;
      }
      if (first >= onset[k]) fault_from = std::min(fault_from, i);
      ++r.fault_windows;
      r.max_score = std::max(r.max_score, sc);
      if (alarm) {
        if (!r.detected) r.first_alarm_s = static_cast<double>(end - onset[k]) / fs;
        r.detected = true;
        ++r.alarm_windows;
      }
    }
    if (is_faulty) {
      ++faulty;
      if (r.detected) ++detected;
      r.named = name_bearing_defect(op.collected[0], op.collected[1], op.collected[2], fault_from, rows);
      if (r.named == runs[k].defect) ++named;
      std::vector<double> a(op.collected[0].begin() + static_cast<std::ptrdiff_t>(std::min(fault_from, rows)),
                            op.collected[0].end());
      std::vector<double> b(op.collected[1].begin() + static_cast<std::ptrdiff_t>(std::min(fault_from, rows)),
                            op.collected[1].end());
      std::vector<double> c(op.collected[2].begin() + static_cast<std::ptrdiff_t>(std::min(fault_from, rows)),
                            op.collected[2].end());
      r.bpfo = median_skip_nan(a);
      r.bpfi = median_skip_nan(b);
      r.bsf = median_skip_nan(c);
    }
    healthy_windows += r.healthy_windows;
    false_alarms += r.false_alarms;
  }

  // Text: per defect and SNR, detected and named over the severities and speeds.
  char buf[320];
  std::snprintf(buf, sizeof buf, "replay: %zu rows, %zu samples in %.3f s: %.1f million samples/s\n", res.stats.rows,
                res.stats.samples, res.stats.seconds, res.stats.samples_per_s() * 1e-6);
  res.text = buf;
  std::snprintf(
      buf, sizeof buf,
      "bearing-sim: %zu runs (%.1f s healthy: %.1f s warm-up + %.1f s held out; then %.1f s of the run's defect), "
      "windows of %zu samples every %zu at %.0f Hz\n",
      runs.size(), healthy_s, set.warmup_s, kAfterWarmupS, kFaultS, set.window, set.hop, fs);
  res.text += buf;
  res.text += "defect  snr dB  detected  named   (severities 1, 0.5, 0.25 x 1797 and 1730 rpm)\n";
  std::map<std::pair<int, int>, std::array<std::size_t, 3>> groups;  // (defect, -snr) -> runs, detected, named
  for (std::size_t k = 0; k < runs.size(); ++k) {
    if (runs[k].defect == BearingDefect::kNone) continue;
    auto& g = groups[{static_cast<int>(runs[k].defect), -static_cast<int>(runs[k].snr_db)}];
    ++g[0];
    g[1] += out[k].detected ? 1 : 0;
    g[2] += out[k].named == runs[k].defect ? 1 : 0;
  }
  for (const auto& [key, g] : groups) {
    std::snprintf(buf, sizeof buf, "%-6s  %6d  %3zu/%-4zu  %3zu/%zu\n",
                  bearing_defect_name(static_cast<BearingDefect>(key.first)), -key.second, g[1], g[0], g[2], g[0]);
    res.text += buf;
  }
  std::string missed, misnamed;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    if (runs[k].defect == BearingDefect::kNone) continue;
    if (!out[k].detected) missed += " " + runs[k].name;
    if (out[k].named != runs[k].defect) misnamed += " " + runs[k].name + "(" + bearing_defect_name(out[k].named) + ")";
  }
  if (!missed.empty()) res.text += "missed:" + missed + "\n";
  if (!misnamed.empty()) res.text += "misnamed:" + misnamed + "\n";
  std::snprintf(buf, sizeof buf,
                "bearing-sim: %zu faulty runs, %zu detected, %zu named; healthy windows %zu, %zu with an alarm (%s)\n",
                faulty, detected, named, healthy_windows, false_alarms,
                res.stats.has_rules ? "alarms: the rule's alerts" : "alarms: score >= 0.5");
  res.text += buf;

  if (!o.report_path.empty()) {
    nlohmann::json report;
    report["dataset"] = "bearing-sim";
    report["config"] = config_name;
    report["protocol"] = {{"healthy_s", healthy_s},
                          {"warmup_s", set.warmup_s},
                          {"fault_s", kFaultS},
                          {"window", set.window},
                          {"hop", set.hop},
                          {"sample_rate_hz", fs},
                          {"model",
                           {{"resonance_hz", base.resonance_hz},
                            {"damping", base.damping},
                            {"impact_g", base.impact_g},
                            {"slip", base.slip},
                            {"modulation", base.modulation},
                            {"shaft_g", base.shaft_g},
                            {"bearing", "6205: 9 balls, d 0.3126, D 1.537"}}}};
    report["replay"] = {{"rows", res.stats.rows},
                        {"samples", res.stats.samples},
                        {"seconds", res.stats.seconds},
                        {"samples_per_s", res.stats.samples_per_s()}};
    report["runs"] = runs.size();
    report["faulty"] = faulty;
    report["detected"] = detected;
    report["healthy_windows"] = healthy_windows;
    report["false_alarms"] = false_alarms;
    report["defects_named"] = named;
    const std::string plots = plots_dir_for(o.report_path);
    if (o.plots) {
      std::error_code ec;
      std::filesystem::create_directories(plots, ec);
      if (ec) return make_error(Errc::kIo, "cannot create " + plots + ": " + ec.message());
    }
    nlohmann::json per_run = nlohmann::json::array();
    for (std::size_t k = 0; k < runs.size(); ++k) {
      const RunOutcome& r = out[k];
      nlohmann::json j = {{"run", runs[k].name},
                          {"defect", bearing_defect_name(runs[k].defect)},
                          {"severity", runs[k].severity},
                          {"snr_db", runs[k].snr_db},
                          {"rpm", runs[k].rpm},
                          {"seed", runs[k].seed},
                          {"healthy_windows", r.healthy_windows},
                          {"false_alarms", r.false_alarms},
                          {"alerts_raised", outputs[k].alerts_raised}};
      if (runs[k].defect != BearingDefect::kNone) {
        j["detected"] = r.detected;
        j["fault_windows"] = r.fault_windows;
        j["alarm_windows"] = r.alarm_windows;
        j["first_alarm_s"] = std::isnan(r.first_alarm_s) ? nlohmann::json(nullptr) : nlohmann::json(r.first_alarm_s);
        j["max_score"] = r.max_score;
        j["named"] = bearing_defect_name(r.named);
        j["envelope_medians"] = {{"bpfo", r.bpfo}, {"bpfi", r.bpfi}, {"bsf", r.bsf}};
      }
      if (o.plots) {
        PlotSpec spec;
        spec.title = runs[k].name + (runs[k].defect == BearingDefect::kNone
                                         ? std::string("  (healthy)")
                                         : std::string(r.detected ? "  detected" : "  missed") + ", named " +
                                               bearing_defect_name(r.named));
        spec.ts_ns = ts[k];
        spec.signal_names = {"block RMS (g)", "bpfo", "bpfi", "bsf"};
        spec.signals = {block_rms[k], outputs[k].collected[0], outputs[k].collected[1], outputs[k].collected[2]};
        spec.score = outputs[k].score;
        spec.alerts = outputs[k].alert;
        const std::size_t onset_row = onset[k] / set.hop;
        if (runs[k].defect != BearingDefect::kNone && onset_row < ts[k].size())
          spec.labels.push_back({onset_row, ts[k].size() - 1});
        spec.unscored_rows = static_cast<std::size_t>(set.warmup_s / hop_s);
        std::string file = runs[k].name;
        for (char& c : file)
          if (c == '/') c = '_';
        file += ".svg";
        EDGELOOP_TRY(write_file_atomic(plots + "/" + file, render_svg(spec)));
        j["plot"] = std::filesystem::path(plots).filename().string() + "/" + file;
      }
      per_run.push_back(std::move(j));
    }
    report["per_run"] = std::move(per_run);
    EDGELOOP_TRY(write_report(o.report_path, report));
    res.text += "report: " + o.report_path + (o.plots ? " (plots in " + plots + "/)" : std::string()) + "\n";
  }
  res.summary_json =
      "{\"dataset\":\"bearing-sim\",\"runs\":" + std::to_string(runs.size()) + ",\"faulty\":" + std::to_string(faulty) +
      ",\"detected\":" + std::to_string(detected) + ",\"healthy_windows\":" + std::to_string(healthy_windows) +
      ",\"false_alarms\":" + std::to_string(false_alarms) + ",\"defects_named\":" + std::to_string(named) + "}";
  return res;
}

}  // namespace edgeloop::eval
