// `op.rule`: a condition over a record's fields with hysteresis (`when` / `clear`), debounce
// (`for`: N records or a duration) and a cooldown between raises, per key. Emits alert events
// (raised, cleared) and forwards every record unchanged, so that rules can be chained.
// With a state folder (`state_dir`, or `runtime.state_dir`), each key's state (raised or not,
// the pending `for` run, the last raise for the cooldown) is snapshotted (every
// `snapshot_every` from tick, and at flush) and restored when the key first shows up after a
// restart: a raised alert is not raised again, and its clear still comes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/registry.h"
#include "rules/expression.h"
#include "state/stage_snapshots.h"

namespace edgeloop {

struct RuleConfig {
  std::string name = "rule";
  Expression when;
  Expression clear;
  uint32_t for_count = 1;   // used when for_ns < 0
  int64_t for_ns = -1;      // >= 0: `for` is a duration
  int64_t cooldown_ns = 0;
  Severity severity = Severity::kWarning;
  bool emit_cleared = true;
  std::string state_dir;                       // empty: no snapshots
  int64_t snapshot_every_ns = 300'000'000'000;
};

// Parses `for`: an integer >= 1 (consecutive records) or a duration with a unit ("10s").
// Sets for_count or for_ns of `cfg`; the error text names what is wrong.
Status parse_rule_for(std::string_view text, RuleConfig& cfg);

class RuleStage final : public Stage {
 public:
  // Validates the options against the input schema and compiles the expressions.
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx);
  static PluginInfo info();

  RuleStage(RuleConfig cfg, const StageContext& ctx);
  ~RuleStage() override;  // writes the final snapshot unless flush() did (or nothing changed)

  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override;
  void tick(int64_t now_ns, Emitter& out) override;   // periodic snapshots
  void flush(int64_t now_ns, Emitter& out) override;  // the final snapshot, if anything changed

  const RuleConfig& config() const { return cfg_; }
  // Whether the rule is raised for a slot (false for a slot never seen), for tests.
  bool raised(uint32_t slot) const { return slot < state_.size() && state_[slot].raised; }

  // The state of one key, as snapshotted.
  struct KeyState {
    int64_t since_ts = 0;       // event time of the first record of the current run of `when`
    int64_t last_raise_ts = 0;  // event time of the last raise (cooldown)
    uint32_t run = 0;           // consecutive records, while armed, for which `when` held
    bool raised = false;
    bool ever_raised = false;
    bool live = false;          // the slot has seen a record (and a restore was tried)
    KeyId key = kNoKey;
    int64_t updated_ns = 0;     // wall clock (from tick) of the last record: snapshot merge order
  };
  // A key's state in a snapshot (versioned, little-endian) and back; false when `blob` is not one.
  static std::string encode_state(const KeyState& s);
  static bool decode_state(std::string_view blob, KeyState& s);
  // A slot's state, for tests (nullptr for a slot never seen).
  const KeyState* state_of(uint32_t slot) const {
    return slot < state_.size() && state_[slot].live ? &state_[slot] : nullptr;
  }

  // What the state depends on: `when` and `clear` (canonical bytecode). `for`, `cooldown`,
  // `severity` and `emit_cleared` are left out on purpose: the state means the same under
  // other values, and dropping it would raise an alert that is already raised again.
  std::string fingerprint() const;
  // Serialises every key's state and writes it now, on the caller's thread.
  Status snapshot_now(int64_t now_unix_ns);
  const state::StageSnapshots& snapshots() const { return snap_; }

 private:
  void emit(const Record& r, AlertState state, Emitter& out) const;
  void start_key(KeyState& s, const Record& r);  // a slot's first record: restore
  std::string encode_all(int64_t now_unix_ns) const;

  RuleConfig cfg_;
  Schema schema_;                            // = the input schema: records pass unchanged
  const Schema* input_ = nullptr;            // lives as long as the runtime: Event::schema
  const std::string* pipeline_name_ = nullptr;
  uint16_t pipeline_index_ = 0;
  uint16_t stage_index_ = 0;
  Counter* raised_total_ = nullptr;          // null without metrics (unit tests)
  Counter* cleared_total_ = nullptr;
  std::vector<KeyState> state_;              // by Record::slot
  state::StageSnapshots snap_;               // off without a state folder
  int64_t wall_now_ns_ = 0;                  // from tick
  bool flushed_ = false;
};

}  // namespace edgeloop
