#include "eval/replay.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "config/yaml_loader.h"
#include "core/clock.h"
#include "runtime/runtime.h"

namespace edgeloop::eval {

namespace {

// Runs on the dispatch thread: files each event under its series and row.
class Collector {
 public:
  Collector(const std::vector<ReplaySeries>& series, std::vector<ReplayOutput>& out, const std::vector<std::string>& collect)
      : series_(series), out_(out), collect_(collect) {
    cursor_.assign(series.size(), 0);
    tap_cursor_.assign(series.size(), 0);
    raised_.assign(series.size(), 0);
    raised_from_.assign(series.size(), 0);
  }
  void bind(KeyId key, std::size_t series) {
    if (key >= by_key_.size()) by_key_.resize(static_cast<std::size_t>(key) + 1, SIZE_MAX);
    by_key_[key] = series;
  }
  // On a shard thread, from the tap at the end of the pipeline: a forwarded record, its score
  // and the collected fields (`fields`: their indices in the record, -1 where absent). Each key
  // (series) lives on one shard, so series never share a writer.
  void on_record(const Record& r, int score_field, const std::vector<int>& fields) {
    if (r.key >= by_key_.size() || by_key_[r.key] == SIZE_MAX || score_field >= r.nfields) return;
    const std::size_t s = by_key_[r.key];
    const std::size_t row = next_row(tap_cursor_[s], s, r.ts_ns);
    if (row == SIZE_MAX) {
      ++out_[s].unmatched_events;
      return;
    }
    out_[s].score[row] = r.f[static_cast<std::size_t>(score_field)];
    ++out_[s].score_events;
    for (std::size_t j = 0; j < fields.size(); ++j) {
      if (fields[j] >= 0 && fields[j] < r.nfields) out_[s].collected[j][row] = r.f[static_cast<std::size_t>(fields[j])];
    }
  }
  const std::vector<std::string>& collect() const { return collect_; }
  bool tapped() const { return tapped_; }
  void set_tapped() { tapped_ = true; }

  void on_event(const Event& e) {
    if (e.key >= by_key_.size() || by_key_[e.key] == SIZE_MAX) return;
    const std::size_t s = by_key_[e.key];
    if (e.kind == EventKind::kInsight) {
      if (tapped_) return;  // the tap has the scores
      const int f = score_field(e.schema);
      if (f < 0 || f >= e.nfields) return;
      const std::size_t row = next_row(cursor_[s], s, e.ts_ns);
      if (row == SIZE_MAX) {
        ++out_[s].unmatched_events;
        return;
      }
      out_[s].score[row] = e.f[static_cast<std::size_t>(f)];
      ++out_[s].score_events;
      const std::vector<int>& fields = collect_fields(e.schema);
      for (std::size_t j = 0; j < fields.size(); ++j) {
        if (fields[j] >= 0 && fields[j] < e.nfields) out_[s].collected[j][row] = e.f[static_cast<std::size_t>(fields[j])];
      }
    } else if (e.kind == EventKind::kAlert) {
      const std::size_t row = row_at(s, e.ts_ns);
      if (row == SIZE_MAX) {
        ++out_[s].unmatched_events;
        return;
      }
      if (e.state == AlertState::kRaised && !raised_[s]) {
        raised_[s] = 1;
        raised_from_[s] = row;
        ++out_[s].alerts_raised;
      } else if (e.state == AlertState::kCleared && raised_[s]) {
        raised_[s] = 0;
        for (std::size_t i = raised_from_[s]; i < row; ++i) out_[s].alert[i] = 1;
      }
    }
  }
  // Alerts still raised at the end hold to the last row.
  void finish() {
    for (std::size_t s = 0; s < series_.size(); ++s) {
      if (!raised_[s]) continue;
      for (std::size_t i = raised_from_[s]; i < out_[s].alert.size(); ++i) out_[s].alert[i] = 1;
    }
  }

