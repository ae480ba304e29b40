#include "connectors/simulator/plant_model.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace edgeloop {

namespace {

// The plant's physics, in one place. Values are typical of an 11 kW, 4-pole, 400 V motor
// (driving a centrifugal pump or a fan); time constants are compressed so a demo shows a
// fault develop within a minute or two.
constexpr double kLoadSwing = 0.04;           // slow periodic load change (fraction of rated)
constexpr double kLoadPeriodS = 600;          // its period
constexpr double kLoadWanderSd = 0.04;        // random load wander (stationary std dev)
constexpr double kLoadWanderTauS = 30;        // its correlation time
constexpr double kLoadHeatingC = 30;          // bearing rise over ambient at rated load
constexpr double kThermalTauS = 60;           // bearing housing time constant (real: ~20 min)
constexpr double kTempNoiseC = 0.05;
constexpr double kVibPerLoad = 0.9;           // mm/s per unit load
constexpr double kVibNoise = 0.08;            // mm/s
constexpr double kNoLoadCurrentA = 7.5;       // magnetising current
constexpr double kLoadCurrentA = 13.5;        // added at rated load (21 A full load)
constexpr double kCurrentNoiseA = 0.1;
constexpr double kSyncSpeedRpm = 1500;        // 4 poles at 50 Hz
constexpr double kSlipRpm = 28;               // slip at rated load
constexpr double kSpeedNoiseRpm = 0.5;
constexpr double kShutoffBar = 1.0;           // pump pressure: a + b * load
constexpr double kPressurePerLoadBar = 4.0;
constexpr double kPressureNoiseBar = 0.03;
// Fault signatures at full severity.
constexpr double kBearingVib = 6.0;           // mm/s: into ISO 10816 zone D
constexpr double kBearingImpactVib = 0.3;     // impacting: spiky on top
constexpr double kBearingHeatingC = 12;       // friction heat, follows the vibration (level^2)
constexpr double kBearingCurrentA = 0.6;
constexpr double kOverheatC = 95;             // the temperature target moves toward this
constexpr double kOverheatCurrent = 0.25;     // relative rise (overload, winding trouble)
constexpr double kOverheatSlipRpm = 5;
constexpr double kImbalanceVib = 4.0;         // mm/s at 1x, steady
constexpr double kImbalanceCurrentA = 0.2;
constexpr double kCavitationVib = 2.5;        // broadband, bursty
constexpr double kCavitationBurstVib = 1.0;
constexpr double kCavitationDropBar = 1.5;
constexpr double kCavitationFlutterBar = 0.35;
constexpr double kCavitationCurrentA = 1.0;   // less flow, less power
constexpr double kCavitationSpeedRpm = 1.5;

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

const char* const kFaultNames[] = {"bearing_wear", "overheating", "cavitation", "imbalance"};
const char* const kDefectNames[] = {"none", "outer", "inner", "ball"};

}  // namespace

const char* asset_kind_name(AssetKind k) { return k == AssetKind::kPump ? "pump" : "motor"; }

const char* fault_type_name(FaultType t) { return kFaultNames[static_cast<int>(t)]; }

bool parse_fault_type(std::string_view text, FaultType& out) {
  for (int i = 0; i < 4; ++i) {
    if (text == kFaultNames[i]) {
      out = static_cast<FaultType>(i);
      return true;
    }
  }
  return false;
}

const std::vector<std::string>& fault_type_names() {
  static const std::vector<std::string> names(std::begin(kFaultNames), std::end(kFaultNames));
  return names;
}

const char* bearing_defect_name(BearingDefect d) { return kDefectNames[static_cast<int>(d)]; }

bool parse_bearing_defect(std::string_view text, BearingDefect& out) {
  for (int i = 0; i < 4; ++i) {
    if (text == kDefectNames[i]) {
      out = static_cast<BearingDefect>(i);
      return true;
    }
  }
  return false;
}

