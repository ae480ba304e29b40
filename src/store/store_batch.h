// What the writer thread commits in one transaction: readings and events taken from the
// queues, with keys and schemas already named (so nothing in a batch points back into a
// queue or a runtime: a queue may go away once it was drained).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/record.h"

namespace edgeloop::store {

// `key` and `schema` index the names the Store interned (Batch::new_keys/new_schemas bring
// each name once, in the first batch that uses it).
struct PendingReading {
  uint32_t key = 0;
  uint32_t schema = 0;
  uint8_t nfields = 0;
  int64_t ts_ns = 0;
  std::array<double, kMaxFields> f{};
};

struct PendingEvent {
  int64_t ts_ns = 0;
  std::string key;
  std::string kind;
  std::string state;
  std::string pipeline;
  std::string stage;
  std::string json;  // actions/event_json.h
};

struct Batch {
  std::vector<std::pair<uint32_t, std::string>> new_keys;
  std::vector<std::pair<uint32_t, std::vector<std::string>>> new_schemas;
  std::vector<PendingReading> readings;
  std::vector<PendingEvent> events;

  std::size_t rows() const { return readings.size() + events.size(); }
  bool empty() const { return readings.empty() && events.empty() && new_keys.empty() && new_schemas.empty(); }
  void clear() {
    new_keys.clear();
    new_schemas.clear();
    readings.clear();
    events.clear();
  }
};

}  // namespace edgeloop::store
