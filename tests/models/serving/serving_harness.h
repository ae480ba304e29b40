// Helpers for the model-serving tests: the model stages built through a registry as a
// pipeline builds them, a collecting emitter, temp folders.
#pragma once

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <unistd.h>

#include "core/plugin.h"
#include "core/registry.h"
#include "models/serving/model_stage.h"
#include "../../support/options_node.h"

namespace edgeloop::testing {

inline Mark mark(int line) { return test_mark(line); }

inline ConfigNode node(std::initializer_list<std::pair<std::string, OptValue>> kv) { return options_node(kv); }

inline const Registry& model_registry() {
  static const Registry r = [] {
    Registry reg;
    models::register_model_stages(reg);
    return reg;
  }();
  return r;
}

inline const std::string* pipeline_name() {
  static const std::string name = "p";
  return &name;
}

inline Result<std::unique_ptr<Stage>> make_model_stage(const std::string& step, const ConfigNode& n, const Schema& input,
                                                       Metrics* metrics = nullptr) {
  StageContext ctx;
  ctx.pipeline = "p";
  ctx.pipeline_name = pipeline_name();
  ctx.name = step;
  ctx.pipeline_index = 3;
  ctx.stage_index = 1;
  ctx.input = &input;
  ctx.metrics = metrics;
  return model_registry().make_stage(step, n, "pipelines.p.steps[1]." + step, ctx);
}

class Collect final : public Emitter {
 public:
  void forward(const Record& r) override { records.push_back(r); }
  void emit(Event&& e) override { events.push_back(std::move(e)); }
  std::vector<Record> records;
  std::vector<Event> events;
};

inline Record rec(uint32_t slot, int64_t ts, std::initializer_list<double> values) {
  Record r;
  r.key = 100 + slot;
  r.slot = slot;
  r.ts_ns = ts;
  r.recv_ns = ts + 7;
  for (double v : values) r.f[r.nfields++] = v;
  return r;
}

// A fresh folder under the temp dir, removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() / ("edgeloop_" + tag + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace edgeloop::testing
