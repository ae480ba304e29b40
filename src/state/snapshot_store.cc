#include "state/snapshot_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "state/byte_io.h"

namespace edgeloop::state {

namespace {

constexpr char kMagic[8] = {'E', 'L', 'S', 'N', 'A', 'P', 0, 0};
constexpr uint32_t kFormatVersion = 1;

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string encode_snapshot(const std::string& fingerprint, int64_t saved_unix_ns, const std::vector<SnapshotEntry>& entries) {
  ByteWriter w;
  w.out().append(kMagic, sizeof kMagic);
  w.put(kFormatVersion);
  w.str(fingerprint);
  w.put(saved_unix_ns);
  w.put<uint64_t>(entries.size());
  for (const auto& e : entries) {
    w.str(e.key);
    w.put(e.updated_unix_ns);
    w.str(e.state);
  }
  w.put(fnv1a(w.out()));
  return w.take();
}

Result<DecodedSnapshot> decode_snapshot(std::string_view data) {
  if (data.size() < sizeof kMagic + 4 + 8 || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    return make_error(Errc::kParse, "not an edgeloop snapshot");
  }
  const std::string_view body = data.substr(0, data.size() - 8);
  ByteReader tail(data.substr(data.size() - 8));
  if (tail.get<uint64_t>() != fnv1a(body)) return make_error(Errc::kParse, "checksum mismatch (truncated or corrupt)");
  ByteReader r(body.substr(sizeof kMagic));
  const auto version = r.get<uint32_t>();
  if (version != kFormatVersion) return make_error(Errc::kParse, "snapshot format version " + std::to_string(version) + " is not supported");
  DecodedSnapshot out;
  out.fingerprint = r.str();
  out.saved_unix_ns = r.get<int64_t>();
  const auto n = r.get<uint64_t>();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    SnapshotEntry e;
    e.key = r.str();
    e.updated_unix_ns = r.get<int64_t>();
    e.state = r.str();
    out.entries.push_back(std::move(e));
  }
  if (!r.ok() || !r.done()) return make_error(Errc::kParse, "malformed snapshot");
  return out;
}

Status write_atomic(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(Errc::kIo, "cannot write " + tmp + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      return make_error(Errc::kIo, "cannot write " + tmp + ": " + why);
    }
    off += static_cast<std::size_t>(n);
  }
  // fsync before the rename: after a crash the file is the old one or the new one, whole.
  if (::fsync(fd) != 0 || ::close(fd) != 0) return make_error(Errc::kIo, "cannot sync " + tmp + ": " + std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return make_error(Errc::kIo, "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

std::map<std::string, SnapshotEntry> load_snapshots(const std::string& dir, const std::string& prefix,
                                                    const std::string& fingerprint, std::vector<std::string>* skipped) {
  namespace fs = std::filesystem;
  std::map<std::string, SnapshotEntry> best;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix + ".", 0) != 0 || it->path().extension() != ".snap") continue;
    std::ifstream f(it->path(), std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    auto snap = decode_snapshot(ss.str());
    if (!snap.ok()) {
      if (skipped) skipped->push_back(it->path().string() + ": " + snap.error().message);
      continue;
    }
    if (snap->fingerprint != fingerprint) {
      if (skipped) skipped->push_back(it->path().string() + ": written under other settings");
      continue;
    }
    for (auto& e : snap->entries) {
      auto found = best.find(e.key);
      if (found == best.end()) {
        best.emplace(e.key, std::move(e));
      } else if (e.updated_unix_ns > found->second.updated_unix_ns) {
        found->second = std::move(e);
      }
    }
  }
  return best;
}

SnapshotWriter::SnapshotWriter(std::string path) : path_(std::move(path)), thread_([this] { run(); }) {}

SnapshotWriter::~SnapshotWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SnapshotWriter::submit(std::string data) {
  {
    std::lock_guard lock(mu_);
    pending_ = std::move(data);
    pending_seq_ = ++next_seq_;
    has_pending_ = true;
  }
  cv_.notify_one();
}

Status SnapshotWriter::write_seq(uint64_t seq, std::string_view data) {
  std::lock_guard io(io_mu_);
  if (seq <= written_seq_) return Status::Ok();  // a newer one is on disk already
  Status st = write_atomic(path_, data);
  if (st.ok()) {
    written_seq_ = seq;
    std::lock_guard lock(mu_);
    ++written_;
  } else {
    std::lock_guard lock(mu_);
    ++failures_;
    last_error_ = st.error().message;
  }
  return st;
}

Status SnapshotWriter::write_now(std::string data) {
  uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    has_pending_ = false;  // superseded
    pending_.clear();
    seq = ++next_seq_;
  }
  return write_seq(seq, data);
}

bool SnapshotWriter::current() const {
  std::lock_guard io(io_mu_);  // same order as write_seq: io_mu_, then mu_
  std::lock_guard lock(mu_);
  return !has_pending_ && written_seq_ == next_seq_;
}

uint64_t SnapshotWriter::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

uint64_t SnapshotWriter::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

std::string SnapshotWriter::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void SnapshotWriter::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || has_pending_; });
    if (has_pending_) {
      std::string data = std::move(pending_);
      const uint64_t seq = pending_seq_;
      has_pending_ = false;
      lock.unlock();
      (void)write_seq(seq, data);
      lock.lock();
      continue;
    }
    if (stop_) return;
  }
}

}  // namespace edgeloop::state
