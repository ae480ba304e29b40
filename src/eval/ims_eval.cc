// `edgeloop eval ims`: the NASA IMS run-to-failure features (ims.h), one key per bearing
// channel, replayed in event time through examples/ims.yaml; scored per bearing.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "eval/evaluation.h"
#include "eval/ims.h"
#include "eval/report_util.h"
#include "eval/svg_plot.h"
#include "eval/text_io.h"

namespace edgeloop::eval {

namespace {

constexpr double kNsPerHour = 3600e9;
constexpr double kStoppedShare = 0.10;  // a row below 10 % of the typical level: the rig stood still
constexpr const char* kFilePrefix = "merged_dataset_BearingTest_";

double median_of(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const std::size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  const double hi = v[m];
  if (v.size() % 2 == 1) return hi;
  return 0.5 * (hi + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m)));
}

// "Bearing 3 C1" -> bearing 3, suffix "C1"; false when the name is not of that shape.
bool parse_channel(std::string_view name, int& bearing, std::string& suffix) {
  constexpr std::string_view kWord = "Bearing ";
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.remove_suffix(1);
  if (name.substr(0, kWord.size()) != kWord) return false;
  name.remove_prefix(kWord.size());
  std::size_t i = 0;
  int k = 0;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])) && k < 1000)
    k = k * 10 + (name[i++] - '0');
  if (i == 0 || k == 0) return false;
  bearing = k;
  name.remove_prefix(i);
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  suffix = std::string(name);
  return true;
}

std::string replay_line(const ReplayStats& st) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "replay: %zu rows, %zu scalar points in %.3f s: %.2f million points/s (%.2f million rows/s)", st.rows,
                st.points, st.seconds, st.points_per_s() * 1e-6, st.rows_per_s() * 1e-6);
  return buf;
}

}  // namespace

std::vector<int> ImsTest::bearings() const {
  std::vector<int> b = bearing;
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return b;
}

