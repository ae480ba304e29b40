#include "operators/dsp/envelope_stage.h"

#include <cmath>
#include <string>

#include "operators/dsp/stage_util.h"

namespace edgeloop::dsp {

PluginInfo EnvelopeStage::info() {
  PluginInfo p;
  p.name = "envelope";
  p.summary =
      "Bearing diagnostics per sample window: band-pass around a structural resonance, Hilbert envelope, envelope "
      "spectrum, and its energy at the defect frequencies BPFO, BPFI, BSF and FTF computed from the bearing's "
      "geometry and the shaft speed (fields bpfo, bpfi, bsf, ftf after the input's; the largest names the defect).";
  p.options = {
      {.name = "band", .type = OptionType::kList,
       .description = "The resonance band to demodulate, `[low, high]` in Hz (0 < low < high < fs/2): where the "
                      "impacts ring, typically a few kHz, clear of the shaft harmonics.",
       .required = true},
      {.name = "n_balls", .type = OptionType::kInt, .description = "Rolling elements in the bearing.", .required = true,
       .min = 1, .max = 1000},
      {.name = "ball_diameter", .type = OptionType::kNumber,
       .description = "Ball (roller) diameter d, in any length unit (the same as pitch_diameter).", .required = true,
       .min = 0},
      {.name = "pitch_diameter", .type = OptionType::kNumber,
       .description = "Pitch diameter D (through the ball centres), in the unit of ball_diameter.", .required = true,
       .min = 0},
      {.name = "contact_angle", .type = OptionType::kNumber, .default_value = "0",
       .description = "Contact angle φ in degrees (0 for deep-groove ball bearings).", .min = -89.999, .max = 89.999},
      {.name = "shaft_hz", .type = OptionType::kNumber, .default_value = "0",
       .description = "Shaft speed in Hz (revolutions per second), when fixed. Give this or `shaft_field`.", .min = 0},
      {.name = "shaft_field", .type = OptionType::kString, .default_value = "",
       .description = "The input field that carries the shaft speed per window (e.g. `rpm` from the codec's "
                      "`values`); windows where it is not a positive number are dropped (reason `no_speed`)."},
      {.name = "shaft_field_unit", .type = OptionType::kString, .default_value = "rpm",
       .description = "Unit of `shaft_field`: `rpm` or `hz`.", .choices = {"rpm", "hz"}},
      {.name = "harmonics", .type = OptionType::kInt, .default_value = "3",
       .description = "Harmonics of each defect frequency summed (1 = the fundamental only).", .min = 1, .max = 20},
      {.name = "tolerance", .type = OptionType::kNumber, .default_value = "0.02",
       .description = "Half-width of the search band around harmonic h·f, relative (0.02 = ±2%, for slip and speed "
                      "error); never narrower than the nearest bin and its neighbours.",
       .min = 0, .max = 0.25},
      {.name = "normalize", .type = OptionType::kString, .default_value = "median",
       .description = "Divide each defect's energy by `median` (the envelope spectrum's median bin x harmonics: "
                      "about 1 when nothing stands out) or `total` (the spectrum's sum: a share).",
       .choices = {"median", "total"}},
      {.name = "bsf_multiple", .type = OptionType::kInt, .default_value = "1",
       .description = "The `bsf` field's fundamental as a multiple of the ball spin frequency BSF: 1 sums the "
                      "harmonics of BSF; 2 those of 2·BSF, the rate at which a ball spall strikes the two races "
                      "(the line bearing tables such as CWRU's list as BSF). With 2 the odd harmonics of BSF are "
                      "left out: a ball fault barely excites them, and on some bearings they fall on inner-race "
                      "sidebands (for the 6205: BSF within 2.5% of BPFI - 3·f_r).",
       .min = 1, .max = 2},
  };
  return p;
}

Result<std::unique_ptr<Stage>> EnvelopeStage::create(const Options& opts, const StageContext& ctx) {
  if (!ctx.input) return opts.error("band", "the stage has no input schema (a bug in the pipeline builder)");
  EnvelopeStageConfig c;
  const std::vector<std::string> band = opts.list("band");
  if (band.size() != 2) return opts.error("band", "expected [low, high] in Hz");
  auto lo = parse_number(band[0]);
  auto hi = parse_number(band[1]);
  if (!lo.ok() || !hi.ok()) return opts.error("band", "expected two numbers [low, high] in Hz");
  if (!(*lo > 0) || !(*hi > *lo)) return opts.error("band", "needs 0 < low < high");
  c.band_low_hz = *lo;
  c.band_high_hz = *hi;
  c.bearing.n_balls = static_cast<int>(opts.integer("n_balls"));
  c.bearing.ball_diameter = opts.number("ball_diameter");
  c.bearing.pitch_diameter = opts.number("pitch_diameter");
  c.bearing.contact_angle_deg = opts.number("contact_angle");
  Status geometry = validate(c.bearing);
  if (!geometry.ok()) return opts.error("ball_diameter", geometry.error().message);
  c.shaft_hz = opts.number("shaft_hz");
  const std::string field = opts.str("shaft_field");
  if ((c.shaft_hz > 0) == !field.empty())
    return opts.error("shaft_hz", "give the shaft speed either as shaft_hz or as shaft_field (exactly one)");
  if (!field.empty()) {
    c.shaft_field = ctx.input->index_of(field);
    if (c.shaft_field < 0 || static_cast<std::size_t>(c.shaft_field) >= kMaxFields)
      return opts.error("shaft_field", "no input field '" + field + "' among the first " + std::to_string(kMaxFields));
  }
  c.shaft_in_rpm = opts.str("shaft_field_unit") == "rpm";
  c.harmonics = static_cast<int>(opts.integer("harmonics"));
  c.tolerance = opts.number("tolerance");
  c.normalize_total = opts.str("normalize") == "total";
  c.bsf_multiple = static_cast<int>(opts.integer("bsf_multiple"));

  std::vector<std::string> names = ctx.input->names();
  if (names.size() + 4 > kMaxFields)
    return opts.error("band", "the input has " + std::to_string(names.size()) + " fields; with bpfo, bpfi, bsf and ftf "
                                  "that is more than " + std::to_string(kMaxFields));
  for (const char* f : kFields) {
    if (ctx.input->index_of(f) >= 0) return opts.error("band", std::string("an input field is already named ") + f);
    names.emplace_back(f);
  }
  const std::size_t in = ctx.input->size();
  return std::unique_ptr<Stage>(std::make_unique<EnvelopeStage>(c, Schema(std::move(names)), in, ctx));
}

EnvelopeStage::EnvelopeStage(EnvelopeStageConfig config, Schema output, std::size_t input_fields,
                             const StageContext& ctx)
    : config_(config), schema_(std::move(output)), input_fields_(input_fields) {
  no_block_ = dsp_drop_counter(ctx, "no_block");
  bad_block_ = dsp_drop_counter(ctx, "bad_block");
  no_speed_ = dsp_drop_counter(ctx, "no_speed");
}

EnvelopeAnalyzer* EnvelopeStage::analyzer_for(std::size_t n, double fs) {
  for (auto& c : analyzers_)
    if (c.n == n && c.fs == fs) return c.analyzer.get();
  auto a = EnvelopeAnalyzer::create(n, fs, config_.band_low_hz, config_.band_high_hz);
  analyzers_.push_back({n, fs, a.ok() ? std::move(a).value() : nullptr});
  return analyzers_.back().analyzer.get();
}

void EnvelopeStage::process(const Record& r, Emitter& out) {
  const SampleBlock* b = r.block.get();
  if (!b || b->samples.empty() || !(b->sample_rate_hz > 0)) {
    bump(no_block_);
    return;
  }
  double shaft = config_.shaft_hz;
  if (config_.shaft_field >= 0) {
    const auto i = static_cast<std::size_t>(config_.shaft_field);
    shaft = i < r.nfields ? r.f[i] : 0.0;
    if (config_.shaft_in_rpm) shaft /= 60.0;
    if (!(shaft > 0) || !std::isfinite(shaft)) {
      bump(no_speed_);
      return;
    }
  }
  EnvelopeAnalyzer* a = analyzer_for(b->samples.size(), b->sample_rate_hz);
  if (!a) {
    bump(bad_block_);
    return;
  }
  a->analyze(b->samples.data());
  last_ = a;
  const DefectFrequencies d = defect_frequencies(config_.bearing, shaft);
  const double freqs[4] = {d.bpfo, d.bpfi, d.bsf * config_.bsf_multiple, d.ftf};
  const double norm = config_.normalize_total ? a->total() : a->median() * config_.harmonics;

  Record o = r;
  const std::size_t in = r.nfields < input_fields_ ? r.nfields : input_fields_;
  for (std::size_t i = in; i < input_fields_; ++i) o.f[i] = 0.0;
  for (std::size_t k = 0; k < 4; ++k) {
    const double e = a->harmonic_energy(freqs[k], config_.harmonics, config_.tolerance);
    o.f[input_fields_ + k] = norm > 0 ? e / norm : 0.0;
  }
  o.nfields = static_cast<uint8_t>(input_fields_ + 4);
  out.forward(o);
}

}  // namespace edgeloop::dsp
