// The process-wide catalog of served models, and hot swap. A model (by name) comes from a
// file (`path`) or a watched folder (`watch`: the newest valid file wins). A watcher thread per
// folder polls it, loads and validates a new file OFF the hot path, one TensorModel per
// subscribed stage instance (one per shard: models are not thread-safe), and hands each its
// instance through one atomic pointer; the stage picks it up at its next record with one
// atomic load. A file that fails (load error, an input that does not fit the pipeline, a
// different number of outputs) is rejected, logged, counted and kept as last_error; the
// running version stays.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "models/infer/tensor_model.h"

namespace edgeloop::models {

// What the catalog knows about a model (GET /api/v1/models).
struct ModelVersionInfo {
  std::string name;
  int64_t version = 0;       // 1 for the first load, +1 per swap
  std::string file;          // the file that runs
  std::string fingerprint;   // "size:mtime_ns:fnv1a64" of that file
  std::string backend;
  int64_t loaded_at_ns = 0;  // Unix ns
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  std::string watch;         // the watched folder (empty: a fixed file)
  std::string last_error;    // of the last rejected file (empty: none)
  uint64_t rejected = 0;     // files rejected so far
};

// One model instance handed to one stage instance.
struct ModelInstance {
  int64_t version = 0;
  std::string file;
  std::unique_ptr<TensorModel> model;
};

// A stage instance's mailbox for new versions.
class ModelSubscription {
 public:
  ModelSubscription() = default;
  ~ModelSubscription() { delete pending_.load(std::memory_order_acquire); }
  ModelSubscription(const ModelSubscription&) = delete;
  ModelSubscription& operator=(const ModelSubscription&) = delete;

  // Hot path: one atomic load when nothing is new; the new instance when one was published.
  std::unique_ptr<ModelInstance> take() {
    if (pending_.load(std::memory_order_acquire) == nullptr) return nullptr;
    return std::unique_ptr<ModelInstance>(pending_.exchange(nullptr, std::memory_order_acq_rel));
  }

 private:
  friend class ModelCatalog;
  // Replaces what the stage has not picked up yet (the newer version wins).
  void publish(std::unique_ptr<ModelInstance> inst) {
    delete pending_.exchange(inst.release(), std::memory_order_acq_rel);
  }
  std::atomic<ModelInstance*> pending_{nullptr};
};

// How a stage asks for a model.
struct ModelSpec {
  std::string name;           // catalog name
  std::string path;           // a fixed file, or
  std::string watch;          // a folder
  int64_t poll_ns = 1'000'000'000;
  LoadOptions load;
  // Does a loaded model fit the pipeline's configured input? The error says what does not.
  std::function<Status(const TensorModel&)> validate;
  Metrics* metrics = nullptr;  // for edgeloop_model_rejected_total{model}; may be null
};

struct Subscribed {
  std::unique_ptr<ModelInstance> instance;  // the current version, for this subscriber
  std::shared_ptr<ModelSubscription> subscription;
};

class ModelCatalog {
 public:
  ModelCatalog() = default;
  ~ModelCatalog();
  ModelCatalog(const ModelCatalog&) = delete;
  ModelCatalog& operator=(const ModelCatalog&) = delete;

  static ModelCatalog& global();

  // The first subscriber of a name loads the model (a folder: its newest valid file) and
  // starts the watcher; later ones must name the same file or folder and get their own
  // instance of the running version. Off the hot path (stage creation).
  Result<Subscribed> subscribe(const ModelSpec& spec);
  // The last one out stops the watcher and forgets the name.
  void unsubscribe(const std::string& name, const ModelSubscription* sub);

  std::vector<ModelVersionInfo> list() const;
  Result<ModelVersionInfo> info(const std::string& name) const;

  // Checks a watched folder now, on the caller's thread (what the watcher does every poll).
  Status rescan(const std::string& name);

  // Writes `bytes` into the model's watched folder atomically (a hidden temp file, then a
  // rename), checks it at once and returns the new version, or the validation error
  // (kInvalidArgument), kNotFound for an unknown name, kUnavailable when a check in
  // progress does not finish within `timeout_ns`.
  Result<ModelVersionInfo> upload(const std::string& name, std::string_view bytes, int64_t timeout_ns = 30'000'000'000);

 private:
  struct Entry;
  std::shared_ptr<Entry> find(const std::string& name) const;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace edgeloop::models