const std::vector<std::string>& bearing_defect_names() {
  static const std::vector<std::string> names(std::begin(kDefectNames), std::end(kDefectNames));
  return names;
}

double FaultSpec::level_at(int64_t t_ns) const {
  if (t_ns < start_ns) return 0;
  if (ramp_ns <= 0) return severity;
  const double frac = static_cast<double>(t_ns - start_ns) / static_cast<double>(ramp_ns);
  return severity * std::min(1.0, frac);
}

SimRng::SimRng(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

uint64_t SimRng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double SimRng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double SimRng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double a = 2.0 * std::numbers::pi * u2;
  spare_ = r * std::sin(a);
  has_spare_ = true;
  return r * std::cos(a);
}

SimAsset::SimAsset(std::string name, AssetKind kind, uint64_t seed)
    : name_(std::move(name)), kind_(kind), rng_(seed) {
  ambient_c_ = 25.0 + (rng_.uniform() - 0.5) * 3.0;
  vib_base_ = 1.1 + rng_.uniform() * 0.3;
  load_nominal_ = (kind_ == AssetKind::kPump ? 0.75 : 0.70) + (rng_.uniform() - 0.5) * 0.06;
  load_phase_ = rng_.uniform() * 2.0 * std::numbers::pi;
  load_wander_ = kLoadWanderSd * rng_.normal();
  compute(0);  // the first call sets the temperature to its steady state
}

double SimAsset::fault_level(FaultType type) const {
  double level = 0;
  for (const auto& f : faults_)
    if (f.type == type) level += f.level_at(t_ns_);
  return std::min(level, 1.0);
}

const AssetValues& SimAsset::step(int64_t dt_ns) {
  dt_ns = std::max<int64_t>(dt_ns, 0);
  t_ns_ += dt_ns;
  const double dt_s = static_cast<double>(dt_ns) * 1e-9;
  const double a = std::exp(-dt_s / kLoadWanderTauS);
  load_wander_ = load_wander_ * a + kLoadWanderSd * std::sqrt(1.0 - a * a) * rng_.normal();
  compute(dt_s);
  return values_;
}

void SimAsset::compute(double dt_s) {
  // A fixed number of draws per step, whatever the faults (see the class comment).
  double n[7];
  for (double& x : n) x = rng_.normal();

  const double t_s = static_cast<double>(t_ns_) * 1e-9;
  load_ = load_nominal_ + kLoadSwing * std::sin(2.0 * std::numbers::pi * t_s / kLoadPeriodS + load_phase_) +
          load_wander_;
  load_ = std::clamp(load_, 0.3, 1.0);

  const double bw = fault_level(FaultType::kBearingWear);
  const double oh = fault_level(FaultType::kOverheating);
  const double cav = kind_ == AssetKind::kPump ? fault_level(FaultType::kCavitation) : 0.0;
  const double imb = fault_level(FaultType::kImbalance);

  // Temperature: first order toward ambient + load heating (+ friction); overheating pulls
  // the target toward kOverheatC. Exact discretisation: stable for any step.
  double target = ambient_c_ + kLoadHeatingC * load_ + kBearingHeatingC * bw * bw;
  target += oh * (kOverheatC - target);
  if (!thermal_started_) {
    temp_c_ = target;
    thermal_started_ = true;
  } else {
    temp_c_ += (target - temp_c_) * (1.0 - std::exp(-dt_s / kThermalTauS));
  }
  values_.temperature = temp_c_ + kTempNoiseC * n[0];

  // Vibration: healthy ~1.5-2.5 mm/s (ISO 10816 zone A/B); faults add their signatures.
  double vib = vib_base_ + kVibPerLoad * load_ + kVibNoise * n[1];
  vib += kBearingVib * bw * bw + kBearingImpactVib * bw * std::abs(n[2]);
  vib += kImbalanceVib * imb;
  vib += kCavitationVib * cav + kCavitationBurstVib * cav * std::abs(n[2]);
  values_.vibration = std::max(vib, 0.05);

  double current = kNoLoadCurrentA + kLoadCurrentA * load_ + kCurrentNoiseA * n[3];
  current += kBearingCurrentA * bw + kImbalanceCurrentA * imb - kCavitationCurrentA * cav;
  values_.current = current * (1.0 + kOverheatCurrent * oh);

  values_.speed = kSyncSpeedRpm - kSlipRpm * load_ - kOverheatSlipRpm * oh + kSpeedNoiseRpm * n[4] +
                  kCavitationSpeedRpm * cav * n[5];

  if (kind_ == AssetKind::kPump) {
    const double p = kShutoffBar + kPressurePerLoadBar * load_ + kPressureNoiseBar * n[6] -
                     kCavitationDropBar * cav + kCavitationFlutterBar * cav * n[5];
    values_.pressure = std::max(p, 0.0);
  } else {
    values_.pressure = 0;
  }
}

