// `source.simulator`: drives a PlantModel on its own thread and pushes one Record per asset
// per interval, so `edgeloop demo` shows the whole loop with no broker and no hardware.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "connectors/simulator/bearing_vibration.h"
#include "connectors/simulator/plant_model.h"
#include "core/options.h"
#include "core/plugin.h"

namespace edgeloop {

struct SimulatorConfig {
  PlantConfig plant;
  int64_t interval_ns = 100'000'000;
  double speed = 1;                    // sim seconds per wall second; 0: as fast as possible
  int64_t duration_ns = 0;             // 0: forever
  std::optional<int64_t> start_time_ns;  // Unix ns of sim time 0; unset: the wall clock at start()
  // Raw vibration (`vibration: {...}`): each record also carries a SampleBlock of acceleration
  // (g) from a BearingVibration per asset. Unset: scalar records only (the default).
  std::optional<VibrationSpec> vibration;
  int vibration_block = 0;             // samples per record; 0: every sample of the interval (contiguous)

  static const OptionTable& table();
  // Validates the options, including each entry of `faults`, with errors naming its place.
  static Result<SimulatorConfig> from(const Options& options);
};

// temperature (deg C), vibration (mm/s RMS), current (A), speed (rpm), pressure (bar).
const Schema& simulator_schema();

class SimulatorSource final : public Source {
 public:
  explicit SimulatorSource(SimulatorConfig config);
  ~SimulatorSource() override;
  SimulatorSource(const SimulatorSource&) = delete;
  SimulatorSource& operator=(const SimulatorSource&) = delete;

  const Schema& schema() const override { return simulator_schema(); }
  // Interns the assets' keys ("line1/pump-1", topic "sim/line1/pump-1") and starts the thread.
  Status start(SourceContext& ctx) override;
  void stop() override;
  // connecting before start, connected while started (also once `duration` is reached),
  // down after stop.
  Health health() const override { return health_.load(std::memory_order_relaxed); }

  // True once sim time reached `duration` and the last record was pushed (never when 0).
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  uint64_t produced() const { return produced_.load(std::memory_order_relaxed); }

 private:
  struct RunState {
    PlantModel model;
    std::vector<BearingVibration> vibration;  // by asset index, when configured
    std::vector<KeyId> keys;  // by asset index
    RecordOutput* output = nullptr;
    Counter* records = nullptr;
    uint16_t source = 0;
    int64_t t0_ns = 0;
  };
  void run(RunState state);
  // The vibration block of asset i for the interval that ends at sim time t_ns.
  std::shared_ptr<const SampleBlock> vibration_block(RunState& state, std::size_t i, int64_t t_ns) const;
  // Waits until `deadline` or stop(); true when stopping.
  bool wait_until(std::chrono::steady_clock::time_point deadline);

  const SimulatorConfig config_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_requested_ = false;            // guarded by mu_
  std::atomic<bool> stopping_{false};      // the same, read without the lock at speed 0
  std::atomic<Health> health_{Health::kConnecting};
  std::atomic<bool> finished_{false};
  std::atomic<uint64_t> produced_{0};
  std::thread thread_;
};

}  // namespace edgeloop
