#include "operators/dsp/builtins.h"

#include "operators/dsp/envelope_stage.h"
#include "operators/dsp/features_stage.h"
#include "operators/dsp/samples_stage.h"

namespace edgeloop {

void register_dsp(Registry& registry) {
  registry.add_stage(dsp::SamplesStage::info(), &dsp::SamplesStage::create);
  registry.add_stage(dsp::FeaturesStage::info(), &dsp::FeaturesStage::create);
  registry.add_stage(dsp::EnvelopeStage::info(), &dsp::EnvelopeStage::create);
}

}  // namespace edgeloop