std::string ImsTest::key(std::size_t channel) const {
  std::string k = "test" + std::to_string(number) + "/bearing" + std::to_string(bearing[channel]);
  if (!suffix[channel].empty()) {
    k += '_';
    for (char c : suffix[channel])
      k += (c == ' ' || c == '/') ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return k;
}

std::vector<int> ims_failed_bearings(int test) {
  switch (test) {
    case 1:
      return {3, 4};
    case 2:
      return {1};
    case 3:
      return {3};
    default:
      return {};
  }
}

Result<ImsTest> load_ims_csv(const std::string& path, int number) {
  EDGELOOP_ASSIGN_OR_RETURN(std::string text, read_file(path));
  const auto ls = lines(text);
  if (ls.size() < 2) return make_error(Errc::kParse, path + ": no rows");
  ImsTest t;
  t.number = number;
  t.file = std::filesystem::path(path).filename().string();
  t.failed = ims_failed_bearings(number);
  std::vector<std::string_view> cols;
  split(ls[0], ',', cols);
  if (cols.size() < 2) return make_error(Errc::kParse, path + ": the header has no channel columns");
  for (std::size_t c = 1; c < cols.size(); ++c) {
    int b = 0;
    std::string suffix;
    if (!parse_channel(cols[c], b, suffix)) {
      return make_error(Errc::kParse, path + ": column " + std::to_string(c + 1) + " ('" + std::string(cols[c]) +
                                          "') is not a bearing channel ('Bearing k' or 'Bearing k C1')");
    }
    t.channels.emplace_back(cols[c]);
    t.bearing.push_back(b);
    t.suffix.push_back(std::move(suffix));
  }
  const std::size_t nch = t.channels.size();
  std::vector<int64_t> ts;
  std::vector<std::vector<double>> vals(nch);
  for (std::size_t l = 1; l < ls.size(); ++l) {
    split(ls[l], ',', cols);
    const std::string where = path + ":" + std::to_string(l + 1);
    if (cols.size() != nch + 1) {
      return make_error(Errc::kParse, where + ": expected " + std::to_string(nch + 1) + " columns, got " +
                                          std::to_string(cols.size()));
    }
    auto t_ns = parse_timestamp_ns(cols[0]);
    if (!t_ns.ok()) return make_error(Errc::kParse, where + ": " + t_ns.error().message);
    if (!ts.empty() && *t_ns <= ts.back())
      return make_error(Errc::kParse, where + ": the snapshot times do not increase");
    ts.push_back(*t_ns);
    for (std::size_t c = 0; c < nch; ++c) {
      auto v = to_number(cols[c + 1]);
      if (!v.ok()) return make_error(Errc::kParse, where + ": " + v.error().message);
      if (!std::isfinite(*v) || *v < 0)
        return make_error(Errc::kParse, where + ": not a mean |acceleration|: " + std::string(cols[c + 1]));
      vals[c].push_back(*v);
    }
  }
  // Stopped rig: the row's median channel far below the file's typical one.
  std::vector<double> row_median(ts.size());
  std::vector<double> tmp(nch);
  for (std::size_t i = 0; i < ts.size(); ++i) {
    for (std::size_t c = 0; c < nch; ++c) tmp[c] = vals[c][i];
    row_median[i] = median_of(tmp);
  }
  const double typical = median_of(row_median);
  t.values.assign(nch, {});
  for (std::size_t i = 0; i < ts.size(); ++i) {
    if (row_median[i] < kStoppedShare * typical) {
      ++t.stopped_rows;
      continue;
    }
    t.ts_ns.push_back(ts[i]);
    for (std::size_t c = 0; c < nch; ++c) t.values[c].push_back(vals[c][i]);
  }
  if (t.ts_ns.empty()) return make_error(Errc::kParse, path + ": no snapshot of a running rig");
  return t;
}

Result<std::vector<ImsTest>> load_ims_folder(const std::string& dir, const std::string& only) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error(Errc::kNotFound, dir + ": not a folder");
  std::vector<std::pair<int, std::string>> found;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!it->is_regular_file() || name.rfind(kFilePrefix, 0) != 0 || it->path().extension() != ".csv") continue;
    if (!only.empty() && name.find(only) == std::string::npos) continue;
    const std::string n =
        name.substr(std::string_view(kFilePrefix).size(), name.size() - std::string_view(kFilePrefix).size() - 4);
    if (n.empty() || n.size() > 6 ||
        !std::all_of(n.begin(), n.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      continue;
    int number = 0;
    std::from_chars(n.data(), n.data() + n.size(), number);
    found.emplace_back(number, it->path().string());
  }
  if (ec) return make_error(Errc::kIo, dir + ": " + ec.message());
  if (found.empty())
    return make_error(Errc::kNotFound,
                      dir + ": no " + kFilePrefix + "<n>.csv" + (only.empty() ? "" : " matching '" + only + "'"));
  std::sort(found.begin(), found.end());
  std::vector<ImsTest> tests;
  for (const auto& [n, path] : found) {
    EDGELOOP_ASSIGN_OR_RETURN(ImsTest t, load_ims_csv(path, n));
    tests.push_back(std::move(t));
  }
  return tests;
}

std::vector<double> ims_rig_reference(const ImsTest& test, std::size_t channel) {
  const std::vector<int> bs = test.bearings();
  const int own = test.bearing[channel];
  std::vector<double> out(test.rows(), std::numeric_limits<double>::quiet_NaN());
  if (bs.size() < 2) return out;
  std::vector<double> levels;
  for (std::size_t i = 0; i < test.rows(); ++i) {
    levels.clear();
    for (int b : bs) {
      if (b == own) continue;
      double level = 0;
      int k = 0;
      for (std::size_t c = 0; c < test.channels.size(); ++c) {
        if (test.bearing[c] != b) continue;
        level += test.values[c][i];
        ++k;
      }
      levels.push_back(level / k);
    }
    double sum = 0;
    for (double l : levels) sum += l;
    out[i] = sum / static_cast<double>(levels.size());
  }
  return out;
}

double ImsScore::lead_hours(int test, int bearing) const {
  for (const auto& o : outcomes)
    if (o.test == test && o.bearing == bearing) return o.first_alarm_ns >= 0 ? o.lead_hours : -1;
  return -1;
}

