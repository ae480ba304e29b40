#include "operators/image/inspect_stage.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/stage_event.h"

namespace edgeloop {

double defect_probability(const double* scores, int n, int pass_index, InspectConfig::Scores mode) {
  if (n <= 0 || pass_index < 0 || pass_index >= n) return std::nan("");
  bool softmax = mode == InspectConfig::Scores::kLogits;
  if (mode == InspectConfig::Scores::kAuto) {
    double sum = 0;
    for (int i = 0; i < n; ++i) {
      if (!(scores[i] >= 0 && scores[i] <= 1)) softmax = true;
      sum += scores[i];
    }
    // One score alone is P(pass) itself (a binary model's sigmoid).
    if (n > 1 && std::abs(sum - 1) > 1e-3) softmax = true;
  }
  if (!softmax) return 1.0 - scores[pass_index];
  const double top = *std::max_element(scores, scores + n);
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += std::exp(scores[i] - top);
  return 1.0 - std::exp(scores[pass_index] - top) / sum;
}

Result<InspectSidecar> read_inspect_sidecar(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::kIo, "cannot read the model sidecar " + path);
  InspectSidecar s;
  try {
    const auto j = nlohmann::json::parse(in);
    if (auto it = j.find("classes"); it != j.end()) s.classes = it->get<std::vector<std::string>>();
    if (auto it = j.find("pass_class"); it != j.end()) s.pass_class = it->get<std::string>();
    if (auto it = j.find("threshold"); it != j.end()) s.pass_threshold = it->get<double>();
  } catch (const std::exception& e) {
    return make_error(Errc::kParse, "model sidecar " + path + ": " + e.what());
  }
  return s;
}

PluginInfo InspectStage::info() {
  PluginInfo p;
  p.name = "inspect";
  p.summary =
      "Visual inspection's pass/fail per image: p_defect = 1 - P(pass class) from a classifier's scores (softmax for "
      "logits), fail when over `threshold`; appends p_defect, fail, latency_ms and late (over the latency `budget`), "
      "emits an event (a reject command) per failing image and counts late results.";
  p.options = {
      {.name = "classes", .type = OptionType::kList,
       .description = "The fields holding the classifier's class scores, in the model's order (the `outputs` of the "
                      "model stage, which must append them: `emit: fields`); default: the sidecar's `classes`."},
      {.name = "pass", .type = OptionType::kString,
       .description = "The class (one of `classes`) that passes; default: the sidecar's `pass_class`, else the first."},
      {.name = "sidecar", .type = OptionType::kString,
       .description = "The model's JSON sidecar: `classes`, `pass_class` and `threshold` (a threshold on P(pass "
                      "class): the image fails below it, i.e. `threshold` here is 1 minus it). Options set here win."},
      {.name = "scores", .type = OptionType::kString, .default_value = "auto",
       .description = "`probabilities`, `logits` (softmax applied here), or `auto`: softmax when the scores are not "
                      "probabilities (outside [0, 1], or not summing to 1).",
       .choices = {"auto", "probabilities", "logits"}},
      {.name = "threshold", .type = OptionType::kNumber, .default_value = "0.5",
       .description = "An image fails when p_defect is above this.", .min = 0, .max = 1},
      {.name = "budget", .type = OptionType::kDuration, .default_value = "0s",
       .description = "Latency budget per image, from its receipt to this decision; results over it are `late` "
                      "(counted in edgeloop_inspection_late_total). 0: no budget.",
       .min = 0, .max = 3600},
      {.name = "emit", .type = OptionType::kString, .default_value = "fail",
       .description = "Events: `fail` (one per failing image), `all` (one per image: failures as `kind`, passes as "
                      "insights) or `none` (only the forwarded fields).",
       .choices = {"fail", "all", "none"}},
      {.name = "kind", .type = OptionType::kString, .default_value = "command",
       .description = "What a failing image's event is: a `command` (actions `on: PIPELINE.command`) or a raised "
                      "`alert` (`on: PIPELINE.raised`).",
       .choices = {"command", "alert"}},
      {.name = "name", .type = OptionType::kString, .default_value = "inspect",
       .description = "The name its events carry (`{rule}` in action templates)."},
  };
  return p;
}

