// Interns stream keys (device names) to dense KeyIds, shared by every thread.
// Inserts take a mutex (connector threads, once per new key); reads of a published id are
// lock-free: entries live in fixed chunks that never move, and an id travels to readers
// through a ring (release/acquire), after its entry was written.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/record.h"
#include "core/result.h"

namespace edgeloop {

struct KeyEntry {
  std::string name;   // the key, e.g. "d0001" or "line1/pump3"
  std::string topic;  // the first topic (or address) the key was seen on
  uint16_t source = 0;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class KeyTable {
 public:
  static constexpr std::size_t kChunkBits = 12;
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
  static constexpr std::size_t kMaxChunks = 4096;  // 16.7 million keys

  explicit KeyTable(std::size_t max_keys = kChunkSize * kMaxChunks);

  // Returns the id of `name`, adding it (with `topic`) when new; kTooLarge past max_keys.
  Result<KeyId> intern(std::string_view name, std::string_view topic, uint16_t source);
  // Returns the id or kNoKey.
  KeyId find(std::string_view name) const;

  const KeyEntry& entry(KeyId id) const {
    return chunks_[id >> kChunkBits].load(std::memory_order_acquire)[id & (kChunkSize - 1)];
  }
  const std::string& name(KeyId id) const { return entry(id).name; }
  std::size_t size() const { return size_.load(std::memory_order_acquire); }

 private:
  std::size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, KeyId, StringHash, std::equal_to<>> index_;  // guarded by mu_
  std::array<std::atomic<KeyEntry*>, kMaxChunks> chunks_{};
  std::array<std::unique_ptr<KeyEntry[]>, kMaxChunks> owned_;  // guarded by mu_
  std::atomic<std::size_t> size_{0};
};

// A connector thread's private cache in front of the KeyTable, so the steady state takes no lock.
class KeyCache {
 public:
  explicit KeyCache(KeyTable& table, uint16_t source) : table_(table), source_(source) {}
  Result<KeyId> intern(std::string_view name, std::string_view topic) {
    if (auto it = cache_.find(name); it != cache_.end()) return it->second;
    auto id = table_.intern(name, topic, source_);
    if (id.ok()) cache_.emplace(std::string(name), *id);
    return id;
  }
  KeyTable& table() { return table_; }

 private:
  KeyTable& table_;
  uint16_t source_;
  std::unordered_map<std::string, KeyId, StringHash, std::equal_to<>> cache_;
};

}  // namespace edgeloop
