#include "rules/rule_stage.h"

#include <limits>

#include "core/clock.h"
#include "state/byte_io.h"
#include "core/stage_event.h"

namespace edgeloop {

namespace {

constexpr uint32_t kKeyStateVersion = 1;
constexpr uint8_t kRaised = 1;
constexpr uint8_t kEverRaised = 2;

}  // namespace

Status parse_rule_for(std::string_view text, RuleConfig& cfg) {
  if (auto n = parse_int(text); n.ok()) {
    if (*n < 1 || *n > std::numeric_limits<uint32_t>::max()) {
      return make_error(Errc::kInvalidConfig, "a count of records must be between 1 and 4294967295, got " + std::string(text));
    }
    cfg.for_count = static_cast<uint32_t>(*n);
    cfg.for_ns = -1;
    return Status::Ok();
  }
  // A bare number is a count here (unlike other durations): 1.5 is neither a count nor clearly
  // seconds, so it is refused rather than guessed.
  if (parse_number(text).ok()) {
    return make_error(Errc::kInvalidConfig, "'" + std::string(text) +
                                                "' is not a whole number of records; a duration needs a unit (e.g. 1500ms, 2s)");
  }
  auto ns = parse_duration_ns(text);
  if (!ns.ok()) {
    return make_error(Errc::kInvalidConfig, "expected a count of records (3) or a duration (10s), got '" + std::string(text) + "'");
  }
  cfg.for_ns = *ns;
  return Status::Ok();
}

PluginInfo RuleStage::info() {
  PluginInfo p;
  p.name = "rule";
  p.summary =
      "A condition on the fields of each record, per key, with hysteresis (`when` raises, `clear` clears), "
      "debounce (`for`) and a cooldown; emits alert events and forwards every record unchanged.";
  p.shorthand = "when";
  p.options = {
      {.name = "name", .type = OptionType::kString, .default_value = "rule",
       .description = "The rule's name: in alerts, in metrics (`rule` label) and in action templates (`{rule}`)."},
      {.name = "when", .type = OptionType::kString,
       .description = "Raise condition, an expression over the input fields (e.g. `mean > 80 and max < 200`): "
                      "numbers, + - * /, comparisons, and/or/not, abs(), min(), max().",
       .required = true},
      {.name = "clear", .type = OptionType::kString,
       .description = "Clear condition, evaluated only while raised; when it holds the rule clears and re-arms. "
                      "Default: `not (when)`. Give a lower threshold for hysteresis (`mean < 75`)."},
      {.name = "for", .type = OptionType::kString, .default_value = "1",
       .description = "Debounce: an integer N (`when` must hold on N consecutive records of the key) or a duration "
                      "(`when` must hold on every record for that long in event time, e.g. `30s`)."},
      {.name = "cooldown", .type = OptionType::kDuration, .default_value = "0s",
       .description = "After a raise, no new raise of the same key for this long in event time (0: none).",
       .min = 0},
      {.name = "severity", .type = OptionType::kString, .default_value = "warning",
       .description = "Severity carried by the alerts.", .choices = {"info", "warning", "critical"}},
      {.name = "emit_cleared", .type = OptionType::kBool, .default_value = "true",
       .description = "Emit a `cleared` alert when the rule clears (it re-arms either way)."},
  };
  for (auto& o : state::snapshot_option_specs("the rule's state (raised or not, the pending `for`, the last raise)")) {
    p.options.push_back(std::move(o));
  }
  return p;
}

Result<std::unique_ptr<Stage>> RuleStage::create(const Options& opts, const StageContext& ctx) {
  if (!ctx.input) return opts.error("when", "the rule has no input schema (a bug in the pipeline builder)");
  RuleConfig cfg;
  cfg.name = opts.str("name");
  if (cfg.name.empty()) return opts.error("name", "the rule's name cannot be empty");
  auto when = Expression::compile(opts.str("when"), *ctx.input);
  if (!when.ok()) return opts.error("when", when.error().message);
  cfg.when = std::move(*when);
  if (opts.has("clear")) {
    auto clear = Expression::compile(opts.str("clear"), *ctx.input);
    if (!clear.ok()) return opts.error("clear", clear.error().message);
    cfg.clear = std::move(*clear);
  } else {
    cfg.clear = cfg.when.negated();
  }
  if (Status s = parse_rule_for(opts.str("for"), cfg); !s.ok()) return opts.error("for", s.error().message);
  cfg.cooldown_ns = opts.duration_ns("cooldown");
  const std::string sev = opts.str("severity");
  cfg.severity = sev == "info" ? Severity::kInfo : sev == "critical" ? Severity::kCritical : Severity::kWarning;
  cfg.emit_cleared = opts.flag("emit_cleared");
  cfg.state_dir = state::resolve_state_dir(opts, ctx);
  cfg.snapshot_every_ns = opts.duration_ns("snapshot_every");
  EDGELOOP_TRY(state::ensure_state_dir(opts, cfg.state_dir));
  return std::unique_ptr<Stage>(std::make_unique<RuleStage>(std::move(cfg), ctx));
}

RuleStage::RuleStage(RuleConfig cfg, const StageContext& ctx)
    : cfg_(std::move(cfg)),
      schema_(ctx.input ? *ctx.input : Schema()),
      input_(ctx.input),
      pipeline_name_(ctx.pipeline_name),
      pipeline_index_(ctx.pipeline_index),
      stage_index_(ctx.stage_index) {
  if (ctx.metrics) {
    const Metrics::Labels labels = {{"pipeline", ctx.pipeline}, {"rule", cfg_.name}};
    raised_total_ = &ctx.metrics->counter("edgeloop_rule_raised_total", "Alerts a rule raised.", labels);
    cleared_total_ = &ctx.metrics->counter("edgeloop_rule_cleared_total", "Alerts a rule cleared (and re-armed).", labels);
  }
  if (!cfg_.state_dir.empty()) {
    wall_now_ns_ = unix_now_ns();
    snap_ = state::StageSnapshots({.dir = cfg_.state_dir, .every_ns = cfg_.snapshot_every_ns, .kind = "rule",
                                   .fingerprint = fingerprint()},
                                  ctx, cfg_.name);
  }
}

RuleStage::~RuleStage() {
  if (!flushed_ && snap_.needs_write()) (void)snapshot_now(unix_now_ns());
}

std::string RuleStage::fingerprint() const {
  const Schema& in = input_ ? *input_ : schema_;
  return "rule/1 when=" + cfg_.when.canonical(in) + " clear=" + cfg_.clear.canonical(in);
}

void RuleStage::start_key(KeyState& s, const Record& r) {
  s.live = true;
  s.key = r.key;
  if (!snap_.has_pending()) return;
  auto e = snap_.take(r.key);
  if (!e) return;
  KeyState restored;
  if (decode_state(e->state, restored)) {
    restored.live = true;
    restored.key = r.key;
    restored.updated_ns = e->updated_unix_ns;
    s = restored;
    snap_.count_restored();
  } else {
    snap_.count_unusable();  // the key starts armed, as if new
  }
}

std::string RuleStage::encode_state(const KeyState& s) {
  state::ByteWriter w;
  w.put(kKeyStateVersion);
  w.put<uint8_t>(static_cast<uint8_t>((s.raised ? kRaised : 0) | (s.ever_raised ? kEverRaised : 0)));
  w.put(s.run);
  w.put(s.since_ts);
  w.put(s.last_raise_ts);
  return w.take();
}

bool RuleStage::decode_state(std::string_view blob, KeyState& s) {
  state::ByteReader r(blob);
  if (r.get<uint32_t>() != kKeyStateVersion || !r.ok()) return false;
  const auto flags = r.get<uint8_t>();
  KeyState out;
  out.run = r.get<uint32_t>();
  out.since_ts = r.get<int64_t>();
  out.last_raise_ts = r.get<int64_t>();
  if (!r.ok() || !r.done() || (flags & ~(kRaised | kEverRaised)) != 0) return false;
  out.raised = (flags & kRaised) != 0;
  out.ever_raised = (flags & kEverRaised) != 0;
  if (out.raised && !out.ever_raised) return false;  // a raise sets both
  out.live = s.live;
  out.key = s.key;
  out.updated_ns = s.updated_ns;
  s = out;
  return true;
}

std::string RuleStage::encode_all(int64_t now_unix_ns) const {
  std::vector<state::SnapshotEntry> live;
  live.reserve(state_.size());
  for (const auto& s : state_) {
    if (!s.live) continue;
    live.push_back({snap_.key_name(s.key), s.updated_ns ? s.updated_ns : now_unix_ns, encode_state(s)});
  }
  return snap_.encode(now_unix_ns, std::move(live));
}

Status RuleStage::snapshot_now(int64_t now_unix_ns) {
  if (!snap_.on()) return make_error(Errc::kInvalidArgument, "no state_dir: snapshots are off");
  return snap_.write_now(encode_all(now_unix_ns));
}

void RuleStage::tick(int64_t now_ns, Emitter&) {
  wall_now_ns_ = now_ns;
  // Serialise here (the shard owns the state); the file is written on the writer's thread.
  if (snap_.due(now_ns)) snap_.submit(encode_all(now_ns));
}

void RuleStage::flush(int64_t now_ns, Emitter&) {
  // Unchanged since read or last written: the files on disk already hold this state.
  if (snap_.needs_write()) (void)snapshot_now(now_ns);
  flushed_ = true;
}

void RuleStage::emit(const Record& r, AlertState state, Emitter& out) const {
  Event e = event_about(r, EventKind::kAlert, pipeline_index_, stage_index_, pipeline_name_);
  e.state = state;
  e.schema = input_;
  e.name = &cfg_.name;
  e.severity = cfg_.severity;
  out.emit(std::move(e));
}

void RuleStage::process(const Record& r, Emitter& out) {
  if (r.slot >= state_.size()) state_.resize(static_cast<std::size_t>(r.slot) + 1);
  KeyState& s = state_[r.slot];
  if (!s.live) start_key(s, r);
  s.updated_ns = wall_now_ns_;
  snap_.touch();
  if (!s.raised) {
    if (cfg_.when.test(r.f.data())) {
      if (s.run == 0) s.since_ts = r.ts_ns;
      if (s.run < std::numeric_limits<uint32_t>::max()) ++s.run;
      const bool held = cfg_.for_ns >= 0 ? r.ts_ns - s.since_ts >= cfg_.for_ns : s.run >= cfg_.for_count;
      const bool cooled = cfg_.cooldown_ns == 0 || !s.ever_raised || r.ts_ns - s.last_raise_ts >= cfg_.cooldown_ns;
      if (held && cooled) {
        s.raised = true;
        s.ever_raised = true;
        s.last_raise_ts = r.ts_ns;
        s.run = 0;
        if (raised_total_) raised_total_->add();
        emit(r, AlertState::kRaised, out);
      }
    } else {
      s.run = 0;
    }
  } else if (cfg_.clear.test(r.f.data())) {
    s.raised = false;
    s.run = 0;
    if (cleared_total_) cleared_total_->add();
    if (cfg_.emit_cleared) emit(r, AlertState::kCleared, out);
  }
  out.forward(r);
}

}  // namespace edgeloop
