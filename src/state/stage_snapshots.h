// The snapshot life cycle of one stage instance (one per shard), shared by the stages that keep
// per-key state across restarts (op.rule, op.health; op.detect predates it and does the same by
// hand): which folder (`state_dir`, else the runtime's), which file, what to restore for a key
// when it first shows up, when to write (every `snapshot_every` from tick; at flush), counters.
//
// The stage owns its per-key state and its encoding; this class owns files and bookkeeping.
// Single-threaded like the stage (the shard thread), except the writer's own thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/options.h"
#include "core/plugin.h"
#include "state/snapshot_store.h"

namespace edgeloop::state {

// The option rows `state_dir` and `snapshot_every` (same meaning for every stage that
// snapshots), for the stage's option table. `what` names the state ("the rule's state").
std::vector<OptionSpec> snapshot_option_specs(std::string_view what);

// The folder a stage snapshots to: its own `state_dir` when set (`""` turns snapshots off),
// else the runtime-level default (StageContext::state_dir, `runtime.state_dir`); empty: off.
std::string resolve_state_dir(const Options& opts, const StageContext& ctx);

// Creates `dir` (and parents) when missing: an error for the `state_dir` option otherwise.
Status ensure_state_dir(const Options& opts, const std::string& dir);

// Snapshot file names: the characters of a stage name that are not [A-Za-z0-9_-] become '_'.
std::string file_safe(std::string_view name);

struct StageSnapshotSettings {
  std::string dir;                     // empty: snapshots off
  int64_t every_ns = 300'000'000'000;  // periodic snapshots (wall clock)
  std::string kind;                    // "rule": counters edgeloop_rule_snapshots_total, ...
  std::string fingerprint;             // what the state depends on; other files are skipped
};

class StageSnapshots {
 public:
  StageSnapshots() = default;  // off
  // Reads every `<dir>/<pipeline>.<stage index>.<name>.*.snap` written under this fingerprint
  // (the restored states wait for their keys) and picks this instance's file name.
  StageSnapshots(StageSnapshotSettings settings, const StageContext& ctx, std::string_view stage_name);
  StageSnapshots(StageSnapshots&&) noexcept = default;
  StageSnapshots& operator=(StageSnapshots&&) noexcept = default;

  bool on() const { return writer_ != nullptr; }

  // The stable name of a key in the files: its KeyTable name ("#<id>" without a KeyTable).
  std::string key_name(KeyId id) const;

  // True while restored states wait for their keys (a key's first record checks take()).
  bool has_pending() const { return !pending_.empty(); }
  // The restored state of `key`, handed out once; nullopt when the snapshots have none.
  std::optional<SnapshotEntry> take(KeyId key);
  // What the stage made of a taken state: restored, or unusable (the key starts afresh).
  void count_restored();
  void count_unusable();

  // A record changed some state since the last snapshot (no periodic write while idle).
  void touch() { dirty_ = true; }
  // For flush and destruction: whether the state on disk is behind (a record changed it
  // since the last snapshot, or the last periodic write failed). A stage that saw no record
  // (e.g. one built by `edgeloop check`) writes nothing, so it never replaces a file that a
  // running edgeloop owns.
  bool needs_write() const { return writer_ && (dirty_ || !writer_->current()); }
  // From tick, with the wall clock: true when a periodic snapshot is due now. The first call
  // starts the period.
  bool due(int64_t now_unix_ns);
  // The file's contents: `live` (the stage's keys) plus the restored states no key has taken
  // yet (they keep their state and its age for a later run).
  std::string encode(int64_t now_unix_ns, std::vector<SnapshotEntry> live) const;
  // Hands `data` to the writer thread (periodic).
  void submit(std::string data);
  // Writes `data` now, on the caller's thread (flush, destruction).
  Status write_now(std::string data);

  const std::string& path() const { return path_; }
  const std::string& fingerprint() const { return s_.fingerprint; }
  std::size_t restored_keys() const { return restored_; }
  std::size_t unusable_keys() const { return unusable_; }
  // Files passed over at load (corrupt, truncated, other settings), with the reason.
  const std::vector<std::string>& skipped_files() const { return skipped_; }

 private:
  void export_stats();  // the writer's counts to the counters

  StageSnapshotSettings s_;
  const KeyTable* keys_ = nullptr;
  std::string path_;
  std::map<std::string, SnapshotEntry> pending_;  // restored, not yet taken by a key
  std::unique_ptr<SnapshotWriter> writer_;
  int64_t last_ns_ = 0;
  bool dirty_ = false;
  std::size_t restored_ = 0;
  std::size_t unusable_ = 0;
  std::vector<std::string> skipped_;
  uint64_t written_exported_ = 0;
  uint64_t failures_exported_ = 0;
  Counter* written_ = nullptr;
  Counter* failures_ = nullptr;
  Counter* restored_counter_ = nullptr;
  Counter* skipped_counter_ = nullptr;
};

}  // namespace edgeloop::state
