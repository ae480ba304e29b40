// The data that flows through a pipeline: Records in, Events out.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace edgeloop {

// A stream key (e.g. a device) interned to a dense id: see KeyTable.
using KeyId = uint32_t;
inline constexpr KeyId kNoKey = UINT32_MAX;

// Scalar telemetry carries a handful of values per message, a V1 feature vector 13; a fixed
// array keeps a Record copyable through the rings with no allocation. Longer vectors travel in
// `block`; a schema may name more fields than a record carries, and stages that read fields by
// name refuse those past kMaxFields.
inline constexpr std::size_t kMaxFields = 16;

// The names of a Record's fields, fixed per stage when a pipeline is built; Records carry
// only the values, by index.
class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<std::string> names) : names_(std::move(names)) {}
  std::size_t size() const { return names_.size(); }
  const std::string& name(std::size_t i) const { return names_[i]; }
  const std::vector<std::string>& names() const { return names_; }
  // Index of a field, or -1.
  int index_of(std::string_view name) const {
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name) return static_cast<int>(i);
    return -1;
  }

 private:
  std::vector<std::string> names_;
};

// A block of samples (vibration) or a vector (features), shared read-only between stages.
// An image or a sequence is a tensor: `shape` gives its dimensions, row-major, without a batch
// dimension (an image [channels, height, width], a sequence [steps, features]); empty: 1-D.
struct SampleBlock {
  double sample_rate_hz = 0;  // 0 for a feature vector
  std::vector<float> samples;
  std::vector<int32_t> shape;
};

struct Record {
  KeyId key = kNoKey;
  uint16_t source = 0;    // index of the source that produced it
  uint8_t nfields = 0;
  uint32_t slot = 0;      // the key's dense index within its shard, set by the shard
  int64_t ts_ns = 0;      // event time (from the payload, or the receive time)
  int64_t recv_ns = 0;    // when the connector received it (Unix ns), for latency
  std::array<double, kMaxFields> f{};
  std::shared_ptr<const SampleBlock> block;  // optional
};

enum class EventKind : uint8_t { kInsight, kAlert, kCommand };
enum class AlertState : uint8_t { kNone, kRaised, kCleared };

enum class Severity : uint8_t { kInfo, kWarning, kCritical };

const char* event_kind_name(EventKind k);
const char* severity_name(Severity s);
const char* alert_state_name(AlertState s);

// What a pipeline emits: alerts (a rule raised or cleared), insights (a score, a feature
// vector), commands. `schema` names the values and lives as long as the runtime.
struct Event {
  EventKind kind = EventKind::kInsight;
  AlertState state = AlertState::kNone;
  Severity severity = Severity::kInfo;
  uint16_t pipeline = 0;  // index into the runtime's pipelines
  uint16_t stage = 0;     // index of the emitting stage in its pipeline
  KeyId key = kNoKey;
  uint8_t nfields = 0;
  int64_t ts_ns = 0;      // event time of the reading that caused it
  int64_t recv_ns = 0;    // receive time of that reading
  uint64_t seq = 0;       // per-runtime sequence number
  std::array<double, kMaxFields> f{};
  const Schema* schema = nullptr;
  const std::string* name = nullptr;           // the emitting stage's name (e.g. the rule's), owned by it
  const std::string* pipeline_name = nullptr;  // owned by the runtime
};

}  // namespace edgeloop