ImsScore score_ims(const std::vector<ImsTest>& tests, const std::vector<std::vector<std::size_t>>& first_alarm_row,
                   const std::vector<std::vector<std::size_t>>& alerts_raised) {
  ImsScore s;
  for (std::size_t t = 0; t < tests.size(); ++t) {
    const ImsTest& test = tests[t];
    if (test.failed.empty()) continue;
    ++s.tests;
    const std::size_t first_out = s.outcomes.size();
    int64_t earliest_failing = std::numeric_limits<int64_t>::max();
    for (int b : test.bearings()) {
      ImsBearingOutcome o;
      o.test = test.number;
      o.bearing = b;
      o.failed = std::find(test.failed.begin(), test.failed.end(), b) != test.failed.end();
      std::size_t row = SIZE_MAX;
      for (std::size_t c = 0; c < test.channels.size(); ++c) {
        if (test.bearing[c] != b) continue;
        o.alerts_raised += alerts_raised[t][c];
        if (first_alarm_row[t][c] < row) {
          row = first_alarm_row[t][c];
          o.first_channel = test.channels[c];
        }
      }
      if (row < test.rows()) {
        o.first_alarm_ns = test.ts_ns[row];
        o.lead_hours = static_cast<double>(test.ts_ns.back() - o.first_alarm_ns) / kNsPerHour;
        if (o.failed) earliest_failing = std::min(earliest_failing, o.first_alarm_ns);
      }
      ++s.bearings;
      if (o.failed) {
        ++s.failed;
        if (o.first_alarm_ns >= 0) ++s.detected;
      }
      s.outcomes.push_back(std::move(o));
    }
    for (std::size_t i = first_out; i < s.outcomes.size(); ++i) {
      ImsBearingOutcome& o = s.outcomes[i];
      if (o.failed || o.first_alarm_ns < 0) continue;
      ++s.false_alarms;
      o.before_failing = o.first_alarm_ns < earliest_failing;
      if (o.before_failing) ++s.false_alarms_before_failing;
    }
  }
  return s;
}

