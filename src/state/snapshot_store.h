// Stage state on disk (detectors, rules, health indices), so that a restart neither learns
// from scratch nor repeats or loses an alert.
//
// One file per stage instance: <state_dir>/<prefix>.<instance>.snap, written whole through a
// temporary file and a rename (a reader never sees half a file), in a versioned binary format:
//   "ELSNAP\0\0"  u32 format version (1)  str fingerprint  i64 saved_unix_ns  u64 entries
//   entries x (str key, i64 updated_unix_ns, str state)  u64 FNV-1a of everything before
// (str = u64 length + bytes, little-endian). The fingerprint names the stage kind and the
// settings its state depends on: a file written under other settings is not restored. Writes
// happen on a background thread (the shard thread only serialises) and, synchronously, at
// shutdown. `stage_snapshots.h` is what a stage uses; this is the file layer under it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace edgeloop::state {

struct SnapshotEntry {
  std::string key;
  int64_t updated_unix_ns = 0;  // when this key's state was last updated by a live stage
  std::string state;
};

// Encodes a snapshot file's contents.
std::string encode_snapshot(const std::string& fingerprint, int64_t saved_unix_ns, const std::vector<SnapshotEntry>& entries);
struct DecodedSnapshot {
  std::string fingerprint;
  int64_t saved_unix_ns = 0;
  std::vector<SnapshotEntry> entries;
};
Result<DecodedSnapshot> decode_snapshot(std::string_view data);

// Writes `data` to `path` via `path.tmp`, fsync and rename.
Status write_atomic(const std::string& path, std::string_view data);

// Reads every <dir>/<prefix>.*.snap with this fingerprint; per key, the most recently updated
// state (a key may appear in several files when keys moved between shards).
// Files that cannot be read or were written under another fingerprint are skipped, with a
// reason appended to `skipped`.
std::map<std::string, SnapshotEntry> load_snapshots(const std::string& dir, const std::string& prefix,
                                                  const std::string& fingerprint, std::vector<std::string>* skipped);

// A thread that writes the latest submitted snapshot of one file; older unwritten ones are
// replaced (only the newest state matters).
class SnapshotWriter {
 public:
  explicit SnapshotWriter(std::string path);
  ~SnapshotWriter();  // writes what is pending, then joins
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  void submit(std::string data);
  // Writes `data` now, on the caller's thread (shutdown), after anything pending.
  Status write_now(std::string data);
  const std::string& path() const { return path_; }
  // True when the newest snapshot handed over is on disk (false after a failed write); waits
  // for a write in progress.
  bool current() const;
  uint64_t written() const;   // files written (a submitted snapshot replaced before its turn is not)
  uint64_t failures() const;
  std::string last_error() const;

 private:
  void run();
  Status write_seq(uint64_t seq, std::string_view data);

  std::string path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;
  bool has_pending_ = false;
  bool stop_ = false;
  uint64_t written_ = 0;
  uint64_t failures_ = 0;
  std::string last_error_;
  uint64_t next_seq_ = 0;      // guarded by mu_
  uint64_t pending_seq_ = 0;   // guarded by mu_
  mutable std::mutex io_mu_;   // one write at a time (thread or shutdown)
  uint64_t written_seq_ = 0;   // guarded by io_mu_: an older snapshot never overwrites a newer one
  std::thread thread_;
};

}  // namespace edgeloop::state
