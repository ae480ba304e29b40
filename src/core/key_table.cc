#include "core/key_table.h"

namespace edgeloop {

KeyTable::KeyTable(std::size_t max_keys) : max_keys_(std::min(max_keys, kChunkSize * kMaxChunks)) {}

Result<KeyId> KeyTable::intern(std::string_view name, std::string_view topic, uint16_t source) {
  std::lock_guard lock(mu_);
  if (auto it = index_.find(name); it != index_.end()) return it->second;
  const std::size_t id = size_.load(std::memory_order_relaxed);
  if (id >= max_keys_) {
    return make_error(Errc::kTooLarge, "too many distinct keys (max_keys " + std::to_string(max_keys_) + ")");
  }
  const std::size_t chunk = id >> kChunkBits;
  if (!owned_[chunk]) {
    owned_[chunk] = std::make_unique<KeyEntry[]>(kChunkSize);
    chunks_[chunk].store(owned_[chunk].get(), std::memory_order_release);
  }
  KeyEntry& e = owned_[chunk][id & (kChunkSize - 1)];
  e.name.assign(name);
  e.topic.assign(topic);
  e.source = source;
  index_.emplace(e.name, static_cast<KeyId>(id));
  size_.store(id + 1, std::memory_order_release);
  return static_cast<KeyId>(id);
}

KeyId KeyTable::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = index_.find(name);
  return it == index_.end() ? kNoKey : it->second;
}

}  // namespace edgeloop
