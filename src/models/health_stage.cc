#include "models/health_stage.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "core/clock.h"
#include "core/stage_event.h"

namespace edgeloop {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint32_t kIndexVersion = 1;
constexpr uint32_t kKeyStateVersion = 1;

// "50" (records) or "10m" (event time).
Status parse_span(const Options& opts, const char* name, int64_t& ns, double& records) {
  const std::string text = opts.str(name);
  if (auto n = parse_int(text); n.ok()) {
    if (*n < 1) return opts.error(name, "a count of records must be at least 1");
    records = static_cast<double>(*n);
    ns = -1;
    return Status::Ok();
  }
  auto d = parse_duration_ns(text);
  if (!d.ok() || *d <= 0) return opts.error(name, "expected a count of records (50) or a duration (10m), got '" + text + "'");
  ns = *d;
  return Status::Ok();
}

// The weight kept by the past after a step of dt (time) or of one record.
double decay(int64_t span_ns, double span_records, int64_t dt_ns) {
  if (span_ns > 0) return std::exp(-std::log(2.0) * static_cast<double>(dt_ns) / static_cast<double>(span_ns));
  return std::exp(-std::log(2.0) / span_records);
}

}  // namespace

void HealthIndex::update(double score, int64_t ts) {
  if (std::isnan(score)) return;
  if (!started_) {
    started_ = true;
    last_ts_ = ts;
    h_ = score;
    s0_ = 1;
    sy_ = score;
    return;
  }
  const int64_t dt = std::max<int64_t>(ts - last_ts_, 0);
  const double keep = decay(s_.half_life_ns, s_.half_life_records, dt);
  h_ = keep * h_ + (1 - keep) * score;
  // Regression of the index on time: shift the origin to the new point, decay, add it.
  const double d = static_cast<double>(dt) * 1e-9;
  s2_ = s2_ - 2 * d * s1_ + d * d * s0_;
  s1_ = s1_ - d * s0_;
  sty_ = sty_ - d * sy_;
  const double k = decay(s_.trend_ns, s_.trend_records, dt);
  s0_ = k * s0_ + 1;
  s1_ *= k;
  s2_ *= k;
  sy_ = k * sy_ + h_;
  sty_ *= k;
  last_ts_ = ts;
}

double HealthIndex::trend_per_s() const {
  const double den = s0_ * s2_ - s1_ * s1_;
  if (!(den > 1e-12 * std::max(1.0, s0_ * s2_))) return kNaN;
  return (s0_ * sty_ - s1_ * sy_) / den;
}

double HealthIndex::time_to_threshold_s() const {
  if (!started_) return kNaN;
  if (h_ >= s_.threshold) return 0;
  const double slope = trend_per_s();
  if (!(slope > 0)) return kNaN;
  return (s_.threshold - h_) / slope;
}

void HealthIndex::save(state::ByteWriter& w) const {
  w.put(kIndexVersion);
  w.put<uint8_t>(started_ ? 1 : 0);
  w.put(last_ts_);
  for (double v : {h_, s0_, s1_, s2_, sy_, sty_}) w.put(v);
}

bool HealthIndex::load(state::ByteReader& r) {
  if (r.get<uint32_t>() != kIndexVersion) return false;
  const auto started = r.get<uint8_t>();
  const auto last_ts = r.get<int64_t>();
  double v[6];
  for (double& x : v) x = r.get<double>();
  if (!r.ok() || started > 1) return false;
  started_ = started == 1;
  last_ts_ = last_ts;
  h_ = v[0];
  s0_ = v[1];
  s1_ = v[2];
  s2_ = v[3];
  sy_ = v[4];
  sty_ = v[5];
  return true;
}

bool HealthIndex::same_state(const HealthIndex& o) const {
  return started_ == o.started_ && last_ts_ == o.last_ts_ && h_ == o.h_ && s0_ == o.s0_ && s1_ == o.s1_ && s2_ == o.s2_ &&
         sy_ == o.sy_ && sty_ == o.sty_;
}

