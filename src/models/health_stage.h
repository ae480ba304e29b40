// `op.health`: a health index per key (asset) from a detector's score: the score smoothed
// over time (exponential, by event time or by records), its trend (an exponentially weighted
// least-squares slope, per hour of event time) and the time until the index reaches a
// threshold at that trend (remaining useful life; NaN while it is not rising). Appends
// `health_index`, `trend_per_h` and `time_to_threshold_s` to the forwarded records and emits
// them as insight events at most every `emit_every` of event time per key.
// With a state folder (`state_dir`, or `runtime.state_dir`), each key's index, trend fit and
// last emit time are snapshotted (every `snapshot_every` from tick, and at flush) and restored
// when the key first shows up after a restart: the index and its trend go on where they were.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/plugin.h"
#include "core/registry.h"
#include "state/byte_io.h"
#include "state/stage_snapshots.h"

namespace edgeloop {

struct HealthSettings {
  std::string name = "health";
  int field = 0;
  int64_t half_life_ns = -1;     // time constant of the smoothing (event time), or
  double half_life_records = 0;  // ... in records when half_life_ns < 0
  int64_t trend_ns = -1;         // time constant of the trend regression, or
  double trend_records = 0;      // ... in records
  double threshold = 0.8;
  int64_t emit_every_ns = 60'000'000'000;
  bool append = true;
  std::string field_name = "score";  // the name of `field` (the snapshots' fingerprint)
  std::string state_dir;             // empty: no snapshots
  int64_t snapshot_every_ns = 300'000'000'000;
};

// The per-key arithmetic, separate from the stage for tests.
class HealthIndex {
 public:
  explicit HealthIndex(const HealthSettings& s) : s_(s) {}
  void update(double score, int64_t ts_ns);
  double index() const { return h_; }
  double trend_per_s() const;  // NaN until two distinct times were seen
  double time_to_threshold_s() const;
  bool started() const { return started_; }
  int64_t last_ts() const { return last_ts_; }

  // The state (versioned, little-endian), for snapshots; load() is false on a malformed one
  // and then leaves the index as it was.
  void save(state::ByteWriter& w) const;
  bool load(state::ByteReader& r);
  // Same state, bit for bit (tests).
  bool same_state(const HealthIndex& o) const;

 private:
  HealthSettings s_;
  bool started_ = false;
  int64_t last_ts_ = 0;
  double h_ = 0;
  // Exponentially weighted sums for y = a + b t, with t in seconds relative to the latest point.
  double s0_ = 0, s1_ = 0, s2_ = 0, sy_ = 0, sty_ = 0;
};

class HealthStage final : public Stage {
 public:
  static PluginInfo info();
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx);

  HealthStage(HealthSettings s, Schema output, Schema event_schema, const StageContext& ctx);
  ~HealthStage() override;  // writes the final snapshot unless flush() did (or nothing changed)
  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override;
  void tick(int64_t now_ns, Emitter& out) override;   // periodic snapshots
  void flush(int64_t now_ns, Emitter& out) override;  // the final snapshot, if anything changed

  // What the state depends on: the score field's name, `half_life` and `trend`. `threshold`,
  // `emit_every` and `append` only change what is derived from the state, so they keep it.
  std::string fingerprint() const;
  Status snapshot_now(int64_t now_unix_ns);
  const state::StageSnapshots& snapshots() const { return snap_; }
  // A slot's index (nullptr for a slot never seen), for tests.
  const HealthIndex* index_of(uint32_t slot) const {
    return slot < state_.size() && state_[slot].live ? state_[slot].index.get() : nullptr;
  }
  // The event time of the slot's last insight event (0: none yet), for tests.
  int64_t last_emit_of(uint32_t slot) const { return slot < state_.size() ? state_[slot].last_emit : 0; }

 private:
  struct KeyState {
    bool live = false;
    int64_t last_emit = 0;
    bool emitted = false;
    KeyId key = kNoKey;
    int64_t updated_ns = 0;  // wall clock (from tick) of the last record: snapshot merge order
    std::unique_ptr<HealthIndex> index;
  };
  void start_key(KeyState& st, const Record& r);  // a slot's first record: restore
  std::string encode_state(const KeyState& st) const;
  bool decode_state(std::string_view blob, KeyState& st) const;
  std::string encode_all(int64_t now_unix_ns) const;

  HealthSettings s_;
  Schema schema_;
  Schema event_schema_;
  const std::string* pipeline_name_ = nullptr;
  uint16_t pipeline_index_ = 0;
  uint16_t stage_index_ = 0;
  std::vector<KeyState> state_;
  state::StageSnapshots snap_;  // off without a state folder
  int64_t wall_now_ns_ = 0;     // from tick
  bool flushed_ = false;
};

}  // namespace edgeloop
