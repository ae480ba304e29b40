#include "operators/dsp/features_stage.h"

#include <string>

#include "operators/dsp/stage_util.h"

namespace edgeloop::dsp {

PluginInfo FeaturesStage::info() {
  PluginInfo p;
  p.name = "features";
  p.summary =
      "The feature vector of each sample window: RMS, peak, crest factor, kurtosis, skewness, band energies of the "
      "windowed power spectrum and more (see the `features` option). Output: the input's fields, then the features; "
      "the record's block holds all of them.";
  p.shorthand = "features";
  std::string names;
  for (const auto& [name, meaning] : feature_catalog()) names += "`" + name + "`: " + meaning + "; ";
  names.resize(names.size() - 2);
  p.options = {
      {.name = "features", .type = OptionType::kList,
       .description = "The features, in output order (default: the V1 set `[rms, peak, crest, kurtosis, skewness, "
                      "bands]`). " + names + ". Moments are population moments about the mean, "
                      "accumulated in double."},
      {.name = "bands", .type = OptionType::kInt, .default_value = "8",
       .description = "How many equal bands `bands` splits bins 0 .. n/2-1 into (0 Hz to just below Nyquist).",
       .min = 1, .max = FeatureExtractor::kMaxBands},
      {.name = "window", .type = OptionType::kString, .default_value = "hann",
       .description = "Window applied before the FFT (periodic): `hann`, `flattop` (accurate peak amplitudes) or "
                      "`none`. Band energies are not rescaled for the window.",
       .choices = {"hann", "flattop", "none"}},
  };
  return p;
}

Result<std::unique_ptr<Stage>> FeaturesStage::create(const Options& opts, const StageContext& ctx) {
  if (!ctx.input) return opts.error("features", "the stage has no input schema (a bug in the pipeline builder)");
  FeatureConfig c;
  if (opts.has("features")) c.features = opts.list("features");
  c.bands = static_cast<int>(opts.integer("bands"));
  auto window = parse_window_kind(opts.str("window"));
  if (!window.ok()) return opts.error("window", window.error().message);
  c.window = *window;
  auto names = FeatureExtractor::output_names(c);
  if (!names.ok()) return opts.error("features", names.error().message);
  std::vector<std::string> all = ctx.input->names();
  for (const std::string& n : *names) {
    if (ctx.input->index_of(n) >= 0)
      return opts.error("features", "feature '" + n + "' has the name of an input field");
    all.push_back(n);
  }
  const std::size_t in = ctx.input->size();
  return std::unique_ptr<Stage>(std::make_unique<FeaturesStage>(std::move(c), Schema(std::move(all)), in, ctx));
}

FeaturesStage::FeaturesStage(FeatureConfig config, Schema output, std::size_t input_fields, const StageContext& ctx)
    : config_(std::move(config)), schema_(std::move(output)), input_fields_(input_fields) {
  nfeatures_ = schema_.size() - input_fields_;
  values_.assign(schema_.size(), 0.0);
  no_block_ = dsp_drop_counter(ctx, "no_block");
  bad_block_ = dsp_drop_counter(ctx, "bad_block");
}

FeatureExtractor* FeaturesStage::extractor_for(std::size_t n) {
  for (auto& [size, fx] : extractors_)
    if (size == n) return fx.get();
  auto fx = FeatureExtractor::create(config_, n);
  // An unusable size (not a power of two with spectral features) is remembered as such.
  extractors_.emplace_back(n, fx.ok() ? std::move(fx).value() : nullptr);
  return extractors_.back().second.get();
}

void FeaturesStage::process(const Record& r, Emitter& out) {
  const SampleBlock* b = r.block.get();
  if (!b || b->samples.empty()) {
    bump(no_block_);
    return;
  }
  FeatureExtractor* fx = extractor_for(b->samples.size());
  if (!fx) {
    bump(bad_block_);
    return;
  }
  const std::size_t in = r.nfields < input_fields_ ? r.nfields : input_fields_;
  for (std::size_t i = 0; i < input_fields_; ++i) values_[i] = i < in ? r.f[i] : 0.0;
  fx->compute(b->samples.data(), b->sample_rate_hz, values_.data() + input_fields_);

  Record o = r;
  const std::size_t total = values_.size();
  o.nfields = static_cast<uint8_t>(total < kMaxFields ? total : kMaxFields);
  for (std::size_t i = 0; i < o.nfields; ++i) o.f[i] = values_[i];
  std::shared_ptr<SampleBlock> vec = pool_.acquire(total, 0.0);
  for (std::size_t i = 0; i < total; ++i) vec->samples[i] = static_cast<float>(values_[i]);
  o.block = std::move(vec);
  out.forward(o);
}

}  // namespace edgeloop::dsp