 private:
  // Records (and insight events) of a key come in row order, one per row: a cursor that
  // only moves forward finds the row, duplicate timestamps included.
  std::size_t next_row(std::size_t& c, std::size_t s, int64_t ts) {
    const auto& t = *series_[s].ts_ns;
    while (c < t.size() && t[c] < ts) ++c;
    if (c < t.size() && t[c] == ts) return c++;
    return row_at(s, ts);
  }
  // The first row at `ts` (alerts: the row that raised or cleared).
  std::size_t row_at(std::size_t s, int64_t ts) const {
    const auto& t = *series_[s].ts_ns;
    const auto it = std::lower_bound(t.begin(), t.end(), ts);
    if (it != t.end() && *it == ts) return static_cast<std::size_t>(it - t.begin());
    return SIZE_MAX;
  }
  int score_field(const Schema* schema) {
    if (schema == last_schema_) return last_field_;
    last_schema_ = schema;
    last_field_ = schema ? schema->index_of("score") : -1;
    return last_field_;
  }
  // The indices of the collected fields in an event's schema (-1 where absent), cached.
  const std::vector<int>& collect_fields(const Schema* schema) {
    if (schema == collect_schema_ && !collect_idx_.empty()) return collect_idx_;
    collect_schema_ = schema;
    collect_idx_.assign(collect_.size(), -1);
    for (std::size_t j = 0; j < collect_.size(); ++j) collect_idx_[j] = schema ? schema->index_of(collect_[j]) : -1;
    return collect_idx_;
  }

  const std::vector<ReplaySeries>& series_;
  std::vector<ReplayOutput>& out_;
  std::vector<std::size_t> by_key_;
  std::vector<std::size_t> cursor_;
  std::vector<std::size_t> tap_cursor_;
  bool tapped_ = false;
  std::vector<uint8_t> raised_;
  std::vector<std::size_t> raised_from_;
  const Schema* last_schema_ = nullptr;
  int last_field_ = -1;
  std::vector<std::string> collect_;
  const Schema* collect_schema_ = nullptr;
  std::vector<int> collect_idx_;
};

// The last step of the evaluated pipeline (added by the replay, not by the config): hands the
// records that come out of the pipeline, with their score, to the collector. Reading them
// here, on the shard thread, costs nothing per row on the dispatch side; events still carry
// the alerts.
class TapStage final : public Stage {
 public:
  TapStage(Collector& c, const Schema& input, std::vector<int> fields)
      : c_(c), schema_(input), score_(input.index_of("score")), fields_(std::move(fields)) {}
  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter&) override { c_.on_record(r, score_, fields_); }

 private:
  Collector& c_;
  Schema schema_;
  int score_;
  std::vector<int> fields_;
};

constexpr const char* kTapStep = "eval_tap";

}  // namespace

Result<AppConfig> load_eval_config(const std::string& path, const char* fallback_text, const char* fallback_name) {
  Result<ConfigNode> root = path.empty() ? load_yaml_string(fallback_text, fallback_name) : load_yaml_file(path);
  if (!root.ok()) return root.take_error();
  EDGELOOP_ASSIGN_OR_RETURN(AppConfig config, parse_app_config(*root));
  config.runtime.summary_interval_ns = 0;
  return config;
}

