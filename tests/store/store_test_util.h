// Shared helpers of the store tests: a temporary directory, settings, records and events.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <thread>

#include "core/key_table.h"
#include "core/record.h"
#include "store/store.h"

namespace edgeloop::store::testing {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'732'536'000LL * kSec;  // 2024-11-25T12:00:00Z: a round minute

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgeloop-store-XXXXXX").string();
    path = mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

inline StoreSettings settings_at(const std::string& path) {
  StoreSettings s;
  s.path = path;
  s.commit_interval_ns = 5'000'000;
  return s;
}

inline Record record(KeyId key, int64_t ts, std::initializer_list<double> values) {
  Record r;
  r.key = key;
  r.ts_ns = ts;
  r.nfields = static_cast<uint8_t>(values.size());
  std::size_t i = 0;
  for (double v : values) r.f[i++] = v;
  return r;
}

inline bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace edgeloop::store::testing
