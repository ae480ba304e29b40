// action.modbus_write: per event, writes one value to a holding register (typed and ordered
// like the source's points, value from a template, inverse scale/offset) or a coil, then reads
// it back and compares the words (a mismatch is counted, logged and dead-lettered).
// on_event renders and encodes on the dispatch thread and hands the words to the action's own
// writer thread through a bounded queue (full: the new write is dropped and counted); the
// writer connects lazily, reconnects with back-off and retries a write whose connection broke.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "actions/action_metrics.h"
#include "actions/template.h"
#include "actions/write_failures.h"
#include "actions/write_queue.h"
#include "connectors/modbus/modbus_link.h"
#include "connectors/modbus/modbus_types.h"
#include "core/registry.h"

namespace edgeloop {

struct ModbusWriteConfig {
  modbus::LinkConfig link;
  int64_t backoff_min_ns = 100'000'000;
  int64_t backoff_max_ns = 10'000'000'000;
  modbus::Table table = modbus::Table::kHolding;  // holding or coil
  uint16_t address = 0;
  modbus::Type type = modbus::Type::kUint16;
  modbus::WordOrder order;
  double scale = 1;   // raw = (value - offset) / scale, the inverse of a point's decoding
  double offset = 0;
  std::string value;  // template, e.g. "{temp}" or "1"
  bool readback = true;
  std::size_t max_pending = 1000;
};

const OptionTable& modbus_write_options();
Result<ModbusWriteConfig> modbus_write_config(const Options& options);

class ModbusWriteAction final : public Action {
 public:
  static Result<std::unique_ptr<ModbusWriteAction>> create(ModbusWriteConfig config);
  static Result<std::unique_ptr<ModbusWriteAction>> from_options(const Options& options);
  ~ModbusWriteAction() override;

  Status start(ActionContext& ctx) override;
  void on_event(const Event& e) override;
  void stop() override;
  Health health() const override { return health_.load(); }

  // For tests and summaries.
  uint64_t written() const { return am_.published ? am_.published->value() : 0; }
  uint64_t verified() const { return verified_ ? verified_->value() : 0; }
  uint64_t mismatches() const { return mismatches_ ? mismatches_->value() : 0; }
  uint64_t errors() const { return am_.errors ? am_.errors->value() : 0; }
  uint64_t dropped() const { return am_.dropped ? am_.dropped->value() : 0; }

 private:
  struct Job {
    uint16_t words[4] = {};
    int64_t recv_ns = 0;  // the reading's receive time: the latency clock
    double value = 0;
    int attempts = 0;
  };
  explicit ModbusWriteAction(ModbusWriteConfig config);
  void run();
  // Writes (and reads back) one job; false when the connection broke and it should be retried.
  bool perform(Job& job);
  void set_health(Health h);

  ModbusWriteConfig config_;
  EventTemplate value_;
  modbus::Link link_;
  std::string name_;
  KeyTable* keys_ = nullptr;
  std::string value_buf_;  // dispatch thread
  std::atomic<Health> health_{Health::kConnecting};
  std::thread thread_;
  WriteQueue<Job> queue_;
  WriteFailures failures_;
  bool started_ = false;
  Counter* verified_ = nullptr;
  Counter* mismatches_ = nullptr;
  Histogram* written_latency_ = nullptr;
  Histogram* verified_latency_ = nullptr;
  PublishActionMetrics am_;  // the shared action counters (actions/action_metrics.h)
  std::unique_ptr<Metrics> own_metrics_;
};

}  // namespace edgeloop
