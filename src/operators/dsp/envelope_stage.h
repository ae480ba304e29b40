// `op.envelope`: envelope analysis of each sample window (envelope.h) and the energy of the
// envelope spectrum at the bearing's defect frequencies (bearing.h). Output fields: the
// input's fields, then bpfo, bpfi, bsf, ftf: per defect, Σ over harmonics of the largest
// envelope-spectrum bin within the tolerance band, over the spectrum's median (x harmonics)
// or its total. The largest names the defect. The samples block passes through unchanged, so
// op.features can follow.
#pragma once

#include <memory>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/registry.h"
#include "operators/dsp/bearing.h"
#include "operators/dsp/envelope.h"

namespace edgeloop::dsp {

struct EnvelopeStageConfig {
  double band_low_hz = 0, band_high_hz = 0;
  BearingGeometry bearing;
  double shaft_hz = 0;      // > 0: fixed speed
  int shaft_field = -1;     // else: the input field that carries it
  bool shaft_in_rpm = true; // unit of that field
  int harmonics = 3;
  double tolerance = 0.02;
  bool normalize_total = false;  // false: over the median
  int bsf_multiple = 1;          // the bsf field sums harmonics of this multiple of BSF (2: 2·BSF)
};

class EnvelopeStage final : public Stage {
 public:
  static constexpr const char* kFields[4] = {"bpfo", "bpfi", "bsf", "ftf"};
  static PluginInfo info();
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx);

  EnvelopeStage(EnvelopeStageConfig config, Schema output, std::size_t input_fields, const StageContext& ctx);

  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override;

  // The analyzer of the last window processed (for tests and plots); null before the first.
  const EnvelopeAnalyzer* last_analyzer() const { return last_; }

 private:
  EnvelopeAnalyzer* analyzer_for(std::size_t n, double fs);

  EnvelopeStageConfig config_;
  Schema schema_;
  std::size_t input_fields_;
  struct Cached {
    std::size_t n;
    double fs;
    std::unique_ptr<EnvelopeAnalyzer> analyzer;  // null: unusable (size, or band past Nyquist)
  };
  std::vector<Cached> analyzers_;
  const EnvelopeAnalyzer* last_ = nullptr;
  Counter* no_block_ = nullptr;
  Counter* bad_block_ = nullptr;
  Counter* no_speed_ = nullptr;
};

}  // namespace edgeloop::dsp