PluginInfo HealthStage::info() {
  PluginInfo p;
  p.name = "health";
  p.summary =
      "A health index per key from a detector's score (smoothed score, 0 = like the healthy baseline, 1 = anomalous), "
      "its trend and the time until it reaches a threshold (remaining useful life), as fields and insight events.";
  p.shorthand = "field";
  p.options = {
      {.name = "name", .type = OptionType::kString, .default_value = "health",
       .description = "The stage's name, carried by its insight events."},
      {.name = "field", .type = OptionType::kString, .default_value = "score",
       .description = "The input field that holds the anomaly score (0..1)."},
      {.name = "half_life", .type = OptionType::kString, .default_value = "10m",
       .description = "Smoothing of the score: a duration of event time (`10m`) or a count of records (`50`) after "
                      "which a reading weighs half."},
      {.name = "trend", .type = OptionType::kString, .default_value = "1h",
       .description = "Memory of the trend (a weighted linear fit of the index over time): a duration or a count of "
                      "records after which a point weighs half."},
      {.name = "threshold", .type = OptionType::kNumber, .default_value = "0.8",
       .description = "The index at which the asset counts as failed: `time_to_threshold_s` is the time to reach it "
                      "at the current trend (0 when reached, NaN when the index is not rising).",
       .min = 0, .max = 1},
      {.name = "emit_every", .type = OptionType::kDuration, .default_value = "1m",
       .description = "An insight event per key at most this often in event time (0: on every record).", .min = 0},
      {.name = "append", .type = OptionType::kBool, .default_value = "true",
       .description = "Append `health_index`, `trend_per_h` and `time_to_threshold_s` to the forwarded records "
                      "(false: forward them unchanged)."},
  };
  for (auto& o : state::snapshot_option_specs("the health index (the smoothed score, the trend fit, the last emit time)")) {
    p.options.push_back(std::move(o));
  }
  return p;
}

Result<std::unique_ptr<Stage>> HealthStage::create(const Options& opts, const StageContext& ctx) {
  if (!ctx.input) return opts.error("field", "the health stage has no input schema (a bug in the pipeline builder)");
  HealthSettings s;
  s.name = opts.str("name");
  s.field = ctx.input->index_of(opts.str("field"));
  if (s.field < 0) return opts.error("field", "no input field '" + opts.str("field") + "' (put a `detect` step before)");
  EDGELOOP_TRY(parse_span(opts, "half_life", s.half_life_ns, s.half_life_records));
  EDGELOOP_TRY(parse_span(opts, "trend", s.trend_ns, s.trend_records));
  s.threshold = opts.number("threshold");
  s.emit_every_ns = opts.duration_ns("emit_every");
  s.append = opts.flag("append");
  s.field_name = opts.str("field");
  s.state_dir = state::resolve_state_dir(opts, ctx);
  s.snapshot_every_ns = opts.duration_ns("snapshot_every");
  EDGELOOP_TRY(state::ensure_state_dir(opts, s.state_dir));
  static const std::vector<std::string> kOut = {"health_index", "trend_per_h", "time_to_threshold_s"};
  std::vector<std::string> names = ctx.input->names();
  if (s.append) {
    for (const auto& n : kOut) {
      if (ctx.input->index_of(n) >= 0) return opts.error("append", "the input already has a field '" + n + "'");
      names.push_back(n);
    }
    if (names.size() > kMaxFields) {
      return opts.error("append", "the output would have " + std::to_string(names.size()) + " fields (at most " +
                                      std::to_string(kMaxFields) + "): set `append: false` or pass fewer fields before");
    }
  }
  return std::unique_ptr<Stage>(std::make_unique<HealthStage>(std::move(s), Schema(std::move(names)), Schema(kOut), ctx));
}

HealthStage::HealthStage(HealthSettings s, Schema output, Schema event_schema, const StageContext& ctx)
    : s_(std::move(s)),
      schema_(std::move(output)),
      event_schema_(std::move(event_schema)),
      pipeline_name_(ctx.pipeline_name),
      pipeline_index_(ctx.pipeline_index),
      stage_index_(ctx.stage_index) {
  if (!s_.state_dir.empty()) {
    wall_now_ns_ = unix_now_ns();
    snap_ = state::StageSnapshots({.dir = s_.state_dir, .every_ns = s_.snapshot_every_ns, .kind = "health",
                                   .fingerprint = fingerprint()},
                                  ctx, s_.name);
  }
}

HealthStage::~HealthStage() {
  if (!flushed_ && snap_.needs_write()) (void)snapshot_now(unix_now_ns());
}