Result<std::unique_ptr<Stage>> InspectStage::create(const Options& opts, const StageContext& ctx) {
  if (!ctx.input) return opts.error("classes", "the stage has no input schema (a bug in the pipeline builder)");
  InspectConfig c;
  InspectSidecar side;
  if (opts.has("sidecar")) {
    auto r = read_inspect_sidecar(opts.str("sidecar"));
    if (!r.ok()) return opts.error("sidecar", r.error().message);
    side = std::move(*r);
  }
  const auto names = opts.has("classes") ? opts.list("classes") : side.classes;
  if (names.empty()) return opts.error("classes", "name the fields with the class scores (or give a `sidecar` with `classes`)");
  for (const auto& n : names) {
    const int i = ctx.input->index_of(n);
    if (i < 0) {
      std::string have;
      for (const auto& f : ctx.input->names()) have += (have.empty() ? "" : ", ") + f;
      return opts.error("classes", "no field '" + n + "' in the input (it has: " + have +
                                       "); does the model stage append its outputs (`emit: fields`)?");
    }
    if (static_cast<std::size_t>(i) >= kMaxFields) {
      return opts.error("classes", "field '" + n + "' is past the " + std::to_string(kMaxFields) + " values a record carries");
    }
    c.classes.push_back(i);
  }
  const std::string pass = opts.has("pass") ? opts.str("pass") : side.pass_class;
  if (!pass.empty()) {
    const auto it = std::find(names.begin(), names.end(), pass);
    if (it == names.end()) return opts.error(opts.has("pass") ? "pass" : "sidecar", "'" + pass + "' is not one of `classes`");
    c.pass_index = static_cast<int>(it - names.begin());
  }
  const std::string scores = opts.str("scores");
  c.scores = scores == "logits"          ? InspectConfig::Scores::kLogits
             : scores == "probabilities" ? InspectConfig::Scores::kProbabilities
                                         : InspectConfig::Scores::kAuto;
  c.threshold = opts.number("threshold");
  if (!opts.has("threshold") && side.pass_threshold >= 0) c.threshold = 1.0 - side.pass_threshold;
  c.budget_ns = opts.duration_ns("budget");
  const std::string emit = opts.str("emit");
  c.emit = emit == "all" ? InspectConfig::Emit::kAll : emit == "none" ? InspectConfig::Emit::kNone : InspectConfig::Emit::kFail;
  c.kind = opts.str("kind") == "alert" ? EventKind::kAlert : EventKind::kCommand;
  c.name = opts.str("name");
  if (ctx.input->size() + 4 > kMaxFields) {
    return opts.error("classes", "the input has " + std::to_string(ctx.input->size()) + " fields: no room for the 4 this " +
                                     "stage appends (a record carries " + std::to_string(kMaxFields) + ")");
  }
  return std::unique_ptr<Stage>(std::make_unique<InspectStage>(std::move(c), ctx));
}

InspectStage::InspectStage(InspectConfig config, const StageContext& ctx)
    : cfg_(std::move(config)),
      pipeline_name_(ctx.pipeline_name),
      pipeline_index_(ctx.pipeline_index),
      stage_index_(ctx.stage_index) {
  std::vector<std::string> names = ctx.input ? ctx.input->names() : std::vector<std::string>{};
  first_ = static_cast<int>(names.size());
  for (const char* n : {"p_defect", "fail", "latency_ms", "late"}) names.emplace_back(n);
  schema_ = Schema(std::move(names));
  Metrics* m = ctx.metrics;
  if (!m) {
    own_metrics_ = std::make_unique<Metrics>();
    m = own_metrics_.get();
  }
  const std::string help = "Images inspected, by result.";
  pass_total_ = &m->counter("edgeloop_inspection_images_total", help, {{"pipeline", ctx.pipeline}, {"result", "pass"}});
  fail_total_ = &m->counter("edgeloop_inspection_images_total", help, {{"pipeline", ctx.pipeline}, {"result", "fail"}});
  late_total_ = &m->counter("edgeloop_inspection_late_total",
                            "Inspection results later than their latency budget (receipt of the image to the decision).",
                            {{"pipeline", ctx.pipeline}});
  latency_ = &m->histogram("edgeloop_inspection_latency_seconds",
                           "From the receipt of an image to its pass/fail decision (decode, model, queues).",
                           {{"pipeline", ctx.pipeline}});
}

void InspectStage::process(const Record& r, Emitter& out) {
  double scores[kMaxFields];
  const int n = static_cast<int>(cfg_.classes.size());
  for (int i = 0; i < n; ++i) scores[i] = r.f[static_cast<std::size_t>(cfg_.classes[static_cast<std::size_t>(i)])];
  const double p = defect_probability(scores, n, cfg_.pass_index, cfg_.scores);
  const bool fail = !(p <= cfg_.threshold);  // NaN scores fail: a part nobody could judge is not passed
  const int64_t latency = r.recv_ns > 0 ? unix_now_ns() - r.recv_ns : 0;
  const bool late = cfg_.budget_ns > 0 && latency > cfg_.budget_ns;
  (fail ? fail_total_ : pass_total_)->add();
  if (late) late_total_->add();
  if (r.recv_ns > 0) latency_->record_ns(latency);

  Record o = r;
  const auto at = static_cast<std::size_t>(first_);
  o.f[at] = p;
  o.f[at + 1] = fail ? 1.0 : 0.0;
  o.f[at + 2] = static_cast<double>(latency) / static_cast<double>(kNsPerMs);
  o.f[at + 3] = late ? 1.0 : 0.0;
  o.nfields = static_cast<uint8_t>(at + 4);
  if (cfg_.emit == InspectConfig::Emit::kAll || (fail && cfg_.emit == InspectConfig::Emit::kFail)) {
    Event e = event_about(o, fail ? cfg_.kind : EventKind::kInsight, pipeline_index_, stage_index_, pipeline_name_);
    e.state = fail && cfg_.kind == EventKind::kAlert ? AlertState::kRaised : AlertState::kNone;
    e.severity = fail ? Severity::kWarning : Severity::kInfo;
    e.schema = &schema_;
    e.name = &cfg_.name;
    out.emit(std::move(e));
  }
  out.forward(o);
}

}  // namespace edgeloop