Result<EvalResult> run_ims_eval(const EvalOptions& o, const Registry& registry) {
  EDGELOOP_ASSIGN_OR_RETURN(auto tests, load_ims_folder(o.data_dir, o.only));
  const std::string config_name = o.config_path.empty() ? "<built-in examples/ims.yaml>" : o.config_path;
  EDGELOOP_ASSIGN_OR_RETURN(AppConfig config,
                            load_eval_config(o.config_path, builtin_ims_config(), config_name.c_str()));

  // One series per channel: its value, the rig reference and their ratio, by name.
  std::vector<ReplaySeries> series;
  std::vector<std::pair<std::size_t, std::size_t>> where;  // series -> (test, channel)
  std::vector<std::vector<double>> rel_of;                 // per series, for the plots
  for (std::size_t t = 0; t < tests.size(); ++t) {
    const ImsTest& test = tests[t];
    for (std::size_t c = 0; c < test.channels.size(); ++c) {
      const std::vector<double> rig = ims_rig_reference(test, c);
      ReplaySeries s;
      s.key = test.key(c);
      s.ts_ns = &test.ts_ns;
      s.columns = {"v", "rig", "rel"};
      s.values.reserve(test.rows() * 3);
      std::vector<double> rel(test.rows());
      for (std::size_t i = 0; i < test.rows(); ++i) {
        rel[i] = test.values[c][i] / rig[i];
        s.values.insert(s.values.end(), {test.values[c][i], rig[i], rel[i]});
      }
      series.push_back(std::move(s));
      where.emplace_back(t, c);
      rel_of.push_back(std::move(rel));
    }
  }
  EvalResult res;
  EDGELOOP_ASSIGN_OR_RETURN(auto outputs, replay(config, registry, series, res.stats,
                                                 o.progress ? stderr_progress("ims") : ReplayProgress{}));

  // An alarm: the rule's alert (or, without a rule, a score of at least 0.5).
  std::vector<std::vector<std::size_t>> first_row(tests.size()), raised(tests.size());
  for (std::size_t t = 0; t < tests.size(); ++t) {
    first_row[t].assign(tests[t].channels.size(), SIZE_MAX);
    raised[t].assign(tests[t].channels.size(), 0);
  }
  std::vector<std::vector<uint8_t>> alarm(series.size());
  for (std::size_t s = 0; s < series.size(); ++s) {
    const auto [t, c] = where[s];
    auto& a = alarm[s];
    a.resize(series[s].rows());
    for (std::size_t i = 0; i < a.size(); ++i) {
      a[i] = res.stats.has_rules ? outputs[s].alert[i] : (outputs[s].score[i] >= 0.5 ? 1 : 0);
      if (a[i] && first_row[t][c] == SIZE_MAX) first_row[t][c] = i;
    }
    raised[t][c] = res.stats.has_rules ? outputs[s].alerts_raised : (first_row[t][c] != SIZE_MAX ? 1 : 0);
  }
  const ImsScore score = score_ims(tests, first_row, raised);

  res.text = replay_line(res.stats) + "\n";
  for (const auto& test : tests) {
    res.text +=
        "ims test " + std::to_string(test.number) + " (" + test.file + "): " + std::to_string(test.rows()) +
        " snapshots, " + format_timestamp(test.ts_ns.front()) + " .. " + format_timestamp(test.ts_ns.back()) +
        " (last running)" +
        (test.stopped_rows ? ", " + std::to_string(test.stopped_rows) + " rows of a stopped rig left out" : "") +
        (test.failed.empty() ? ": failures unknown, not scored" : "") + "\n";
  }
  char buf[256];
  res.text +=
      "test  bearing  failed  first alarm (UTC)    channel  lead h  healthy bearing: alarm vs the failing one\n";
  for (const auto& b : score.outcomes) {
    const bool alarmed = b.first_alarm_ns >= 0;
    // The channel's own part of its name ("C1"), when a bearing has several.
    std::string channel = "-";
    if (alarmed) {
      int k = 0;
      parse_channel(b.first_channel, k, channel);
      if (channel.empty()) channel = "all";
    }
    std::snprintf(buf, sizeof buf, "%4d  %7d  %-6s  %-19s  %-7s  %6s  %s\n", b.test, b.bearing, b.failed ? "yes" : "no",
                  alarmed ? format_timestamp(b.first_alarm_ns).c_str() : "-", channel.c_str(),
                  alarmed ? format_number("%.2f", b.lead_hours).c_str() : "-",
                  b.failed || !alarmed ? "" : (b.before_failing ? "BEFORE" : "after"));
    res.text += buf;
  }
  const double lead_t2b1 = score.lead_hours(2, 1);
  std::snprintf(
      buf, sizeof buf,
      "ims: %zu tests, %zu bearings, %zu failed, %zu detected; healthy bearings alarming: %zu at all, %zu before the "
      "failing bearing of their test (%s)\n",
      score.tests, score.bearings, score.failed, score.detected, score.false_alarms, score.false_alarms_before_failing,
      res.stats.has_rules ? "alarms: the rule's alerts" : "alarms: score >= 0.5");
  res.text += buf;
  if (lead_t2b1 >= 0) {
    res.text += "test 2 bearing 1: alarm " + format_number("%.2f", lead_t2b1) +
                " h before the last running snapshot (README floor: 74 h)\n";
  }

  if (!o.report_path.empty()) {
    nlohmann::json report;
    report["dataset"] = "ims";
    report["data"] = o.data_dir;
    report["config"] = config_name;
    report["alarms"] = res.stats.has_rules ? "alerts of the pipeline's rule" : "score >= 0.5";
    report["replay"] = {{"rows", res.stats.rows},
                        {"points", res.stats.points},
                        {"seconds", res.stats.seconds},
                        {"rows_per_s", res.stats.rows_per_s()},
                        {"points_per_s", res.stats.points_per_s()}};
    report["tests"] = score.tests;
    report["bearings"] = score.bearings;
    report["failed"] = score.failed;
    report["detected"] = score.detected;
    report["false_alarms"] = score.false_alarms;
    report["false_alarms_before_failing"] = score.false_alarms_before_failing;
    report["lead_hours_test2_b1"] = lead_t2b1 >= 0 ? nlohmann::json(lead_t2b1) : nlohmann::json(nullptr);
    report["floor"] = {{"test", 2},
                       {"bearing", 1},
                       {"lead_hours", 74},
                       {"rule", "3 consecutive snapshots above mean + 6 sigma of the first 30 % (data README)"}};
    const std::string plots = plots_dir_for(o.report_path);
    if (o.plots) {
      std::error_code ec;
      std::filesystem::create_directories(plots, ec);
      if (ec) return make_error(Errc::kIo, "cannot create " + plots + ": " + ec.message());
    }
    nlohmann::json per_test = nlohmann::json::array();
    for (std::size_t t = 0; t < tests.size(); ++t) {
      const ImsTest& test = tests[t];
      nlohmann::json jt = {{"test", test.number},
                           {"file", test.file},
                           {"snapshots", test.rows()},
                           {"stopped_rows_left_out", test.stopped_rows},
                           {"first", format_timestamp(test.ts_ns.front())},
                           {"last_running", format_timestamp(test.ts_ns.back())},
                           {"failed_bearings", test.failed},
                           {"scored", !test.failed.empty()}};
      nlohmann::json jb = nlohmann::json::array();
      for (int b : test.bearings()) {
        nlohmann::json j = {{"bearing", b}};
        for (const auto& oc : score.outcomes) {
          if (oc.test != test.number || oc.bearing != b) continue;
          j["failed"] = oc.failed;
          j["alerts_raised"] = oc.alerts_raised;
          if (oc.first_alarm_ns >= 0) {
            j["first_alarm"] = format_timestamp(oc.first_alarm_ns);
            j["first_channel"] = oc.first_channel;
            j["lead_hours"] = oc.lead_hours;
            if (!oc.failed) j["before_failing"] = oc.before_failing;
          } else {
            j["first_alarm"] = nullptr;
            j["lead_hours"] = nullptr;
          }
        }
        nlohmann::json chans = nlohmann::json::array();
        PlotSpec spec;
        spec.ts_ns = test.ts_ns;
        spec.score.assign(test.rows(), std::numeric_limits<double>::quiet_NaN());
        spec.alerts.assign(test.rows(), 0);
        for (std::size_t s = 0; s < series.size(); ++s) {
          const auto [st, c] = where[s];
          if (st != t || test.bearing[c] != b) continue;
          chans.push_back({{"key", series[s].key},
                           {"channel", test.channels[c]},
                           {"alerts_raised", outputs[s].alerts_raised},
                           {"first_alarm", first_row[t][c] < test.rows()
                                               ? nlohmann::json(format_timestamp(test.ts_ns[first_row[t][c]]))
                                               : nlohmann::json(nullptr)}});
          const std::string label = test.suffix[c].empty() ? "" : " " + test.suffix[c];
          spec.signal_names.push_back("mean |a| (g)" + label);
          spec.signals.push_back(test.values[c]);
          spec.signal_names.push_back("v / other bearings" + label);
          spec.signals.push_back(rel_of[s]);
          for (std::size_t i = 0; i < test.rows(); ++i) {
            const double sc = outputs[s].score[i];
            if (!std::isnan(sc) && !(sc <= spec.score[i])) spec.score[i] = sc;
            spec.alerts[i] = static_cast<uint8_t>(spec.alerts[i] | alarm[s][i]);
          }
        }
        j["channels"] = std::move(chans);
        if (o.plots) {
          const bool failed = std::find(test.failed.begin(), test.failed.end(), b) != test.failed.end();
          spec.title =
              "IMS test " + std::to_string(test.number) + " bearing " + std::to_string(b) +
              (failed ? " (failed at the end)" : " (survived)") +
              (j.contains("lead_hours") && !j["lead_hours"].is_null()
                   ? ": first alarm " + format_number("%.1f", j["lead_hours"].get<double>()) + " h before the end"
                   : std::string(": no alarm"));
          const std::string name = "test" + std::to_string(test.number) + "_bearing" + std::to_string(b) + ".svg";
          EDGELOOP_TRY(write_file_atomic(plots + "/" + name, render_svg(spec)));
          j["plot"] = std::filesystem::path(plots).filename().string() + "/" + name;
        }
        jb.push_back(std::move(j));
      }
      jt["bearings"] = std::move(jb);
      per_test.push_back(std::move(jt));
    }
    report["per_test"] = std::move(per_test);
    EDGELOOP_TRY(write_report(o.report_path, report));
    res.text += "report: " + o.report_path + (o.plots ? " (plots in " + plots + "/)" : std::string()) + "\n";
  }
  res.summary_json =
      "{\"dataset\":\"ims\",\"tests\":" + std::to_string(score.tests) +
      ",\"bearings\":" + std::to_string(score.bearings) + ",\"failed\":" + std::to_string(score.failed) +
      ",\"detected\":" + std::to_string(score.detected) + ",\"false_alarms\":" + std::to_string(score.false_alarms) +
      ",\"lead_hours_test2_b1\":" + (lead_t2b1 >= 0 ? format_number("%.2f", lead_t2b1) : std::string("null")) + "}";
  return res;
}

}  // namespace edgeloop::eval
