// `op.features`: the feature vector of each sample window (from op.samples): time-domain
// statistics and spectral band energies (features.h). Output fields: the input's fields, then
// the features in the configured order; the record's block carries all of them as a feature
// vector (sample_rate_hz 0), and its first kMaxFields (16) are also its fields.
#pragma once

#include <memory>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/registry.h"
#include "operators/dsp/block_pool.h"
#include "operators/dsp/features.h"

namespace edgeloop::dsp {

class FeaturesStage final : public Stage {
 public:
  static PluginInfo info();
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx);

  FeaturesStage(FeatureConfig config, Schema output, std::size_t input_fields, const StageContext& ctx);

  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override;

 private:
  FeatureExtractor* extractor_for(std::size_t n);

  FeatureConfig config_;
  Schema schema_;
  std::size_t input_fields_;
  std::size_t nfeatures_;
  // One extractor per window size seen (normally one); null where the size is unusable.
  std::vector<std::pair<std::size_t, std::unique_ptr<FeatureExtractor>>> extractors_;
  std::vector<double> values_;
  BlockPool pool_{16};
  Counter* no_block_ = nullptr;
  Counter* bad_block_ = nullptr;
};

}  // namespace edgeloop::dsp