Result<std::vector<ReplayOutput>> replay(const AppConfig& config, const Registry& registry,
                                         const std::vector<ReplaySeries>& series, ReplayStats& stats,
                                         const ReplayProgress& progress, const std::vector<std::string>& collect) {
  if (config.sources.empty()) return make_error(Errc::kInvalidConfig, config.file + ": the config has no source");
  const NamedNode& src = config.sources.front();
  if (src.type != "inproc") {
    return make_error(Errc::kInvalidConfig, config.file + ": the first source (" + src.name +
                                                ") must be `type: inproc`: the evaluation feeds it from the data set");
  }
  stats.has_rules = false;
  for (const auto& p : config.pipelines) {
    if (p.from != src.name) continue;
    for (const auto& step : p.steps) stats.has_rules = stats.has_rules || step.name == "rule";
  }
  std::vector<ReplayOutput> out(series.size());
  for (std::size_t s = 0; s < series.size(); ++s) {
    if (!series[s].blocks.empty() && series[s].blocks.size() != series[s].rows()) {
      return make_error(Errc::kInvalidArgument, "replay: series " + series[s].key + " has " +
                                                    std::to_string(series[s].blocks.size()) + " sample blocks for " +
                                                    std::to_string(series[s].rows()) + " rows (one per row, or none)");
    }
    out[s].score.assign(series[s].rows(), std::numeric_limits<double>::quiet_NaN());
    out[s].alert.assign(series[s].rows(), 0);
    out[s].collected.assign(collect.size(), std::vector<double>(series[s].rows(), std::numeric_limits<double>::quiet_NaN()));
  }
  Collector collector(series, out, collect);
  // The first pipeline fed by the source gets the tap as its last step, when its output
  // carries a `score` field (else the scores come from insight events).
  AppConfig tapped = config;
  Registry reg = registry;
  reg.add_stage(PluginInfo{.name = kTapStep, .summary = "evaluation tap (internal)"},
                [&collector](const Options&, const StageContext& ctx) -> Result<std::unique_ptr<Stage>> {
                  if (!ctx.input || ctx.input->index_of("score") < 0) {
                    return make_error(Errc::kNotFound, "no score field at the end of the pipeline");
                  }
                  std::vector<int> fields;
                  for (const auto& name : collector.collect()) {
                    const int i = ctx.input->index_of(name);
                    if (i < 0 || static_cast<std::size_t>(i) >= kMaxFields) {
                      std::string all;
                      for (const auto& n : ctx.input->names()) all += (all.empty() ? "" : ", ") + n;
                      return make_error(Errc::kInvalidConfig, "the evaluation reads field '" + name +
                                                                  "' from the pipeline's output, which has: " + all);
                    }
                    fields.push_back(i);
                  }
                  collector.set_tapped();
                  return std::unique_ptr<Stage>(std::make_unique<TapStage>(collector, *ctx.input, std::move(fields)));
                });
  for (auto& p : tapped.pipelines) {
    if (p.from != src.name) continue;
    StepConfig step;
    step.name = kTapStep;
    step.node = ConfigNode::map(p.mark);
    step.path = p.path + ".steps[" + std::to_string(p.steps.size()) + "]." + kTapStep;
    step.mark = p.mark;
    p.steps.push_back(std::move(step));
    break;
  }
  auto built = Runtime::build(tapped, reg);
  if (!built.ok() && built.error().code == Errc::kNotFound) built = Runtime::build(config, registry);
  if (!built.ok()) return built.take_error();
  auto rt = std::move(*built);
  rt->add_event_listener([&collector](const Event& e) { collector.on_event(e); });
  EDGELOOP_TRY(rt->start());
  SourceContext& ctx = rt->source_context(0);

  // Map each series' columns onto the source's fields: by name, else by position.
  std::vector<std::vector<int>> column_of(series.size());
  std::size_t total_rows = 0;
  for (std::size_t s = 0; s < series.size(); ++s) {
    total_rows += series[s].rows();
    EDGELOOP_ASSIGN_OR_RETURN(KeyId id, ctx.keys->intern(series[s].key, series[s].key, ctx.index));
    collector.bind(id, s);
  }
  // The source's schema: the names it declared (`fields:`).
  std::vector<std::string> names;
  if (const ConfigNode* f = src.node.find("fields")) {
    if (f->is_scalar()) names.push_back(f->str());
    for (const auto& item : f->items()) names.push_back(item.str());
  }
  if (names.empty()) names.push_back("v");  // the inproc default
  for (std::size_t s = 0; s < series.size(); ++s) {
    const auto& cols = series[s].columns;
    std::vector<int> map;
    bool by_name = true;
    for (const auto& n : names) {
      int c = -1;
      for (std::size_t i = 0; i < cols.size(); ++i)
        if (cols[i] == n) c = static_cast<int>(i);
      if (c < 0) by_name = false;
      map.push_back(c);
    }
    if (!by_name) {
      if (names.size() != cols.size()) {
        rt->stop();
        return make_error(Errc::kInvalidConfig, config.file + ": the source declares " + std::to_string(names.size()) +
                                                    " fields, but " + series[s].key + " has " + std::to_string(cols.size()) +
                                                    " columns (name them as the columns, or give as many)");
      }
      for (std::size_t i = 0; i < map.size(); ++i) map[i] = static_cast<int>(i);
    }
    column_of[s] = std::move(map);
  }

  const int64_t t0 = mono_now_ns();
  std::size_t done = 0;
  for (std::size_t s = 0; s < series.size(); ++s) {
    const auto& se = series[s];
    const std::size_t ncols = se.columns.size();
    const auto& map = column_of[s];
    const KeyId id = ctx.keys->find(se.key);
    for (std::size_t i = 0; i < se.rows(); ++i) {
      Record r;
      r.key = id;
      r.source = ctx.index;
      r.ts_ns = (*se.ts_ns)[i];
      r.nfields = static_cast<uint8_t>(map.size());
      for (std::size_t k = 0; k < map.size(); ++k) r.f[k] = se.values[i * ncols + static_cast<std::size_t>(map[k])];
      if (!se.blocks.empty() && se.blocks[i]) {
        stats.samples += se.blocks[i]->samples.size();
        r.block = se.blocks[i];  // shared, not copied
      }
      ctx.output->push(std::move(r));
      stats.points += map.size();
      if (progress && (++done & 4095) == 0) progress(done, total_rows);
    }
    stats.rows += se.rows();
  }
  rt->stop();  // the shards finish, the dispatcher delivers every event
  stats.seconds = static_cast<double>(mono_now_ns() - t0) * 1e-9;
  if (progress) progress(total_rows, total_rows);
  collector.finish();
  return out;
}

}  // namespace edgeloop::eval
