#include "models/serving/model_catalog.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace edgeloop::models {
namespace fs = std::filesystem;
namespace {

struct FileStamp {
  std::string path;
  uintmax_t size = 0;
  int64_t mtime_ns = 0;
  std::string key() const { return path + "|" + std::to_string(size) + "|" + std::to_string(mtime_ns); }
};

// Hidden files are uploads in progress; .tmp/.part are copies in progress.
bool is_candidate(const fs::directory_entry& e) {
  std::error_code ec;
  if (!e.is_regular_file(ec)) return false;
  const std::string name = e.path().filename().string();
  if (name.empty() || name[0] == '.') return false;
  const std::string ext = e.path().extension().string();
  return ext != ".tmp" && ext != ".part";
}

// Newest first (modification time, then name).
std::vector<FileStamp> candidates(const std::string& dir) {
  std::vector<FileStamp> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!is_candidate(*it)) continue;
    FileStamp s;
    s.path = it->path().string();
    std::error_code ec2;
    s.size = it->file_size(ec2);
    const auto t = it->last_write_time(ec2);
    if (ec2) continue;
    s.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const FileStamp& a, const FileStamp& b) {
    return a.mtime_ns != b.mtime_ns ? a.mtime_ns > b.mtime_ns : a.path > b.path;
  });
  return out;
}

Result<FileStamp> stamp_of(const std::string& path) {
  std::error_code ec;
  FileStamp s;
  s.path = path;
  s.size = fs::file_size(path, ec);
  if (ec) return make_error(Errc::kNotFound, "model '" + path + "': no such file");
  const auto t = fs::last_write_time(path, ec);
  s.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return s;
}

std::string fingerprint(const FileStamp& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64: cheap, enough to tell versions apart
  std::ifstream in(s.path, std::ios::binary);
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ull;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return std::to_string(s.size) + ":" + std::to_string(s.mtime_ns) + ":" + hex;
}

int64_t output_values(const TensorModel& m) {
  int64_t n = 0;
  for (const auto& o : m.outputs()) {
    int64_t p = 1;
    for (std::size_t i = 1; i < o.shape.size(); ++i) p *= o.shape[i];
    n += p;
  }
  return n;
}

std::string safe_name(const std::string& name) {
  std::string s = name;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return s;
}

}  // namespace

struct ModelCatalog::Entry {
  struct Outcome {
    bool accepted = false;
    int64_t version = 0;
    std::string error;
  };

  ModelSpec spec;
  std::timed_mutex scan_mu;  // serialises loads: scans, subscribes, uploads
  mutable std::mutex mu;     // guards what follows
  ModelVersionInfo info;
  std::string current_key;
  int64_t out_values = 0;  // per-sample output values of the running version
  std::vector<std::shared_ptr<ModelSubscription>> subs;
  std::map<std::string, Outcome> outcomes;  // by FileStamp::key(), the last few files
  Counter* rejected_counter = nullptr;

  std::thread watcher;
  std::mutex wmu;
  std::condition_variable wcv;
  bool stop = false;

