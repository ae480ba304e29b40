// `edgeloop eval cwru`: the unsupervised fault check on the CWRU bearing recordings.
//
// Protocol. The healthy baseline (normal/, 48 kHz, brought to 12 kHz) is split by time at the
// detector's warm-up: its first `warmup` seconds (whole blocks) are the warm-up part, the rest
// the held-out healthy part. Each fault recording is one key whose stream is [warm-up part]
// [a gap of kGapS in event time][the recording]; the held-out part is one more key, [warm-up
// part][gap][held-out part]. So every key learns the same baseline first, and the sample
// windows restart at the gap (op.samples `max_gap`): no window mixes the two parts. Rows are
// blocks of `hop` samples (the samples step's), so each window lands on the row it starts at.
// A recording is detected when the pipeline's rule raises an alert on its part (or, without a
// rule, a window scores >= 0.5); a held-out healthy window on which an alert holds is a false
// alarm. The defect is named by the median over the recording's windows of the envelope's
// bpfo, bpfi and bsf fields (the largest leads).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <nlohmann/json.hpp>

#include "core/options.h"
#include "eval/cwru.h"
#include "eval/cwru_classify.h"
#include "eval/evaluation.h"
#include "eval/report_util.h"
#include "eval/svg_plot.h"
#include "eval/text_io.h"

