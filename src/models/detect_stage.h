// `op.detect`: online anomaly detection per key, with no training data. Learns a healthy
// baseline during a warm-up (a count of records or a duration of event time), then appends a
// score in [0, 1] to every record it forwards (so that `rule: {when: "score > 0.9"}` works)
// and optionally emits insight events. Methods: `robust` (one scalar field: the
// UnivariateDetector) and `mahalanobis` (a vector of fields: the MultivariateDetector).
// With `state_dir`, each key's detector state is snapshotted to disk periodically (from tick,
// written on a background thread) and when the stage is destroyed, and restored when a key
// first shows up again, so that a restart does not learn from scratch.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/registry.h"
#include "models/multivariate_detector.h"
#include "state/snapshot_store.h"
#include "models/univariate_detector.h"

namespace edgeloop {

// The stable name of a key, for snapshots. The default is the key's name in the KeyTable
// (StageContext::keys); without a KeyTable (some tests) its id ("#17"), which is stable across
// restarts only when keys are interned in the same order.
using KeyNamer = std::function<std::string(KeyId)>;

enum class DetectMethod { kRobust, kMahalanobis };
enum class EmitMode { kNone, kAbove, kEvery };

struct DetectSettings {
  DetectMethod method = DetectMethod::kRobust;
  std::string name = "detect";
  int field = 0;                 // robust: the input field
  std::vector<int> fields;       // mahalanobis: the input fields
  std::vector<int> pass;         // input fields copied to the output, in order
  int64_t warmup_count = 150;    // used when warmup_ns < 0
  int64_t warmup_ns = -1;
  EmitMode emit = EmitMode::kAbove;
  double emit_above = 0.9;
  std::string state_dir;         // empty: no snapshots
  int64_t snapshot_every_ns = 300'000'000'000;
  models::UnivariateConfig robust;
  models::MultivariateConfig mahalanobis;
};

class DetectStage final : public Stage {
 public:
  static PluginInfo info();
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx);

  DetectStage(DetectSettings settings, Schema output, const StageContext& ctx);
  ~DetectStage() override;  // writes the final snapshot unless flush() did

  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override;
  void tick(int64_t now_ns, Emitter& out) override;
  void flush(int64_t now_ns, Emitter& out) override;  // the final snapshot

  void set_key_namer(KeyNamer namer) { namer_ = std::move(namer); }
  // Serialises every key's state and writes it now, on the caller's thread.
  Status snapshot_now(int64_t now_unix_ns);
  const std::string& snapshot_path() const { return path_; }
  // The settings' fingerprint: a snapshot written under other settings is not restored.
  std::string fingerprint() const;
  std::size_t restored_keys() const { return restored_; }

 private:
  struct KeyState {
    bool live = false;
    KeyId key = kNoKey;
    uint64_t n = 0;          // records seen (warm-up by count)
    int64_t first_ts = 0;    // event time of the first (warm-up by duration)
    int64_t updated_ns = 0;  // wall clock of the last update (snapshot merge order)
    std::unique_ptr<models::UnivariateDetector> uni;
    std::unique_ptr<models::MultivariateDetector> multi;
  };
  KeyState& state_for(const Record& r);
  std::string encode_state(const KeyState& s) const;
  bool decode_state(std::string_view blob, KeyState& s) const;
  std::string encode_all(int64_t now_unix_ns) const;

  DetectSettings s_;
  Schema schema_;
  const Schema* input_ = nullptr;
  const std::string* pipeline_name_ = nullptr;
  uint16_t pipeline_index_ = 0;
  uint16_t stage_index_ = 0;
  std::vector<double> vec_;
  std::vector<KeyState> state_;  // by Record::slot
  KeyNamer namer_;
  std::map<std::string, state::SnapshotEntry> pending_;  // restored, not yet claimed by a key
  std::string path_;
  std::unique_ptr<state::SnapshotWriter> writer_;
  int64_t last_snapshot_ns_ = 0;
  int64_t wall_now_ns_ = 0;
  bool flushed_ = false;
  std::size_t restored_ = 0;
  Counter* snapshots_ = nullptr;
  Counter* snapshot_failures_ = nullptr;
  Counter* restored_counter_ = nullptr;
};

}  // namespace edgeloop
