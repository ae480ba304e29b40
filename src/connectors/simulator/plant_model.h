// A small simulated plant (pumps and motors) for `edgeloop demo`, tests and eval: a pure,
// deterministic model with no thread and no clock. SimulatorSource drives it in sim time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgeloop {

enum class AssetKind : uint8_t { kPump, kMotor };
enum class FaultType : uint8_t { kBearingWear, kOverheating, kCavitation, kImbalance };
// Where a bearing_wear fault damages the bearing (what its vibration shows: bearing_vibration.h).
enum class BearingDefect : uint8_t { kNone, kOuterRace, kInnerRace, kBall };

const char* asset_kind_name(AssetKind k);
const char* fault_type_name(FaultType t);
// "bearing_wear" -> kBearingWear; false when unknown.
bool parse_fault_type(std::string_view text, FaultType& out);
// The names accepted by parse_fault_type, in order.
const std::vector<std::string>& fault_type_names();
// "none", "outer", "inner", "ball".
const char* bearing_defect_name(BearingDefect d);
bool parse_bearing_defect(std::string_view text, BearingDefect& out);
const std::vector<std::string>& bearing_defect_names();

// A fault that develops on one asset: absent before `start_ns` (sim time), then rising
// linearly to `severity` over `ramp_ns` (0: at once).
struct FaultSpec {
  std::string asset;  // e.g. "line1/pump-1"
  FaultType type = FaultType::kBearingWear;
  int64_t start_ns = 0;
  int64_t ramp_ns = 0;
  double severity = 1.0;  // 0..1
  BearingDefect defect = BearingDefect::kOuterRace;  // bearing_wear: the damaged part (raw vibration)

  double level_at(int64_t t_ns) const;
};

// One sample of an asset; the order of the fields is the source's Schema.
struct AssetValues {
  double temperature = 0;  // deg C, bearing housing
  double vibration = 0;    // mm/s RMS velocity
  double current = 0;      // A
  double speed = 0;        // rpm
  double pressure = 0;     // bar (discharge; 0 for motors)
};

// Deterministic noise: xoshiro256** and Box-Muller, so a seed gives the same sequence on
// every platform (std::normal_distribution is implementation-defined).
class SimRng {
 public:
  explicit SimRng(uint64_t seed);
  uint64_t next();
  double uniform();  // [0, 1)
  double normal();   // N(0, 1)

 private:
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

// One pump or motor. The load wanders slowly; the signals follow it, plus the faults.
// Every step draws the same random numbers whatever the faults, so a faulted asset and a
// healthy one with the same seed differ exactly by the fault's effect.
class SimAsset {
 public:
  SimAsset(std::string name, AssetKind kind, uint64_t seed);

  const std::string& name() const { return name_; }
  AssetKind kind() const { return kind_; }
  void add_fault(const FaultSpec& fault) { faults_.push_back(fault); }
  const std::vector<FaultSpec>& faults() const { return faults_; }

  // Advances sim time by dt_ns (>= 0) and returns the values at the new time.
  const AssetValues& step(int64_t dt_ns);
  const AssetValues& values() const { return values_; }
  int64_t time_ns() const { return t_ns_; }
  double load() const { return load_; }
  // Sum of this asset's faults of `type` at the current time, capped at 1.
  double fault_level(FaultType type) const;

  // Raw vibration (Record::block) comes from a BearingVibration per asset (bearing_vibration.h),
  // driven by this asset's speed and fault levels, with its own random streams: the scalar
  // fields are identical with and without it.

 private:
  void compute(double dt_s);

  std::string name_;
  AssetKind kind_;
  SimRng rng_;
  std::vector<FaultSpec> faults_;
  int64_t t_ns_ = 0;
  // Per-asset constants (drawn from the seed): small differences between machines.
  double ambient_c_ = 25;
  double vib_base_ = 1.1;
  double load_nominal_ = 0.7;
  double load_phase_ = 0;
  // State.
  double load_wander_ = 0;  // Ornstein-Uhlenbeck deviation of the load
  double load_ = 0.7;
  double temp_c_ = 0;  // bearing housing temperature, first order toward its target
  bool thermal_started_ = false;
  AssetValues values_;
};

struct PlantConfig {
  int pumps = 2;
  int motors = 2;
  uint64_t seed = 42;
  std::vector<FaultSpec> faults;
};

// The assets of a plant, in order: line1/pump-1..N, then line1/motor-1..M.
class PlantModel {
 public:
  // Fails when a fault names no asset of the plant or does not fit it (see check_fault).
  static Result<PlantModel> make(const PlantConfig& config);

  static std::string asset_name(AssetKind kind, int number);  // 1-based number
  static std::vector<std::string> asset_names(int pumps, int motors);
  // Why `fault` cannot apply to a plant of this size, or "" when it can.
  static std::string check_fault(const FaultSpec& fault, int pumps, int motors);

  std::vector<SimAsset>& assets() { return assets_; }
  const std::vector<SimAsset>& assets() const { return assets_; }
  const SimAsset* find(std::string_view name) const;
  void step(int64_t dt_ns);
  int64_t time_ns() const { return assets_.empty() ? 0 : assets_.front().time_ns(); }

 private:
  std::vector<SimAsset> assets_;
};

}  // namespace edgeloop
