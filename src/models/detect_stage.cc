#include "models/detect_stage.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "core/clock.h"
#include "state/byte_io.h"
#include "core/stage_event.h"

namespace edgeloop {

namespace {

constexpr uint32_t kKeyStateVersion = 1;

// Stage instances of one pipeline step (one per shard) number their snapshot files.
int next_instance(const std::string& prefix) {
  static std::mutex mu;
  static std::map<std::string, int> next;
  std::lock_guard lock(mu);
  return next[prefix]++;
}

Result<int> field_index(const Options& opts, const char* option, const std::string& name, const Schema& input) {
  const int i = input.index_of(name);
  if (i < 0) {
    std::string all;
    for (const auto& n : input.names()) all += (all.empty() ? "" : ", ") + n;
    return opts.error(option, "no input field '" + name + "' (the input has: " + all + ")");
  }
  return i;
}

}  // namespace

PluginInfo DetectStage::info() {
  PluginInfo p;
  p.name = "detect";
  p.summary =
      "Online anomaly detection per key with no training data: learns a healthy baseline during a warm-up, then "
      "appends a score in [0, 1] to each record (and may emit insight events). Optional state snapshots on disk.";
  p.shorthand = "method";
  p.options = {
      {.name = "name", .type = OptionType::kString, .default_value = "detect",
       .description = "The stage's name, carried by its insight events."},
      {.name = "method", .type = OptionType::kString, .default_value = "robust",
       .description = "`robust`: one scalar field (level, step, mean, seasonal and sequence experts, each calibrated "
                      "against its own history, combined). `mahalanobis`: a vector of fields (distance from the "
                      "warm-up mean under the warm-up covariance, calibrated on the warm-up).",
       .choices = {"robust", "mahalanobis"}},
      {.name = "field", .type = OptionType::kString,
       .description = "robust: the input field to watch. Default: the first input field."},
      {.name = "fields", .type = OptionType::kList,
       .description = "mahalanobis: the input fields that make the vector. Default: every input field."},
      {.name = "pass", .type = OptionType::kList,
       .description = "Input fields copied to the output record before the score, in order. Default: every input "
                      "field (the score takes one more place: a record holds at most kMaxFields values); `[]`: "
                      "only the score."},
      {.name = "output", .type = OptionType::kString, .default_value = "score",
       .description = "Name of the score field appended to the forwarded records."},
      {.name = "warmup", .type = OptionType::kString, .default_value = "200",
       .description = "The healthy baseline: a count of records (`400`) or a duration of event time (`10m`) per key, "
                      "during which the detector only learns and scores 0."},
      {.name = "emit", .type = OptionType::kString, .default_value = "above",
       .description = "Insight events: `none`, `above` (a record whose score is at least `emit_above`) or `every` "
                      "record (for evaluation and plots). Records are forwarded either way.",
       .choices = {"none", "above", "every"}},
      {.name = "emit_above", .type = OptionType::kNumber, .default_value = "0.9",
       .description = "With `emit: above`, the score from which an insight event is emitted.", .min = 0, .max = 1},
      {.name = "state_dir", .type = OptionType::kString,
       .description = "Folder for state snapshots (created if missing). Unset: `runtime.state_dir`; `\"\"`: no "
                      "snapshots even when that is set."},
      {.name = "snapshot_every", .type = OptionType::kDuration, .default_value = "5m",
       .description = "With `state_dir`: how often (wall clock) the state is written; also written when the "
                      "pipeline is torn down.",
       .min = 1},
      {.name = "history", .type = OptionType::kInt, .default_value = "3000",
       .description = "Records of history each calibration keeps (robust: per expert; mahalanobis: warm-up distances).",
       .min = 20, .max = 1000000},
      {.name = "tail", .type = OptionType::kNumber, .default_value = "0.01",
       .description = "Share of the history in each calibrated tail.", .min = 0.001, .max = 0.5},
      {.name = "half", .type = OptionType::kNumber, .default_value = "3",
       .description = "The surprise (sum of -log10 p) that maps to score 0.5: score = s / (s + half).", .min = 0.01},
      {.name = "refit_every", .type = OptionType::kInt, .default_value = "1024",
       .description = "robust: refresh the calibrations' medians and bulk quantiles every N records at most (a sort of "
                      "the history; more often while the history is short).", .min = 1,
       .max = 100000},
      {.name = "levels", .type = OptionType::kInt, .default_value = "8",
       .description = "robust: quantisation levels over the warm-up range, for the sequence expert.", .min = 2, .max = 64},
      {.name = "order", .type = OptionType::kInt, .default_value = "1",
       .description = "robust: context length (records) of the sequence expert.", .min = 0, .max = 8},
      {.name = "max_contexts", .type = OptionType::kInt, .default_value = "50000",
       .description = "robust: bound on the sequence expert's contexts per key (memory).", .min = 16, .max = 10000000},
      {.name = "season", .type = OptionType::kDuration, .default_value = "0s",
       .description = "robust: season of the seasonal expert (compare with the reading one season earlier, e.g. "
                      "`1d`); 0: off.",
       .min = 0},
      {.name = "weights", .type = OptionType::kMap,
       .description = "robust: weight of each expert (0 turns it off): `level` (the value), `step` (the change "
                      "since the last record), `mean` (of the last `mean_len`), `season` (the change since one season "
                      "ago), `sequence` (the surprise of the quantised level after the last `order` levels), "
                      "`sequence_mean` (its mean over `sequence_mean_len`), `activity` (the mean |step| over "
                      "`mean_len`). Defaults (tuned on NAB): level 0.5, step 1, mean 1.5, season 1, sequence 0, "
                      "sequence_mean 2, activity 1."},
      {.name = "mean_len", .type = OptionType::kInt, .default_value = "6",
       .description = "robust: records in the `mean` and `activity` experts' windows.", .min = 1, .max = 100000},
      {.name = "sequence_mean_len", .type = OptionType::kInt, .default_value = "5",
       .description = "robust: records in the `sequence_mean` expert's window.", .min = 1, .max = 100000},
      {.name = "peak_half_life", .type = OptionType::kNumber, .default_value = "100",
       .description = "robust: a surprise that does not exceed the peak of the recent ones (decaying with this "
                      "half-life, in records) scores 0: one anomaly gives one peak, not a burst of alarms. 0: off.",
       .min = 0, .max = 1e7},
      {.name = "suppress", .type = OptionType::kInt, .default_value = "0",
       .description = "robust: after a score of at least `suppress_above`, the next N records score 0 unless they "
                      "exceed it (one anomaly, one peak).",
       .min = 0, .max = 1000000},
      {.name = "suppress_above", .type = OptionType::kNumber, .default_value = "0.5",
       .description = "robust: the score that starts a suppression.", .min = 0, .max = 1},
      {.name = "smooth", .type = OptionType::kNumber, .default_value = "1",
       .description = "mahalanobis: exponential smoothing of the input vectors, in records (1: none).", .min = 1,
       .max = 1e6},
      {.name = "adapt", .type = OptionType::kNumber, .default_value = "0",
       .description = "mahalanobis: after the warm-up the baseline mean follows the input at this rate per record "
                      "(slow drift), only while the score is below `adapt_below`; 0: frozen.",
       .min = 0, .max = 1},
      {.name = "adapt_below", .type = OptionType::kNumber, .default_value = "0.5",
       .description = "mahalanobis: the score under which the baseline may adapt.", .min = 0, .max = 1},
      {.name = "shrink", .type = OptionType::kNumber, .default_value = "0.01",
       .description = "mahalanobis: shrinkage of the warm-up covariance towards its diagonal (0..1).", .min = 0, .max = 1},
  };
  return p;
}

Result<std::unique_ptr<Stage>> DetectStage::create(const Options& opts, const StageContext& ctx) {
  if (!ctx.input) return opts.error("method", "the detector has no input schema (a bug in the pipeline builder)");
  const Schema& input = *ctx.input;
  if (input.size() == 0) return opts.error("method", "the input records have no fields");
  DetectSettings s;
  s.name = opts.str("name");
  s.method = opts.str("method") == "mahalanobis" ? DetectMethod::kMahalanobis : DetectMethod::kRobust;
  const bool robust = s.method == DetectMethod::kRobust;
  // Options of the other method are refused rather than silently ignored.
  for (const char* o : {"levels", "order", "max_contexts", "season", "weights", "suppress", "suppress_above", "refit_every",
                        "field", "mean_len", "sequence_mean_len", "peak_half_life"}) {
    if (!robust && opts.has(o)) return opts.error(o, std::string("'") + o + "' applies to method: robust");
  }
  for (const char* o : {"smooth", "adapt", "adapt_below", "shrink", "fields"}) {
    if (robust && opts.has(o)) return opts.error(o, std::string("'") + o + "' applies to method: mahalanobis");
  }
  if (robust) {
    if (opts.has("field")) {
      EDGELOOP_ASSIGN_OR_RETURN(s.field, field_index(opts, "field", opts.str("field"), input));
    }
  } else {
    if (opts.has("fields")) {
      for (const auto& f : opts.list("fields")) {
        EDGELOOP_ASSIGN_OR_RETURN(int i, field_index(opts, "fields", f, input));
        s.fields.push_back(i);
      }
      if (s.fields.empty()) return opts.error("fields", "give at least one field");
    } else {
      for (std::size_t i = 0; i < input.size(); ++i) s.fields.push_back(static_cast<int>(i));
    }
  }
  std::vector<std::string> out_names;
  if (opts.has("pass")) {
    for (const auto& f : opts.list("pass")) {
      EDGELOOP_ASSIGN_OR_RETURN(int i, field_index(opts, "pass", f, input));
      s.pass.push_back(i);
      out_names.push_back(f);
    }
  } else {
    for (std::size_t i = 0; i < input.size(); ++i) {
      s.pass.push_back(static_cast<int>(i));
      out_names.push_back(input.name(i));
    }
  }
  const std::string output = opts.str("output");
  if (output.empty()) return opts.error("output", "the score field needs a name");
  for (const auto& n : out_names)
    if (n == output) return opts.error("output", "'" + output + "' is already an input field; choose another name");
  out_names.push_back(output);
  if (out_names.size() > kMaxFields) {
    return opts.error("pass", "the output would have " + std::to_string(out_names.size()) + " fields (at most " +
                                  std::to_string(kMaxFields) + "): list fewer input fields in `pass` (e.g. `pass: []`)");
  }

  const std::string warm = opts.str("warmup");
  if (auto n = parse_int(warm); n.ok()) {
    if (*n < 0) return opts.error("warmup", "a count of records must be at least 0");
    s.warmup_count = *n;
  } else if (auto ns = parse_duration_ns(warm); ns.ok()) {
    s.warmup_ns = *ns;
  } else {
    return opts.error("warmup", "expected a count of records (400) or a duration (10m), got '" + warm + "'");
  }
  const std::string emit = opts.str("emit");
  s.emit = emit == "none" ? EmitMode::kNone : emit == "every" ? EmitMode::kEvery : EmitMode::kAbove;
  s.emit_above = opts.number("emit_above");
  // Its own state_dir, else runtime.state_dir; `state_dir: ""` turns snapshots off.
  s.state_dir = opts.has("state_dir") ? opts.str("state_dir") : ctx.state_dir;
  s.snapshot_every_ns = opts.duration_ns("snapshot_every");

  auto& u = s.robust;
  u.history = static_cast<int>(opts.integer("history"));
  u.tail = opts.number("tail");
  u.half = opts.number("half");
  u.refit_every = static_cast<int>(opts.integer("refit_every"));
  u.levels = static_cast<int>(opts.integer("levels"));
  u.order = static_cast<int>(opts.integer("order"));
  u.max_contexts = static_cast<int>(opts.integer("max_contexts"));
  u.season_ns = opts.duration_ns("season");
  u.suppress = static_cast<int>(opts.integer("suppress"));
  u.suppress_above = opts.number("suppress_above");
  u.mean_len = static_cast<int>(opts.integer("mean_len"));
  u.sequence_mean_len = static_cast<int>(opts.integer("sequence_mean_len"));
  u.peak_half_life = opts.number("peak_half_life");
  if (const ConfigNode* w = opts.node("weights")) {
    for (const auto& [k, v] : w->entries()) {
      double* target = k == "level" ? &u.w_level : k == "step" ? &u.w_step : k == "mean" ? &u.w_mean
                     : k == "season" ? &u.w_season : k == "sequence" ? &u.w_sequence
                     : k == "sequence_mean" ? &u.w_sequence_mean : k == "activity" ? &u.w_activity : nullptr;
      if (!target) {
        return opts.error("weights", "unknown expert '" + k + "' (level, step, mean, season, sequence, sequence_mean, activity)");
      }
      auto x = v.is_scalar() ? parse_number(v.str()) : Result<double>(make_error(Errc::kTypeMismatch, ""));
      if (!x.ok() || *x < 0 || !std::isfinite(*x)) return opts.error("weights", "the weight of '" + k + "' must be a number >= 0");
      *target = *x;
    }
  }
  auto& m = s.mahalanobis;
  m.history = u.history;
  m.tail = u.tail;
  m.half = u.half;
  m.smooth = opts.number("smooth");
  m.adapt = opts.number("adapt");
  m.adapt_below = opts.number("adapt_below");
  m.shrink = opts.number("shrink");

  if (!s.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(s.state_dir, ec);
    if (ec) return opts.error("state_dir", "cannot create " + s.state_dir + ": " + ec.message());
  }
  return std::unique_ptr<Stage>(std::make_unique<DetectStage>(std::move(s), Schema(std::move(out_names)), ctx));
}

DetectStage::DetectStage(DetectSettings settings, Schema output, const StageContext& ctx)
    : s_(std::move(settings)),
      schema_(std::move(output)),
      input_(ctx.input),
      pipeline_name_(ctx.pipeline_name),
      pipeline_index_(ctx.pipeline_index),
      stage_index_(ctx.stage_index),
      vec_(s_.fields.size()),
      namer_([keys = ctx.keys](KeyId id) { return keys ? keys->name(id) : "#" + std::to_string(id); }) {
  if (ctx.metrics) {
    const Metrics::Labels labels = {{"pipeline", ctx.pipeline}, {"stage", std::to_string(ctx.stage_index) + ":" + s_.name}};
    snapshots_ = &ctx.metrics->counter("edgeloop_detect_snapshots_total", "Detector state snapshots written.", labels);
    snapshot_failures_ = &ctx.metrics->counter("edgeloop_detect_snapshot_failures_total",
                                               "Detector state snapshots that could not be written.", labels);
    restored_counter_ = &ctx.metrics->counter("edgeloop_detect_restored_keys_total",
                                              "Keys whose detector state was restored from a snapshot.", labels);
  }
  if (!s_.state_dir.empty()) {
    const std::string prefix = ctx.pipeline + "." + std::to_string(ctx.stage_index) + "." + s_.name;
    path_ = s_.state_dir + "/" + prefix + "." + std::to_string(next_instance(s_.state_dir + "/" + prefix)) + ".snap";
    pending_ = state::load_snapshots(s_.state_dir, prefix, fingerprint(), nullptr);
    writer_ = std::make_unique<state::SnapshotWriter>(path_);
  }
}

DetectStage::~DetectStage() {
  if (writer_ && !flushed_) (void)snapshot_now(unix_now_ns());
}

void DetectStage::flush(int64_t now_ns, Emitter& out) {
  (void)out;
  if (writer_) (void)snapshot_now(now_ns);
  flushed_ = true;
}

std::string DetectStage::fingerprint() const {
  char buf[512];
  if (s_.method == DetectMethod::kRobust) {
    const auto& u = s_.robust;
    std::snprintf(buf, sizeof buf,
                  "robust/1 h=%d t=%g r=%d w=%g,%g,%g,%g,%g,%g,%g m=%d,%d l=%d o=%d c=%d s=%lld,%d half=%g sup=%d,%g,%g pk=%g",
                  u.history, u.tail, u.refit_every, u.w_level, u.w_step, u.w_mean, u.w_season, u.w_sequence,
                  u.w_sequence_mean, u.w_activity, u.mean_len, u.sequence_mean_len, u.levels, u.order, u.max_contexts,
                  static_cast<long long>(u.season_ns), u.season_points, u.half, u.suppress, u.suppress_above,
                  u.suppress_factor, u.peak_half_life);
  } else {
    const auto& m = s_.mahalanobis;
    std::snprintf(buf, sizeof buf, "mahalanobis/1 d=%zu h=%d t=%g sh=%g sm=%g a=%g,%g half=%g", s_.fields.size(), m.history,
                  m.tail, m.shrink, m.smooth, m.adapt, m.adapt_below, m.half);
  }
  return buf;
}

DetectStage::KeyState& DetectStage::state_for(const Record& r) {
  if (r.slot >= state_.size()) state_.resize(static_cast<std::size_t>(r.slot) + 1);
  KeyState& st = state_[r.slot];
  if (st.live) return st;
  st.live = true;
  st.key = r.key;
  st.first_ts = r.ts_ns;
  if (s_.method == DetectMethod::kRobust) {
    st.uni = std::make_unique<models::UnivariateDetector>(s_.robust);
  } else {
    st.multi = std::make_unique<models::MultivariateDetector>(s_.mahalanobis, static_cast<int>(s_.fields.size()));
  }
  if (!pending_.empty()) {
    auto it = pending_.find(namer_(r.key));
    if (it != pending_.end()) {
      if (decode_state(it->second.state, st)) {
        ++restored_;
        if (restored_counter_) restored_counter_->add();
        st.updated_ns = it->second.updated_unix_ns;
      } else {
        // Unusable: start from scratch with fresh detectors.
        st.n = 0;
        st.first_ts = r.ts_ns;
        if (st.uni) st.uni = std::make_unique<models::UnivariateDetector>(s_.robust);
        if (st.multi) st.multi = std::make_unique<models::MultivariateDetector>(s_.mahalanobis, static_cast<int>(s_.fields.size()));
      }
      pending_.erase(it);
    }
  }
  return st;
}

void DetectStage::process(const Record& r, Emitter& out) {
  KeyState& st = state_for(r);
  const bool warming = s_.warmup_ns >= 0 ? r.ts_ns - st.first_ts < s_.warmup_ns : st.n < static_cast<uint64_t>(s_.warmup_count);
  ++st.n;
  st.updated_ns = wall_now_ns_;
  double score;
  if (st.uni) {
    const double x = s_.field < r.nfields ? r.f[static_cast<std::size_t>(s_.field)] : std::nan("");
    score = st.uni->update(x, r.ts_ns, warming);
  } else {
    for (std::size_t i = 0; i < s_.fields.size(); ++i) {
      const auto f = static_cast<std::size_t>(s_.fields[i]);
      vec_[i] = f < r.nfields ? r.f[f] : std::nan("");
    }
    score = st.multi->update(vec_.data(), r.ts_ns, warming);
  }
  Record o = r;
  o.nfields = static_cast<uint8_t>(s_.pass.size() + 1);
  for (std::size_t i = 0; i < s_.pass.size(); ++i) o.f[i] = r.f[static_cast<std::size_t>(s_.pass[i])];
  o.f[s_.pass.size()] = score;
  if (s_.emit == EmitMode::kEvery || (s_.emit == EmitMode::kAbove && score >= s_.emit_above)) {
    Event e = event_about(o, EventKind::kInsight, pipeline_index_, stage_index_, pipeline_name_);
    e.severity = Severity::kInfo;
    e.schema = &schema_;
    e.name = &s_.name;
    out.emit(std::move(e));
  }
  out.forward(o);
}

void DetectStage::tick(int64_t now_ns, Emitter&) {
  wall_now_ns_ = now_ns;
  if (!writer_) return;
  if (last_snapshot_ns_ == 0) last_snapshot_ns_ = now_ns;
  if (now_ns - last_snapshot_ns_ < s_.snapshot_every_ns) return;
  last_snapshot_ns_ = now_ns;
  // Serialise here (the shard owns the state); the file is written on the writer's thread.
  writer_->submit(encode_all(now_ns));
  if (snapshots_) snapshots_->add();
}

Status DetectStage::snapshot_now(int64_t now_unix_ns) {
  if (!writer_) return make_error(Errc::kInvalidArgument, "no state_dir: snapshots are off");
  Status st = writer_->write_now(encode_all(now_unix_ns));
  if (st.ok()) {
    if (snapshots_) snapshots_->add();
  } else if (snapshot_failures_) {
    snapshot_failures_->add();
  }
  return st;
}

std::string DetectStage::encode_state(const KeyState& s) const {
  state::ByteWriter w;
  w.put(kKeyStateVersion);
  w.put(s.n);
  w.put(s.first_ts);
  if (s.uni) s.uni->save(w);
  if (s.multi) s.multi->save(w);
  return w.take();
}

bool DetectStage::decode_state(std::string_view blob, KeyState& s) const {
  state::ByteReader r(blob);
  if (r.get<uint32_t>() != kKeyStateVersion) return false;
  s.n = r.get<uint64_t>();
  s.first_ts = r.get<int64_t>();
  if (s.uni && !s.uni->load(r)) return false;
  if (s.multi && !s.multi->load(r)) return false;
  return r.ok() && r.done();
}

std::string DetectStage::encode_all(int64_t now_unix_ns) const {
  std::vector<state::SnapshotEntry> entries;
  entries.reserve(state_.size() + pending_.size());
  for (const auto& s : state_) {
    if (!s.live) continue;
    entries.push_back({namer_(s.key), s.updated_ns ? s.updated_ns : now_unix_ns, encode_state(s)});
  }
  // Keys restored but not seen since keep their state (and its age) in the next file.
  for (const auto& [k, e] : pending_) entries.push_back(e);
  return state::encode_snapshot(fingerprint(), now_unix_ns, entries);
}

}  // namespace edgeloop
