// source.modbus: polls Modbus TCP devices on a schedule, one thread per device (a slow or
// absent device never delays another). Each poll reads the device's points in as few requests
// as the batching allows, decodes them (type, byte/word order, scale, offset) and pushes ONE
// record per device: key = the device's name, fields = its points (the source's schema is the
// union of all devices' point names; a device's record has NaN for points it lacks or that a
// failed request did not return), ts = the poll's start.
// Failures are never fatal: exceptions, timeouts and bad answers are counted
// (edgeloop_source_errors_total{reason}) and dead-lettered with the reason (the exception's
// name, e.g. illegal_data_address, or timeout / bad_response); a lost connection is retried
// with exponential back-off. Health per device: connecting, connected, degraded (the last poll
// had a failed request), down (not connected).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/modbus/modbus_link.h"
#include "connectors/modbus/modbus_types.h"
#include "core/registry.h"

namespace edgeloop {

struct ModbusDeviceConfig {
  std::string name;  // the record key
  modbus::LinkConfig link;
  int64_t interval_ns = 1'000'000'000;  // 0: poll back to back
  int64_t backoff_min_ns = 100'000'000;
  int64_t backoff_max_ns = 10'000'000'000;
  int max_timeouts = 3;  // consecutive timeouts before the connection is dropped and remade
  modbus::BatchLimits limits;
  std::vector<modbus::Point> points;  // Point::field indexes ModbusSourceConfig::fields
};

struct ModbusSourceConfig {
  std::vector<ModbusDeviceConfig> devices;
  std::vector<std::string> fields;  // the schema: every point name, in order of first use
};

const OptionTable& modbus_source_options();
Result<ModbusSourceConfig> modbus_source_config(const Options& options);

class ModbusSource final : public Source {
 public:
  static Result<std::unique_ptr<ModbusSource>> create(ModbusSourceConfig config);
  static Result<std::unique_ptr<ModbusSource>> from_options(const Options& options);
  ~ModbusSource() override;

  const Schema& schema() const override { return schema_; }
  Status start(SourceContext& ctx) override;
  void stop() override;
  // Connected when every device is, down when every device is, connecting at first, else degraded.
  Health health() const override;

  std::size_t device_count() const { return devices_.size(); }
  Health device_health(std::size_t i) const;
  const std::vector<modbus::Batch>& batches(std::size_t device) const;
  const ModbusSourceConfig& config() const { return config_; }

 private:
  struct Device;
  explicit ModbusSource(ModbusSourceConfig config);
  void run(Device& d);
  // Polls every batch once; false when the connection was lost.
  bool poll(Device& d);
  void set_health(Device& d, Health h);
  void count_error(Device& d, const modbus::IoStatus& s, const modbus::Batch* b);
  // Sleeps until the monotonic time `until_ns`; false when stopping.
  bool sleep_until(int64_t until_ns);

  ModbusSourceConfig config_;
  Schema schema_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::string name_;
  uint16_t index_ = 0;
  RecordOutput* output_ = nullptr;
  DeadLetterSink* dead_letters_ = nullptr;
  Metrics* metrics_ = nullptr;
  std::unique_ptr<Metrics> own_metrics_;
  std::mutex output_mu_;  // device threads take turns at the (single-producer) output
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
};

}  // namespace edgeloop