std::string HealthStage::fingerprint() const {
  // Spans as written in the options' units: ns, or records (%.17g: exact).
  char buf[256];
  std::snprintf(buf, sizeof buf, "health/1 half=%lld,%.17g trend=%lld,%.17g", static_cast<long long>(s_.half_life_ns),
                s_.half_life_ns < 0 ? s_.half_life_records : 0.0, static_cast<long long>(s_.trend_ns),
                s_.trend_ns < 0 ? s_.trend_records : 0.0);
  return std::string(buf) + " field=" + s_.field_name;
}

void HealthStage::start_key(KeyState& st, const Record& r) {
  st.live = true;
  st.key = r.key;
  st.index = std::make_unique<HealthIndex>(s_);
  if (!snap_.has_pending()) return;
  auto e = snap_.take(r.key);
  if (!e) return;
  if (decode_state(e->state, st)) {
    st.updated_ns = e->updated_unix_ns;
    snap_.count_restored();
  } else {
    snap_.count_unusable();  // decode_state left the fresh index: the key starts afresh
  }
}

std::string HealthStage::encode_state(const KeyState& st) const {
  state::ByteWriter w;
  w.put(kKeyStateVersion);
  w.put<uint8_t>(st.emitted ? 1 : 0);
  w.put(st.last_emit);
  st.index->save(w);
  return w.take();
}

bool HealthStage::decode_state(std::string_view blob, KeyState& st) const {
  state::ByteReader r(blob);
  if (r.get<uint32_t>() != kKeyStateVersion) return false;
  const auto emitted = r.get<uint8_t>();
  const auto last_emit = r.get<int64_t>();
  if (!r.ok() || emitted > 1) return false;
  auto index = std::make_unique<HealthIndex>(s_);
  if (!index->load(r) || !r.ok() || !r.done()) return false;
  st.emitted = emitted == 1;
  st.last_emit = last_emit;
  st.index = std::move(index);
  return true;
}

std::string HealthStage::encode_all(int64_t now_unix_ns) const {
  std::vector<state::SnapshotEntry> live;
  live.reserve(state_.size());
  for (const auto& st : state_) {
    if (!st.live) continue;
    live.push_back({snap_.key_name(st.key), st.updated_ns ? st.updated_ns : now_unix_ns, encode_state(st)});
  }
  return snap_.encode(now_unix_ns, std::move(live));
}

Status HealthStage::snapshot_now(int64_t now_unix_ns) {
  if (!snap_.on()) return make_error(Errc::kInvalidArgument, "no state_dir: snapshots are off");
  return snap_.write_now(encode_all(now_unix_ns));
}

void HealthStage::tick(int64_t now_ns, Emitter&) {
  wall_now_ns_ = now_ns;
  if (snap_.due(now_ns)) snap_.submit(encode_all(now_ns));
}

void HealthStage::flush(int64_t now_ns, Emitter&) {
  // Unchanged since read or last written: the files on disk already hold this state.
  if (snap_.needs_write()) (void)snapshot_now(now_ns);
  flushed_ = true;
}

void HealthStage::process(const Record& r, Emitter& out) {
  if (r.slot >= state_.size()) state_.resize(static_cast<std::size_t>(r.slot) + 1);
  KeyState& st = state_[r.slot];
  if (!st.live) start_key(st, r);
  st.updated_ns = wall_now_ns_;
  snap_.touch();
  const double score = s_.field < r.nfields ? r.f[static_cast<std::size_t>(s_.field)] : kNaN;
  st.index->update(score, r.ts_ns);
  const double h = st.index->started() ? st.index->index() : kNaN;
  const double trend = st.index->trend_per_s() * 3600.0;
  const double ttt = st.index->time_to_threshold_s();
  if (st.index->started() && (!st.emitted || r.ts_ns - st.last_emit >= s_.emit_every_ns)) {
    st.emitted = true;
    st.last_emit = r.ts_ns;
    Event e = event_about(r, EventKind::kInsight, pipeline_index_, stage_index_, pipeline_name_);
    e.severity = Severity::kInfo;
    e.nfields = 3;
    e.f = {};
    e.f[0] = h;
    e.f[1] = trend;
    e.f[2] = ttt;
    e.schema = &event_schema_;
    e.name = &s_.name;
    out.emit(std::move(e));
  }
  if (!s_.append) {
    out.forward(r);
    return;
  }
  Record o = r;
  o.f[r.nfields] = h;
  o.f[r.nfields + 1u] = trend;
  o.f[r.nfields + 2u] = ttt;
  o.nfields = static_cast<uint8_t>(r.nfields + 3);
  out.forward(o);
}

}  // namespace edgeloop