namespace edgeloop::eval {

namespace {

constexpr double kGapS = 10;  // event-time gap between the baseline part and the recording
const char* const kBuiltinName = "<built-in examples/cwru.yaml>";

struct Settings {
  std::size_t hop = 0;     // samples per block (row) = the samples step's hop
  std::size_t window = 0;  // the samples step's size
  int64_t warmup_ns = 0;   // the detector's warm-up
};

// What the protocol needs from the pipeline: the window and hop of op.samples (with a
// max_gap below the gap), and the detector's warm-up as a duration.
Result<Settings> read_settings(const AppConfig& config) {
  const std::string& src = config.sources.front().name;
  const PipelineConfig* pipe = nullptr;
  for (const auto& p : config.pipelines)
    if (p.from == src) pipe = pipe ? pipe : &p;
  if (!pipe) return make_error(Errc::kInvalidConfig, config.file + ": no pipeline reads from source " + src);
  Settings s;
  const StepConfig* samples = nullptr;
  const StepConfig* detect = nullptr;
  for (const auto& st : pipe->steps) {
    if (st.name == "samples" && !samples) samples = &st;
    if (st.name == "detect" && !detect) detect = &st;
  }
  if (!samples)
    return make_error(Errc::kInvalidConfig,
                      config.file + ": pipeline " + pipe->name + " has no `samples` step (the windows)");
  const ConfigNode* size = samples->node.is_scalar() ? &samples->node : step_option(*samples, "size");
  auto n = size && size->is_scalar() ? parse_int(size->str()) : Result<int64_t>(make_error(Errc::kNotFound, ""));
  if (!n.ok() || *n < 2) return make_error(Errc::kInvalidConfig, samples->path + ": needs a window `size`");
  s.window = static_cast<std::size_t>(*n);
  s.hop = s.window;
  if (const ConfigNode* hop = step_option(*samples, "hop")) {
    auto h = hop->is_scalar() ? parse_int(hop->str()) : Result<int64_t>(make_error(Errc::kParse, ""));
    if (!h.ok() || *h < 1) return make_error(Errc::kInvalidConfig, samples->path + ".hop: expected a count of samples");
    s.hop = static_cast<std::size_t>(*h);
  }
  const ConfigNode* gap = step_option(*samples, "max_gap");
  auto g = gap && gap->is_scalar() ? parse_duration_ns(gap->str()) : Result<int64_t>(make_error(Errc::kNotFound, ""));
  if (!g.ok() || *g <= 0 || static_cast<double>(*g) >= kGapS * 1e9 / 2) {
    return make_error(Errc::kInvalidConfig, samples->path + ": the CWRU evaluation needs `max_gap` (e.g. 10ms, below " +
                                                std::to_string(static_cast<int>(kGapS / 2)) +
                                                "s): the windows must restart between the baseline and the recording");
  }
  if (!detect)
    return make_error(Errc::kInvalidConfig, config.file + ": pipeline " + pipe->name + " has no `detect` step");
  auto w = step_duration_option(*detect, "warmup");
  if (!w.ok() || *w <= 0) {
    return make_error(Errc::kInvalidConfig, detect->path +
                                                ": the CWRU evaluation splits the healthy baseline at the "
                                                "detector's warm-up: give `warmup` as a duration (e.g. 2s)");
  }
  s.warmup_ns = *w;
  return s;
}

// One key of the replay: rows [0, split) are the baseline's warm-up part, [split, rows) the
// recording (or the held-out part).
struct Key {
  std::string name;
  std::vector<int64_t> ts;
  std::size_t split = 0;
  std::vector<double> block_rms;  // per row, for the plot
};

struct Outcome {
  std::size_t windows = 0;
  double max_score = 0;
  double min_score = std::numeric_limits<double>::quiet_NaN();
  bool alarm = false;
  std::size_t alarm_windows = 0;
  double first_alarm_s = std::numeric_limits<double>::quiet_NaN();  // from the part's start to the alarm
  DefectNaming naming;
};

// `hop_s`, `window_s`: a window's start and length in seconds; an alarm is known when the
// window that raised it ends.
Outcome outcome_of(const Key& k, const ReplayOutput& o, bool has_rules, double hop_s, double window_s) {
  Outcome r;
  for (std::size_t i = k.split; i < o.score.size(); ++i) {
    const double sc = o.score[i];
    if (std::isnan(sc)) continue;
    ++r.windows;
    r.max_score = std::max(r.max_score, sc);
    r.min_score = std::isnan(r.min_score) ? sc : std::min(r.min_score, sc);
    const bool alarm = has_rules ? o.alert[i] != 0 : sc >= 0.5;
    if (alarm) {
      if (!r.alarm) r.first_alarm_s = static_cast<double>(i - k.split) * hop_s + window_s;
      r.alarm = true;
      ++r.alarm_windows;
    }
  }
  r.naming = name_defect(o.collected[0], o.collected[1], o.collected[2], k.split, o.score.size());
  return r;
}

}  // namespace

Result<EvalResult> run_cwru_eval(const EvalOptions& o, const Registry& registry) {
  EDGELOOP_ASSIGN_OR_RETURN(AppConfig config, load_eval_config(o.config_path, builtin_cwru_config(), kBuiltinName));
  if (config.sources.empty()) return make_error(Errc::kInvalidConfig, config.file + ": the config has no source");
  EDGELOOP_ASSIGN_OR_RETURN(Settings set, read_settings(config));
  EDGELOOP_ASSIGN_OR_RETURN(CwruData data, load_cwru(o.data_dir, o.only));
  // The classifier's features (--export-features) and its cross-load evaluation (--model).
  std::string classify_text;
  std::optional<CwruClassification> classified;
  if (!o.export_features_path.empty()) EDGELOOP_TRY(export_cwru_features(data, o.export_features_path, &classify_text));
  if (!o.model_path.empty()) {
    EDGELOOP_ASSIGN_OR_RETURN(classified, classify_cwru(data, o.model_path));
    classify_text += classified->text;
  }
  const CwruBaseline& base = data.baseline;
  const double fs = base.sample_rate_hz;
  const std::size_t hop = set.hop;
  const double hop_s = static_cast<double>(hop) / fs;

  // The split: the warm-up part is the baseline's first `warmup` (whole blocks).
  // A baseline too short for that (the held-out part of the dataset keeps 1.5 s of record 97)
  // gives the held-out healthy part just one window and the rest to the warm-up part: the
  // detector still leaves its warm-up only after the gap (warm-up is event time), so it learns
  // from the shorter part alone.
  const auto warm_samples = static_cast<std::size_t>(static_cast<double>(set.warmup_ns) * 1e-9 * fs);
  const std::size_t total_blocks = base.samples.size() / hop;
  const std::size_t window_blocks = (set.window + hop - 1) / hop;
  const std::size_t warm_blocks =
      std::min(warm_samples / hop, total_blocks - std::min(total_blocks, window_blocks));
  const std::size_t held_blocks = (base.samples.size() - std::min(base.samples.size(), warm_blocks * hop)) / hop;
  if (warm_blocks * hop < set.window || held_blocks * hop < set.window) {
    return make_error(Errc::kInvalidConfig,
                      "the healthy baseline must hold two windows (" + std::to_string(set.window) +
                          " samples each: one to learn from, one held out); the " +
                          format_number("%.3f", static_cast<double>(base.samples.size()) / fs) + " s baseline is shorter");
  }
  const auto warm = make_blocks(base.samples, 0, warm_blocks * hop, hop, fs);
  const auto held = make_blocks(base.samples, warm_blocks * hop, base.samples.size(), hop, fs);

  const auto ts_at = [&](std::size_t block) { return std::llround(static_cast<double>(block * hop) * 1e9 / fs); };
  const int64_t part2_start = ts_at(warm_blocks) + static_cast<int64_t>(kGapS * 1e9);
  const auto block_rms = [](const SampleBlock& b) {
    double s = 0;
    for (float v : b.samples) s += static_cast<double>(v) * v;
    return std::sqrt(s / static_cast<double>(b.samples.size()));
  };

  // Keys: one per recording, then the held-out healthy part.
  std::vector<Key> keys(data.recordings.size() + 1);
  std::vector<ReplaySeries> series(keys.size());
  for (std::size_t k = 0; k < keys.size(); ++k) {
    const bool healthy = k == data.recordings.size();
    std::vector<std::shared_ptr<const SampleBlock>> part;
    double rpm = base.rpm;
    if (healthy) {
      part = held;
      keys[k].name = std::filesystem::path(base.name).stem().string() + "_heldout";
    } else {
      const CwruRecording& r = data.recordings[k];
      part = make_blocks(r.samples, 0, r.samples.size(), hop, r.sample_rate_hz);
      keys[k].name = r.name;
      rpm = r.rpm;
    }
    Key& key = keys[k];
    key.split = warm.size();
    ReplaySeries& s = series[k];
    s.key = key.name;
    s.columns = {"rpm"};
    for (std::size_t i = 0; i < warm.size(); ++i) {
      key.ts.push_back(ts_at(i));
      s.values.push_back(base.rpm);
      s.blocks.push_back(warm[i]);
    }
    for (std::size_t i = 0; i < part.size(); ++i) {
      key.ts.push_back(part2_start + ts_at(i));
      s.values.push_back(rpm);
      s.blocks.push_back(part[i]);
    }
    for (const auto& b : s.blocks) key.block_rms.push_back(block_rms(*b));
  }
  for (std::size_t k = 0; k < keys.size(); ++k) series[k].ts_ns = &keys[k].ts;

  EvalResult res;
  EDGELOOP_ASSIGN_OR_RETURN(
      auto outputs, replay(config, registry, series, res.stats, o.progress ? stderr_progress("cwru") : ReplayProgress{},
                           {"bpfo", "bpfi", "bsf"}));
  const bool rules = res.stats.has_rules;

  // Per recording.
  std::vector<Outcome> outs(keys.size());
  for (std::size_t k = 0; k < keys.size(); ++k)
    outs[k] = outcome_of(keys[k], outputs[k], rules, hop_s, static_cast<double>(set.window) / fs);
  const Outcome& healthy = outs.back();
  if (healthy.windows == 0) {
    return make_error(Errc::kInvalidConfig,
                      "no score came out of the pipeline for the held-out healthy windows: it needs a "
                      "`detect` step whose output reaches the end of the pipeline");
  }
  std::size_t detected = 0, named = 0;
  std::size_t per_defect[4] = {0, 0, 0, 0}, named_per_defect[4] = {0, 0, 0, 0};
  std::vector<std::string> balls_named;
  for (std::size_t k = 0; k < data.recordings.size(); ++k) {
    const auto& r = data.recordings[k];
    const auto d = static_cast<std::size_t>(r.defect);
    ++per_defect[d];
    detected += outs[k].alarm ? 1 : 0;
    if (outs[k].naming.named == r.defect) {
      ++named;
      ++named_per_defect[d];
      if (r.defect == BearingDefect::kBall) balls_named.push_back(r.name);
    }
  }
  const std::size_t false_alarms = healthy.alarm_windows;

  // The table.
  std::string& t = res.text;
  char line[320];
  std::snprintf(line, sizeof line, "%-12s %-8s %4s %5s %7s %9s %9s %5s %8s %9s %9s %9s  %-10s %s\n", "recording",
                "class", "load", "rpm", "windows", "min score", "max score", "alarm", "alarm at", "bpfo", "bpfi", "bsf",
                "named", "correct");
  t += line;
  for (std::size_t k = 0; k < data.recordings.size(); ++k) {
    const auto& r = data.recordings[k];
    const Outcome& oc = outs[k];
    std::snprintf(line, sizeof line, "%-12s %-8s %4d %5.0f %7zu %9.3f %9.3f %5s %8s %9.1f %9.1f %9.1f  %-10s %s\n",
                  r.name.c_str(), r.fault_class.c_str(), r.load_hp, r.rpm, oc.windows, oc.min_score, oc.max_score,
                  oc.alarm ? "yes" : "no", oc.alarm ? format_number("%.2f", oc.first_alarm_s).c_str() : "-",
                  oc.naming.bpfo, oc.naming.bpfi, oc.naming.bsf, defect_name(oc.naming.named),
                  oc.naming.named == r.defect ? "yes" : "no");
    t += line;
  }
  std::snprintf(
      line, sizeof line,
      "%-12s %-8s %4d %5.0f %7zu %9.3f %9.3f %5s %8s %9.1f %9.1f %9.1f  (held-out healthy: %zu false alarms)\n",
      "healthy", "normal", 0, base.rpm, healthy.windows, healthy.min_score, healthy.max_score,
      healthy.alarm ? "yes" : "no", healthy.alarm ? format_number("%.2f", healthy.first_alarm_s).c_str() : "-",
      healthy.naming.bpfo, healthy.naming.bpfi, healthy.naming.bsf, false_alarms);
  t += line;
  std::snprintf(
      line, sizeof line,
      "split: baseline %s (%zu samples at %.0f Hz, decimated by %d to %.0f Hz): warm-up %.3f s (%zu blocks of %zu), "
      "held out %.3f s\n",
      base.name.c_str(), base.source_samples, base.source_rate_hz, base.decimation, fs,
      static_cast<double>(warm.size() * hop) / fs, warm.size(), hop, static_cast<double>(held.size() * hop) / fs);
  t += line;
  std::size_t windows = 0;
  for (const auto& out : outputs)
    for (double sc : out.score) windows += std::isnan(sc) ? 0 : 1;
  std::snprintf(
      line, sizeof line,
      "replay: %zu rows, %zu samples, %zu windows of %zu (hop %zu) in %.3f s: %.1f million samples/s, %.0f windows/s\n",
      res.stats.rows, res.stats.samples, windows, set.window, hop, res.stats.seconds, res.stats.samples_per_s() * 1e-6,
      res.stats.seconds > 0 ? static_cast<double>(windows) / res.stats.seconds : 0.0);
  t += line;
  std::string balls;
  for (const auto& b : balls_named) balls += (balls.empty() ? "" : ", ") + b;
  std::snprintf(line, sizeof line,
                "cwru: %zu recordings, %zu detected; %zu healthy windows, %zu false alarms; defect named for %zu "
                "(inner race %zu/%zu, outer race %zu/%zu, ball %zu/%zu%s%s%s)\n",
                data.recordings.size(), detected, healthy.windows, false_alarms, named,
                named_per_defect[static_cast<int>(BearingDefect::kInnerRace)],
                per_defect[static_cast<int>(BearingDefect::kInnerRace)],
                named_per_defect[static_cast<int>(BearingDefect::kOuterRace)],
                per_defect[static_cast<int>(BearingDefect::kOuterRace)],
                named_per_defect[static_cast<int>(BearingDefect::kBall)],
                per_defect[static_cast<int>(BearingDefect::kBall)], balls.empty() ? "" : ": ", balls.c_str(), "");
  t += line;

  t += classify_text;
  if (!o.report_path.empty()) {
    nlohmann::json report;
    report["dataset"] = "cwru";
    report["data"] = o.data_dir;
    report["config"] = o.config_path.empty() ? kBuiltinName : o.config_path;
    report["protocol"] =
        "each fault recording is one key: [the healthy baseline's first `warmup` (the detector's warm-up)][gap][the "
        "recording]; the rest of the baseline is one more key, whose windows are the held-out healthy windows; "
        "detected = the rule alarms on the recording; defect named = the largest median of bpfo, bpfi, bsf over the "
        "recording's windows";
    report["baseline"] = {{"file", base.name},
                          {"record", base.record},
                          {"rpm", base.rpm},
                          {"source_rate_hz", base.source_rate_hz},
                          {"source_samples", base.source_samples},
                          {"decimation", base.decimation},
                          {"rate_hz", fs},
                          {"warmup_s", static_cast<double>(warm.size() * hop) / fs},
                          {"heldout_s", static_cast<double>(held.size() * hop) / fs}};
    report["window"] = {{"size", set.window}, {"hop", hop}};
    report["replay"] = {{"rows", res.stats.rows},
                        {"samples", res.stats.samples},
                        {"windows", windows},
                        {"seconds", res.stats.seconds},
                        {"samples_per_s", res.stats.samples_per_s()},
                        {"rows_per_s", res.stats.rows_per_s()}};
    report["predictions"] = rules ? "alerts of the pipeline's rule" : "score >= 0.5";
    report["recordings"] = data.recordings.size();
    report["detected"] = detected;
    report["healthy_windows"] = healthy.windows;
    report["false_alarms"] = false_alarms;
    report["defects_named"] = named;
    report["ball_faults_named"] = balls_named;
    report["healthy"] = {{"key", keys.back().name},        {"windows", healthy.windows},
                         {"max_score", healthy.max_score}, {"min_score", healthy.min_score},
                         {"false_alarms", false_alarms},   {"bpfo", healthy.naming.bpfo},
                         {"bpfi", healthy.naming.bpfi},    {"bsf", healthy.naming.bsf}};
    const std::string plots = plots_dir_for(o.report_path);
    if (o.plots) {
      std::error_code ec;
      std::filesystem::create_directories(plots, ec);
      if (ec) return make_error(Errc::kIo, "cannot create " + plots + ": " + ec.message());
    }
    nlohmann::json per = nlohmann::json::array();
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const bool is_healthy = k == data.recordings.size();
      const Outcome& oc = outs[k];
      nlohmann::json j;
      if (is_healthy) {
        j = {{"recording", keys[k].name}, {"class", "normal"}, {"healthy", true}};
      } else {
        const auto& r = data.recordings[k];
        j = {{"recording", r.name},
             {"class", r.fault_class},
             {"defect", defect_name(r.defect)},
             {"size_mils", r.size_mils},
             {"load_hp", r.load_hp},
             {"record", r.record},
             {"rpm", r.rpm},
             {"rpm_from_file", r.rpm_from_file},
             {"named", defect_name(oc.naming.named)},
             {"correct", oc.naming.named == r.defect}};
      }
      j["windows"] = oc.windows;
      j["max_score"] = oc.max_score;
      j["min_score"] = oc.min_score;
      j["alarm"] = oc.alarm;
      j["alarm_windows"] = oc.alarm_windows;
      if (oc.alarm) j["first_alarm_s"] = oc.first_alarm_s;
      j["alerts_raised"] = outputs[k].alerts_raised;
      j["envelope_median"] = {{"bpfo", oc.naming.bpfo}, {"bpfi", oc.naming.bpfi}, {"bsf", oc.naming.bsf}};
      if (std::isfinite(oc.naming.lead)) j["lead"] = oc.naming.lead;
      if (o.plots) {
        PlotSpec spec;
        spec.title = keys[k].name + (is_healthy ? "  (held-out healthy windows)"
                                                : "  (" + std::string(defect_name(data.recordings[k].defect)) +
                                                      " fault; named " + defect_name(oc.naming.named) + ")");
        spec.ts_ns.resize(keys[k].ts.size());
        for (std::size_t i = 0; i < spec.ts_ns.size(); ++i) spec.ts_ns[i] = static_cast<int64_t>(i);  // rows, no gap
        spec.signal_names = {"block rms", "bpfo", "bpfi", "bsf"};
        spec.signals = {keys[k].block_rms, outputs[k].collected[0], outputs[k].collected[1], outputs[k].collected[2]};
        spec.score = outputs[k].score;
        spec.unscored_rows = keys[k].split;
        if (!is_healthy) spec.labels.push_back({keys[k].split, keys[k].ts.size() - 1});
        spec.alerts = rules ? outputs[k].alert : std::vector<uint8_t>(keys[k].ts.size(), 0);
        if (!rules) {
          for (std::size_t i = 0; i < spec.alerts.size(); ++i) spec.alerts[i] = outputs[k].score[i] >= 0.5;
        }
        spec.threshold = rules ? -1 : 0.5;
        std::string file;
        for (char c : keys[k].name) file += (c == '@' || c == '/' || c == '\\') ? '_' : c;
        file += ".svg";
        EDGELOOP_TRY(write_file_atomic(plots + "/" + file, render_svg(spec)));
        j["plot"] = std::filesystem::path(plots).filename().string() + "/" + file;
      }
      per.push_back(std::move(j));
    }
    report["per_recording"] = std::move(per);
    if (classified) {
      nlohmann::json c = {{"model", o.model_path},
                          {"accuracy", classified->accuracy},
                          {"size_accuracy", classified->size_accuracy},
                          {"recordings", nlohmann::json::array()}};
      for (const auto& r : classified->recordings)
        c["recordings"].push_back({{"recording", r.id},
                                   {"load_hp", r.load_hp},
                                   {"truth", r.truth},
                                   {"predicted", r.predicted},
                                   {"predicted_defect", cwru_label(r.predicted_defect)},
                                   {"defect_right", r.predicted_defect == r.defect},
                                   {"windows", r.windows},
                                   {"vote_share", r.vote_share},
                                   {"model", r.model},
                                   {"fold_test_load", r.fold}});
      c["confusion_defect"] = {{"classes", classified->by_defect.classes},
                               {"truth_by_predicted", classified->by_defect.counts}};
      c["confusion_class"] = {{"classes", classified->by_class.classes},
                              {"truth_by_predicted", classified->by_class.counts}};
      report["classification"] = std::move(c);
    }
    EDGELOOP_TRY(write_report(o.report_path, report));
    res.text += "report: " + o.report_path + (o.plots ? " (plots in " + plots + "/)" : std::string()) + "\n";
  }
  res.summary_json =
      "{\"dataset\":\"cwru\",\"recordings\":" + std::to_string(data.recordings.size()) +
      ",\"detected\":" + std::to_string(detected) + ",\"healthy_windows\":" + std::to_string(healthy.windows) +
      ",\"false_alarms\":" + std::to_string(false_alarms) + ",\"defects_named\":" + std::to_string(named) +
      (classified ? ",\"classified\":" + std::to_string(classified->recordings.size()) +
                        ",\"accuracy\":" + format_number("%.4f", classified->accuracy) +
                        ",\"size_accuracy\":" + format_number("%.4f", classified->size_accuracy)
                  : std::string()) +
      "}";
  return res;
}

}  // namespace edgeloop::eval
