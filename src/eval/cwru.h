// The CWRU bearing data (../shared/data/cwru/README.md): loading the drive-end fault
// recordings (12k_DE/<class>_<load>.mat) and the healthy baseline (normal/*.mat, recorded at
// 48 kHz and brought to 12 kHz here), cutting signals into sample blocks for the replay, and
// naming a recording's defect from the envelope energies of its windows.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "connectors/simulator/plant_model.h"  // BearingDefect, shared with the simulator and bearing-sim
#include "core/record.h"
#include "core/result.h"

namespace edgeloop::eval {

const char* defect_name(BearingDefect d);   // "outer race", "inner race", "ball", "none"
const char* defect_field(BearingDefect d);  // op.envelope's field: "bpfo", "bpfi", "bsf" ("" for none)

inline constexpr double kCwruRateHz = 12000;        // every file in 12k_DE/
inline constexpr double kCwruNormalRateHz = 48000;  // the normal baseline (record 97), per the README

struct CwruRecording {
  std::string name;         // the file's stem: "IR007_1", "OR014@6_0"
  std::string fault_class;  // "IR007", "B014", "OR021@6"
  BearingDefect defect = BearingDefect::kNone;
  int size_mils = 0;  // fault diameter: 7, 14, 21 (thousandths of an inch)
  int load_hp = 0;    // motor load 0 .. 3
  int record = 0;     // CWRU's record number (the nnn of X<nnn>_DE_time)
  double rpm = 0;     // X<nnn>RPM, or the nominal speed of the load when the file has none
  bool rpm_from_file = false;
  double sample_rate_hz = kCwruRateHz;
  std::vector<double> samples;  // drive-end accelerometer, g
};

struct CwruBaseline {
  std::string name;  // "normal/Normal_0_first70pct.mat"
  int record = 0;
  double rpm = 0;
  double source_rate_hz = kCwruNormalRateHz;
  std::size_t source_samples = 0;
  int decimation = 1;  // source rate / kCwruRateHz
  double sample_rate_hz = kCwruRateHz;
  std::vector<double> samples;  // drive end, decimated to sample_rate_hz
};

struct CwruData {
  std::vector<CwruRecording> recordings;  // sorted by name
  CwruBaseline baseline;
};

// "IR007_1", "B014_3", "OR021@6_2" (also "OR007@3_0", "OR007@12_1"): class, defect, size,
// load. kInvalidArgument for other names.
Result<CwruRecording> parse_cwru_name(const std::string& stem);
// The nominal shaft speed of a load (1797, 1772, 1750, 1730 rpm).
double cwru_nominal_rpm(int load_hp);

// Reads DIR/12k_DE/*.mat (those whose name contains `only`; every one when empty) and the
// first DIR/normal/*.mat (always), decimating the baseline to 12 kHz with a linear-phase
// anti-alias FIR (dsp::Decimator). A file without a drive-end channel is an error.
Result<CwruData> load_cwru(const std::string& dir, const std::string& only = {});

// Cuts x[from, to) into whole blocks of `block` samples (a partial last block is left out),
// as floats.
std::vector<std::shared_ptr<const SampleBlock>> make_blocks(const std::vector<double>& x, std::size_t from,
                                                            std::size_t to, std::size_t block, double sample_rate_hz);

// The defect a recording's envelope spectrum names: per defect the median of its energy over
// the windows (rows where all three are numbers, within [from, to)); the largest median names
// it. `lead` = largest / second largest (how clearly).
struct DefectNaming {
  double bpfo = 0, bpfi = 0, bsf = 0;  // medians
  std::size_t windows = 0;
  BearingDefect named = BearingDefect::kNone;  // kNone when no window
  double lead = 0;
};
DefectNaming name_defect(const std::vector<double>& bpfo, const std::vector<double>& bpfi,
                         const std::vector<double>& bsf, std::size_t from, std::size_t to);

}  // namespace edgeloop::eval