  // Loads `n` instances of `path` and checks them. Off every lock but scan_mu.
  Result<std::vector<std::unique_ptr<TensorModel>>> load(const std::string& path, std::size_t n, int64_t want_outputs) {
    std::vector<std::unique_ptr<TensorModel>> out;
    for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i) {
      EDGELOOP_ASSIGN_OR_RETURN(auto m, load_tensor_model(path, spec.load));
      if (i == 0) {
        if (spec.validate) EDGELOOP_TRY(spec.validate(*m));
        const int64_t got = output_values(*m);
        if (want_outputs > 0 && got != want_outputs) {
          return make_error(Errc::kInvalidArgument, "model '" + path + "' gives " + std::to_string(got) +
                                                        " output values per sample, the running version " +
                                                        std::to_string(want_outputs));
        }
      }
      out.push_back(std::move(m));
    }
    if (n == 0) out.clear();
    return out;
  }

  void remember(const std::string& key, Outcome o) {
    if (outcomes.size() > 64) outcomes.erase(outcomes.begin());
    outcomes[key] = std::move(o);
  }

  void reject(const FileStamp& s, const Error& e) {
    spdlog::warn("model {}: rejected {}: {} (version {} keeps running)", spec.name, s.path, e.message, info.version);
    if (rejected_counter) rejected_counter->add();
    std::lock_guard<std::mutex> lock(mu);
    info.last_error = e.message;
    ++info.rejected;
    remember(s.key(), Outcome{false, 0, e.message});
  }

  // Makes `models` the running version: one per subscriber, in order. Holds scan_mu.
  void accept(const FileStamp& s, std::vector<std::unique_ptr<TensorModel>>& models, bool first) {
    const std::string fp = fingerprint(s);
    std::lock_guard<std::mutex> lock(mu);
    const TensorModel& m0 = *models.front();
    info.version += 1;
    info.file = s.path;
    info.fingerprint = fp;
    info.backend = m0.backend();
    info.loaded_at_ns = unix_now_ns();
    info.inputs = m0.inputs();
    info.outputs = m0.outputs();
    out_values = output_values(m0);
    current_key = s.key();
    remember(s.key(), Outcome{true, info.version, ""});
    if (!first) {
      for (std::size_t i = 0; i < subs.size() && i < models.size(); ++i) {
        auto inst = std::make_unique<ModelInstance>();
        inst->version = info.version;
        inst->file = s.path;
        inst->model = std::move(models[i]);
        subs[i]->publish(std::move(inst));
      }
      spdlog::info("model {}: version {} from {} ({})", spec.name, info.version, s.path, info.backend);
    }
  }

  // One look at the watched folder. Holds scan_mu.
  void scan_locked() {
    if (spec.watch.empty()) return;
    const auto files = candidates(spec.watch);
    if (files.empty()) return;
    const FileStamp& newest = files.front();
    std::size_t n = 0;
    int64_t want = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (newest.key() == current_key || outcomes.count(newest.key())) return;
      n = subs.size();
      want = out_values;
    }
    auto loaded = load(newest.path, n, want);
    if (!loaded.ok()) {
      reject(newest, loaded.error());
      return;
    }
    if (n == 0) return;
    accept(newest, loaded.value(), false);
  }

  void watch_loop() {
    std::unique_lock<std::mutex> lock(wmu);
    while (!stop) {
      wcv.wait_for(lock, std::chrono::nanoseconds(spec.poll_ns), [this] { return stop; });
      if (stop) break;
      lock.unlock();
      {
        std::lock_guard<std::timed_mutex> scan(scan_mu);
        scan_locked();
      }
      lock.lock();
    }
  }

  void stop_watcher() {
    {
      std::lock_guard<std::mutex> lock(wmu);
      stop = true;
    }
    wcv.notify_all();
    if (watcher.joinable()) watcher.join();
  }
};

ModelCatalog::~ModelCatalog() {
  std::map<std::string, std::shared_ptr<Entry>> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries.swap(entries_);
  }
  for (auto& [name, e] : entries) e->stop_watcher();
}

ModelCatalog& ModelCatalog::global() {
  static ModelCatalog catalog;
  return catalog;
}

std::shared_ptr<ModelCatalog::Entry> ModelCatalog::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second;
}

Result<Subscribed> ModelCatalog::subscribe(const ModelSpec& spec) {
  if (spec.path.empty() == spec.watch.empty()) {
    return make_error(Errc::kInvalidConfig, "model '" + spec.name + "': give either a file (path) or a folder (watch)");
  }
  std::shared_ptr<Entry> e;
  bool created = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = entries_[spec.name];
    if (!slot) {
      slot = std::make_shared<Entry>();
      slot->spec = spec;
      slot->info.name = spec.name;
      slot->info.watch = spec.watch;
      created = true;
    }
    e = slot;
  }
  if (!created && (e->spec.path != spec.path || e->spec.watch != spec.watch)) {
    return make_error(Errc::kInvalidConfig, "model name '" + spec.name + "' is already served from " +
                                                (e->spec.watch.empty() ? e->spec.path : e->spec.watch) +
                                                "; give this stage another `name`");
  }
  auto forget = [&]() {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(spec.name);
    if (it != entries_.end() && it->second == e) entries_.erase(it);
  };
  std::lock_guard<std::timed_mutex> scan(e->scan_mu);
  auto sub = std::make_shared<ModelSubscription>();
  Subscribed out;
  out.subscription = sub;
  std::unique_ptr<TensorModel> first_model;  // the first subscriber runs the instance that was checked
  if (created) {
    if (spec.metrics) {
      e->rejected_counter = &spec.metrics->counter("edgeloop_model_rejected_total",
                                                   "Model files rejected at load (load error, input or outputs that do not fit).",
                                                   {{"model", spec.name}});
    }
    std::vector<FileStamp> files;
    if (!spec.path.empty()) {
      auto s = stamp_of(spec.path);
      if (!s.ok()) {
        forget();
        return s.take_error();
      }
      files.push_back(*s);
    } else {
      std::error_code ec;
      if (!fs::is_directory(spec.watch, ec)) {
        forget();
        return make_error(Errc::kNotFound, "model '" + spec.name + "': the watched folder '" + spec.watch + "' does not exist");
      }
      files = candidates(spec.watch);
    }
    std::string errors;
    for (const auto& f : files) {  // newest first: the newest valid file wins
      auto loaded = e->load(f.path, 1, 0);
      if (!loaded.ok()) {
        e->reject(f, loaded.error());
        errors += (errors.empty() ? "" : "; ") + loaded.error().message;
        continue;
      }
      e->accept(f, loaded.value(), true);
      first_model = std::move(loaded.value().front());
      break;
    }
    if (e->info.version == 0) {
      forget();
      if (!spec.path.empty()) return make_error(Errc::kInvalidArgument, errors);
      return make_error(Errc::kInvalidArgument, "model '" + spec.name + "': no valid model file in '" + spec.watch + "'" +
                                                    (errors.empty() ? std::string(" (the folder is empty)") : ": " + errors));
    }
    if (!spec.watch.empty()) e->watcher = std::thread([raw = e.get()] { raw->watch_loop(); });
  }
  // This subscriber's own instance of the running version.
  std::string file;
  int64_t version = 0;
  {
    std::lock_guard<std::mutex> lock(e->mu);
    file = e->info.file;
    version = e->info.version;
  }
  if (!first_model) {
    auto m = load_tensor_model(file, e->spec.load);
    if (!m.ok()) return m.take_error();
    if (spec.validate) EDGELOOP_TRY(spec.validate(**m));
    first_model = std::move(m).value();
  }
  out.instance = std::make_unique<ModelInstance>();
  out.instance->version = version;
  out.instance->file = file;
  out.instance->model = std::move(first_model);
  std::lock_guard<std::mutex> lock(e->mu);
  e->subs.push_back(sub);
  return out;
}

