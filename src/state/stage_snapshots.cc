#include "state/stage_snapshots.h"

#include <filesystem>
#include <mutex>

namespace edgeloop::state {

namespace {

// Stage instances of one pipeline step (one per shard) number their files in creation order.
int next_instance(const std::string& prefix) {
  static std::mutex mu;
  static std::map<std::string, int> next;
  std::lock_guard lock(mu);
  return next[prefix]++;
}

}  // namespace

std::vector<OptionSpec> snapshot_option_specs(std::string_view what) {
  return {
      {.name = "state_dir",
       .type = OptionType::kString,
       .description = "Folder for snapshots of " + std::string(what) +
                      " per key (created if missing), restored when a key first shows up after a restart. Unset: "
                      "`runtime.state_dir`; `\"\"`: no snapshots even when that is set."},
      {.name = "snapshot_every",
       .type = OptionType::kDuration,
       .default_value = "5m",
       .description = "With a state folder: how often (wall clock) the state is written while it changes; it is "
                      "also written when the runtime stops.",
       .min = 1},
  };
}

std::string resolve_state_dir(const Options& opts, const StageContext& ctx) {
  return opts.has("state_dir") ? opts.str("state_dir") : ctx.state_dir;
}

Status ensure_state_dir(const Options& opts, const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return opts.error("state_dir", "cannot create " + dir + ": " + ec.message());
  return Status::Ok();
}

std::string file_safe(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

StageSnapshots::StageSnapshots(StageSnapshotSettings settings, const StageContext& ctx, std::string_view stage_name)
    : s_(std::move(settings)), keys_(ctx.keys) {
  if (s_.dir.empty()) return;
  if (ctx.metrics) {
    const Metrics::Labels labels = {{"pipeline", ctx.pipeline},
                                    {"stage", std::to_string(ctx.stage_index) + ":" + std::string(stage_name)}};
    const std::string m = "edgeloop_" + s_.kind;
    written_ = &ctx.metrics->counter(m + "_snapshots_total", "State snapshots of op." + s_.kind + " written.", labels);
    failures_ = &ctx.metrics->counter(m + "_snapshot_failures_total",
                                      "State snapshots of op." + s_.kind + " that could not be written.", labels);
    restored_counter_ = &ctx.metrics->counter(
        m + "_restored_keys_total", "Keys whose op." + s_.kind + " state was restored from a snapshot.", labels);
    skipped_counter_ = &ctx.metrics->counter(m + "_snapshot_skipped_total",
                                             "Snapshot files (per stage instance) or key states of op." + s_.kind +
                                                 " not restored: corrupt, truncated or written under other settings.",
                                             labels);
  }
  const std::string prefix = ctx.pipeline + "." + std::to_string(ctx.stage_index) + "." + file_safe(stage_name);
  path_ = s_.dir + "/" + prefix + "." + std::to_string(next_instance(s_.dir + "/" + prefix)) + ".snap";
  pending_ = load_snapshots(s_.dir, prefix, s_.fingerprint, &skipped_);
  if (skipped_counter_) skipped_counter_->add(skipped_.size());
  writer_ = std::make_unique<SnapshotWriter>(path_);
}

std::string StageSnapshots::key_name(KeyId id) const {
  return keys_ ? keys_->name(id) : "#" + std::to_string(id);
}

std::optional<SnapshotEntry> StageSnapshots::take(KeyId key) {
  if (pending_.empty()) return std::nullopt;
  auto it = pending_.find(key_name(key));
  if (it == pending_.end()) return std::nullopt;
  SnapshotEntry e = std::move(it->second);
  pending_.erase(it);
  return e;
}

void StageSnapshots::count_restored() {
  ++restored_;
  if (restored_counter_) restored_counter_->add();
}

void StageSnapshots::count_unusable() {
  ++unusable_;
  if (skipped_counter_) skipped_counter_->add();
}

bool StageSnapshots::due(int64_t now_unix_ns) {
  if (!writer_) return false;
  export_stats();
  if (last_ns_ == 0) last_ns_ = now_unix_ns;
  if (!dirty_ || now_unix_ns - last_ns_ < s_.every_ns) return false;
  last_ns_ = now_unix_ns;
  dirty_ = false;
  return true;
}

std::string StageSnapshots::encode(int64_t now_unix_ns, std::vector<SnapshotEntry> live) const {
  live.reserve(live.size() + pending_.size());
  for (const auto& [k, e] : pending_) live.push_back(e);
  return encode_snapshot(s_.fingerprint, now_unix_ns, live);
}

void StageSnapshots::submit(std::string data) {
  if (!writer_) return;
  writer_->submit(std::move(data));
}

Status StageSnapshots::write_now(std::string data) {
  if (!writer_) return make_error(Errc::kInvalidArgument, "no state_dir: snapshots are off");
  Status st = writer_->write_now(std::move(data));
  if (st.ok()) dirty_ = false;
  export_stats();
  return st;
}

void StageSnapshots::export_stats() {
  const uint64_t w = writer_->written();
  if (written_) written_->add(w - written_exported_);
  written_exported_ = w;
  const uint64_t f = writer_->failures();
  if (failures_) failures_->add(f - failures_exported_);
  if (f > failures_exported_) dirty_ = true;  // still behind: write again when next due
  failures_exported_ = f;
}

}  // namespace edgeloop::state