std::string PlantModel::asset_name(AssetKind kind, int number) {
  return std::string("line1/") + asset_kind_name(kind) + "-" + std::to_string(number);
}

std::vector<std::string> PlantModel::asset_names(int pumps, int motors) {
  std::vector<std::string> out;
  for (int i = 1; i <= pumps; ++i) out.push_back(asset_name(AssetKind::kPump, i));
  for (int i = 1; i <= motors; ++i) out.push_back(asset_name(AssetKind::kMotor, i));
  return out;
}

std::string PlantModel::check_fault(const FaultSpec& fault, int pumps, int motors) {
  const auto names = asset_names(pumps, motors);
  const auto it = std::find(names.begin(), names.end(), fault.asset);
  if (it == names.end()) {
    std::string all;
    for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
    return "unknown asset '" + fault.asset + "' (assets: " + (all.empty() ? "none" : all) + ")";
  }
  const bool is_pump = (it - names.begin()) < pumps;
  if (fault.type == FaultType::kCavitation && !is_pump) {
    return "cavitation needs a pump; '" + fault.asset + "' is a motor";
  }
  if (!(fault.severity >= 0 && fault.severity <= 1)) return "severity must be between 0 and 1";
  if (fault.start_ns < 0 || fault.ramp_ns < 0) return "start and ramp cannot be negative";
  return "";
}

Result<PlantModel> PlantModel::make(const PlantConfig& config) {
  if (config.pumps < 0 || config.motors < 0 || config.pumps + config.motors == 0) {
    return make_error(Errc::kInvalidArgument, "a plant needs at least one pump or motor");
  }
  for (std::size_t i = 0; i < config.faults.size(); ++i) {
    const std::string why = check_fault(config.faults[i], config.pumps, config.motors);
    if (!why.empty()) return make_error(Errc::kInvalidArgument, "faults[" + std::to_string(i) + "]: " + why);
  }
  PlantModel model;
  uint64_t seed_state = config.seed;
  int index = 0;
  for (const auto& name : asset_names(config.pumps, config.motors)) {
    const AssetKind kind = index < config.pumps ? AssetKind::kPump : AssetKind::kMotor;
    ++index;
    model.assets_.emplace_back(name, kind, splitmix64(seed_state));
  }
  // Faults are added after construction: the initial state is the healthy steady state
  // unless a fault starts at 0, which then shows from the first step.
  for (const auto& f : config.faults) {
    for (auto& a : model.assets_)
      if (a.name() == f.asset) a.add_fault(f);
  }
  return model;
}

const SimAsset* PlantModel::find(std::string_view name) const {
  for (const auto& a : assets_)
    if (a.name() == name) return &a;
  return nullptr;
}

void PlantModel::step(int64_t dt_ns) {
  for (auto& a : assets_) a.step(dt_ns);
}

}  // namespace edgeloop