void ModelCatalog::unsubscribe(const std::string& name, const ModelSubscription* sub) {
  std::shared_ptr<Entry> e = find(name);
  if (!e) return;
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(e->mu);
    auto& subs = e->subs;
    subs.erase(std::remove_if(subs.begin(), subs.end(), [&](const auto& s) { return s.get() == sub; }), subs.end());
    last = subs.empty();
  }
  if (!last) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it != entries_.end() && it->second == e) entries_.erase(it);
  }
  e->stop_watcher();
}

std::vector<ModelVersionInfo> ModelCatalog::list() const {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, e] : entries_) entries.push_back(e);
  }
  std::vector<ModelVersionInfo> out;
  for (const auto& e : entries) {
    std::lock_guard<std::mutex> lock(e->mu);
    if (e->info.version > 0) out.push_back(e->info);
  }
  return out;
}

Result<ModelVersionInfo> ModelCatalog::info(const std::string& name) const {
  auto e = find(name);
  if (!e) return make_error(Errc::kNotFound, "no model named '" + name + "'");
  std::lock_guard<std::mutex> lock(e->mu);
  return e->info;
}

Status ModelCatalog::rescan(const std::string& name) {
  auto e = find(name);
  if (!e) return make_error(Errc::kNotFound, "no model named '" + name + "'");
  std::lock_guard<std::timed_mutex> scan(e->scan_mu);
  e->scan_locked();
  return Status::Ok();
}

Result<ModelVersionInfo> ModelCatalog::upload(const std::string& name, std::string_view bytes, int64_t timeout_ns) {
  auto e = find(name);
  if (!e) return make_error(Errc::kNotFound, "no model named '" + name + "'");
  if (e->spec.watch.empty()) {
    return make_error(Errc::kInvalidArgument,
                      "model '" + name + "' runs a fixed file (path); uploads need a watched folder (watch)");
  }
  if (bytes.empty()) return make_error(Errc::kInvalidArgument, "the uploaded model is empty");
  std::string ext;
  {
    std::lock_guard<std::mutex> lock(e->mu);
    ext = fs::path(e->info.file).extension().string();
  }
  if (ext.empty()) ext = bytes.front() == '{' ? ".json" : ".onnx";
  const std::string stem = safe_name(name) + "-" + std::to_string(unix_now_ns());
  const fs::path dir(e->spec.watch);
  const fs::path tmp = dir / ("." + stem + ext + ".tmp");
  const fs::path dst = dir / (stem + ext);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) return make_error(Errc::kIo, "cannot write '" + tmp.string() + "'");
  }
  std::error_code ec;
  fs::rename(tmp, dst, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return make_error(Errc::kIo, "cannot rename '" + tmp.string() + "' to '" + dst.string() + "'");
  }
  std::unique_lock<std::timed_mutex> scan(e->scan_mu, std::defer_lock);
  if (!scan.try_lock_for(std::chrono::nanoseconds(timeout_ns))) {
    return make_error(Errc::kUnavailable, "model '" + name + "': a load in progress did not finish in time; the file '" +
                                              dst.string() + "' will be checked at the next poll");
  }
  e->scan_locked();
  auto s = stamp_of(dst.string());
  std::lock_guard<std::mutex> lock(e->mu);
  if (s.ok()) {
    auto it = e->outcomes.find(s->key());
    if (it != e->outcomes.end()) {
      if (!it->second.accepted) return make_error(Errc::kInvalidArgument, it->second.error);
      return e->info;
    }
  }
  return make_error(Errc::kUnavailable, "model '" + name + "': '" + dst.string() + "' was not checked (a newer file arrived)");
}

}  // namespace edgeloop::models
