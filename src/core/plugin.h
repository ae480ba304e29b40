// The interfaces that plugins implement: sources (connectors), codecs, pipeline stages
// (operators, detectors, rules) and actions. Factories live in the Registry.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/key_table.h"
#include "core/metrics.h"
#include "core/record.h"
#include "core/result.h"

namespace edgeloop {

enum class Health { kConnecting, kConnected, kDegraded, kDown };
const char* health_name(Health h);

// A message that could not be used, with the reason: written to the dead-letter sink.
struct DeadLetter {
  std::string source;   // source (or stage) name
  std::string reason;   // e.g. "malformed JSON at byte 12", "missing field 'v'"
  std::string topic;    // topic or address it came from
  std::string payload;  // the payload, truncated to a bound by the sink
  int64_t recv_ns = 0;
};

// Thread-safe; never blocks for long (a full buffer drops and counts the dead letter, never
// a good message).
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual void write(DeadLetter&& letter) = 0;
};

// Decodes payloads into Records (values and timestamp; the source sets the key).
// Not thread-safe: one instance per source thread.
class Codec {
 public:
  virtual ~Codec() = default;
  // The names of the values the records carry, in order.
  virtual const Schema& schema() const = 0;
  // Appends the records of one payload to `out`. On error returns why (for the dead letter)
  // and appends nothing. recv_ns is the timestamp when the payload carries none.
  virtual Status decode(std::string_view payload, int64_t recv_ns, std::vector<Record>& out) = 0;
};

// Where a source hands its records: the router to the shards. Single producer: call it from
// one thread only (the source's).
class RecordOutput {
 public:
  virtual ~RecordOutput() = default;
  // Routes by r.key. Waits while the shard's ring is full (counted as back-pressure), so a
  // slow pipeline slows the source down and nothing is dropped.
  virtual void push(Record&& r) = 0;
};

struct SourceContext {
  std::string name;
  uint16_t index = 0;
  KeyTable* keys = nullptr;
  RecordOutput* output = nullptr;
  DeadLetterSink* dead_letters = nullptr;
  Metrics* metrics = nullptr;
};

// A connector that produces records: runs its own thread(s), where blocking I/O is allowed.
class Source {
 public:
  virtual ~Source() = default;
  virtual const Schema& schema() const = 0;
  // Starts its threads and returns; connecting happens in the background, with back-off.
  virtual Status start(SourceContext& ctx) = 0;
  // Stops and joins its threads. Idempotent.
  virtual void stop() = 0;
  virtual Health health() const = 0;
};

// What a stage hands its results to, on the shard thread.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void forward(const Record& r) = 0;  // to the next stage of the pipeline
  virtual void emit(Event&& e) = 0;           // an event out of the pipeline
};

struct StageContext {
  std::string pipeline;        // the pipeline's name
  const std::string* pipeline_name = nullptr;  // stable pointer for Event::pipeline_name
  std::string name;            // the stage's name, e.g. "rule" or the rule's `name`
  uint16_t pipeline_index = 0;
  uint16_t stage_index = 0;
  const Schema* input = nullptr;  // the schema of the records this stage receives
  Metrics* metrics = nullptr;
  const KeyTable* keys = nullptr;  // names of KeyIds (e.g. for state snapshots); may be null in tests
  // `runtime.state_dir`: where stages that snapshot their state put it when their own
  // `state_dir` is not set; empty: no default (snapshots only where a stage asks for them).
  std::string state_dir;
};

// One step of a pipeline (window, aggregate, features, detector, rule). One instance per
// shard; it owns the state of the keys of its shard, indexed by Record::slot. Never blocks.
class Stage {
 public:
  virtual ~Stage() = default;
  virtual const Schema& output_schema() const = 0;
  virtual void process(const Record& r, Emitter& out) = 0;
  // Called on the shard thread about every tick interval with the wall clock (time windows
  // close for keys that went quiet).
  virtual void tick(int64_t now_ns, Emitter& out) {
    (void)now_ns;
    (void)out;
  }
  // Called once when the runtime stops, on the thread that ran the stage, after its last
  // record and before it is destroyed (events emitted here are still delivered): write the
  // final state snapshot, emit what must not be lost.
  virtual void flush(int64_t now_ns, Emitter& out) {
    (void)now_ns;
    (void)out;
  }
};

struct ActionContext {
  std::string name;
  KeyTable* keys = nullptr;
  Metrics* metrics = nullptr;
  DeadLetterSink* dead_letters = nullptr;
};

// Does something with events: publishes a command, logs, calls a webhook. on_event runs on
// the dispatch thread and must not block: I/O goes to the action's own thread or library.
class Action {
 public:
  virtual ~Action() = default;
  virtual Status start(ActionContext& ctx) = 0;
  virtual void on_event(const Event& e) = 0;
  virtual void stop() = 0;
  virtual Health health() const { return Health::kConnected; }
};

}  // namespace edgeloop
