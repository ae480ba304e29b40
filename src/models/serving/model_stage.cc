#include "models/serving/model_stage.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <span>

#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "models/infer/onnx_graph.h"
#include "core/stage_event.h"

namespace edgeloop::models {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<int64_t> sample_dims(const TensorInfo& t) {
  return t.shape.empty() ? std::vector<int64_t>{} : std::vector<int64_t>(t.shape.begin() + 1, t.shape.end());
}

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t d : v) p *= d;
  return p;
}

std::vector<int64_t> squeezed(const std::vector<int64_t>& v) {
  std::vector<int64_t> out;
  for (int64_t d : v)
    if (d != 1) out.push_back(d);
  return out;
}

struct Settings {
  ModelFormat format = ModelFormat::kOnnx;
  ModelSpec spec;
  std::string event_name;
  InputSpec input;
  std::vector<int> fields;  // input field indices
  std::vector<std::string> outputs;
  std::string argmax;
  int64_t max_delay_ns = 10'000'000;
  ModelEmit emit = ModelEmit::kEvent;
};

class ModelStage final : public Stage {
 public:
  ModelStage(Settings s, Subscribed sub, Schema out_schema, Schema event_schema, const StageContext& ctx)
      : s_(std::move(s)),
        schema_(std::move(out_schema)),
        event_schema_(std::move(event_schema)),
        input_(ctx.input),
        pipeline_name_(ctx.pipeline_name),
        pipeline_index_(ctx.pipeline_index),
        stage_index_(ctx.stage_index),
        sub_(std::move(sub.subscription)),
        inst_(std::move(sub.instance)) {
    const std::size_t batch = static_cast<std::size_t>(s_.input.batch);
    per_sample_ = product(sample_dims(inst_->model->inputs()[0]));
    in_.resize(batch * static_cast<std::size_t>(per_sample_));
    pending_.resize(batch);
    n_out_ = s_.outputs.size();
    if (ctx.metrics) {
      const Metrics::Labels labels{{"pipeline", ctx.pipeline}, {"stage", std::to_string(ctx.stage_index) + ":" + ctx.name}};
      inferences_ = &ctx.metrics->counter("edgeloop_model_inferences_total", "Samples a model stage ran its model on.", labels);
      errors_ = &ctx.metrics->counter("edgeloop_model_errors_total",
                                      "Records a model stage could not run (missing field, wrong block size, run error).",
                                      labels);
      latency_ = &ctx.metrics->histogram("edgeloop_model_run_seconds", "Time of one model run (one micro-batch).", labels);
    }
  }

  ~ModelStage() override { ModelCatalog::global().unsubscribe(s_.spec.name, sub_.get()); }
  ModelStage(const ModelStage&) = delete;
  ModelStage& operator=(const ModelStage&) = delete;

  const Schema& output_schema() const override { return schema_; }

  void process(const Record& r, Emitter& out) override {
    if (auto next = sub_->take()) swap_in(std::move(next), out);
    if (s_.emit == ModelEmit::kEvent) out.forward(r);
    float* dst = in_.data() + static_cast<std::ptrdiff_t>(count_) * per_sample_;
    if (!gather(r, dst)) {
      if (s_.emit != ModelEmit::kEvent) forward_with(r, nullptr, out);
      return;
    }
    pending_[count_++] = r;
    if (count_ == s_.input.batch) {
      run_batch(out);
    } else if (count_ == 1) {
      first_pending_ns_ = mono_now_ns();
    } else if (mono_now_ns() - first_pending_ns_ >= s_.max_delay_ns) {
      run_batch(out);  // a slow trickle: do not wait for the next tick
    }
  }

  void tick(int64_t now_ns, Emitter& out) override {
    (void)now_ns;
    if (auto next = sub_->take()) swap_in(std::move(next), out);
    if (count_ > 0 && mono_now_ns() - first_pending_ns_ >= s_.max_delay_ns) run_batch(out);
  }

  void flush(int64_t now_ns, Emitter& out) override {
    (void)now_ns;
    if (count_ > 0) run_batch(out);
  }

 private:
  struct Seq {
    std::vector<float> ring;  // steps x values
    int head = 0;             // next row to write
    int count = 0;
  };

  void swap_in(std::unique_ptr<ModelInstance> next, Emitter& out) {
    if (count_ > 0) run_batch(out);  // the pending batch was gathered for the old version
    inst_ = std::move(next);
    const int64_t p = product(sample_dims(inst_->model->inputs()[0]));
    if (p != per_sample_) {
      per_sample_ = p;
      in_.resize(static_cast<std::size_t>(s_.input.batch) * static_cast<std::size_t>(p));
    }
  }

  // Counts a record that could not run; `what` builds the message only when it is logged.
  template <class Message>
  void error(Message&& what) {
    if (errors_) errors_->add();
    if (errors_logged_++ % 1000 == 0) spdlog::warn("model {}: {} (logged every 1000th)", s_.spec.name, what());
  }

  // Writes the record's model input to dst; false (counted) when it cannot.
  bool gather(const Record& r, float* dst) {
    switch (s_.input.kind) {
      case ModelInput::kFields:
        for (std::size_t i = 0; i < s_.fields.size(); ++i) {
          const int f = s_.fields[i];
          if (f >= r.nfields) {
            error([&] { return "a record has no field '" + input_->name(static_cast<std::size_t>(f)) + "'"; });
            return false;
          }
          dst[i] = static_cast<float>(r.f[static_cast<std::size_t>(f)]);
        }
        return true;
      case ModelInput::kBlock: {
        if (!r.block) {
          error([] { return std::string("a record has no sample block"); });
          return false;
        }
        if (static_cast<int64_t>(r.block->samples.size()) != per_sample_) {
          error([&] {
            return "a block of " + std::to_string(r.block->samples.size()) + " values; model input '" +
                   inst_->model->inputs()[0].name + "' wants " + shape_string(inst_->model->inputs()[0].shape) + " (" +
                   std::to_string(per_sample_) + " per sample)";
          });
          return false;
        }
        std::copy(r.block->samples.begin(), r.block->samples.end(), dst);
        return true;
      }
      case ModelInput::kSequence: {
        const std::size_t values = s_.fields.size();
        for (int f : s_.fields) {
          if (f >= r.nfields) {
            error([&] { return "a record has no field '" + input_->name(static_cast<std::size_t>(f)) + "'"; });
            return false;
          }
        }
        if (seq_.size() <= r.slot) seq_.resize(r.slot + 1);
        Seq& q = seq_[r.slot];
        const int steps = s_.input.steps;
        if (q.ring.empty()) q.ring.resize(static_cast<std::size_t>(steps) * values);
        float* row = q.ring.data() + static_cast<std::size_t>(q.head) * values;
        for (std::size_t i = 0; i < values; ++i) row[i] = static_cast<float>(r.f[static_cast<std::size_t>(s_.fields[i])]);
        q.head = (q.head + 1) % steps;
        q.count = std::min(q.count + 1, steps);
        if (q.count < steps) return false;  // not yet N vectors for this key: nothing to run
        // Oldest first: from head to the end, then from the start to head.
        const std::size_t split = static_cast<std::size_t>(q.head) * values;
        std::copy(q.ring.begin() + static_cast<std::ptrdiff_t>(split), q.ring.end(), dst);
        std::copy(q.ring.begin(), q.ring.begin() + static_cast<std::ptrdiff_t>(split),
                  dst + (q.ring.size() - split));
        return true;
      }
    }
    return false;
  }

  void run_batch(Emitter& out) {
    const int n = count_;
    count_ = 0;
    const int64_t t0 = mono_now_ns();
    auto st = inst_->model->run(std::span<const float>(in_.data(), static_cast<std::size_t>(n * per_sample_)), n, outs_);
    if (latency_) latency_->record_ns(mono_now_ns() - t0);
    if (!st.ok()) {
      for (int i = 0; i < n; ++i) error([&] { return "run failed: " + st.error().message; });
      if (s_.emit != ModelEmit::kEvent)
        for (int i = 0; i < n; ++i) forward_with(pending_[static_cast<std::size_t>(i)], nullptr, out);
      return;
    }
    if (inferences_) inferences_->add(static_cast<uint64_t>(n));
    for (int i = 0; i < n; ++i) {
      // The sample's output values, all outputs in order.
      std::size_t k = 0;
      for (const auto& o : outs_) {
        const std::size_t per = o.size() / static_cast<std::size_t>(n);
        for (std::size_t j = 0; j < per && k < n_out_; ++j) values_[k++] = o[static_cast<std::size_t>(i) * per + j];
      }
      std::size_t m = n_out_;
      if (!s_.argmax.empty()) {
        std::size_t best = 0;
        for (std::size_t j = 1; j < n_out_; ++j)
          if (values_[j] > values_[best]) best = j;
        values_[m++] = static_cast<double>(best);
        values_[m++] = values_[best];
      }
      values_[m++] = static_cast<double>(inst_->version);
      const Record& r = pending_[static_cast<std::size_t>(i)];
      if (s_.emit != ModelEmit::kEvent) forward_with(r, values_.data(), out);
      if (s_.emit != ModelEmit::kFields) {
        Event e = event_about(r, EventKind::kInsight, pipeline_index_, stage_index_, pipeline_name_);
        e.f = {};
        e.nfields = static_cast<uint8_t>(m);
        std::copy(values_.begin(), values_.begin() + static_cast<std::ptrdiff_t>(m), e.f.begin());
        e.schema = &event_schema_;
        e.name = &s_.event_name;
        out.emit(std::move(e));
      }
    }
  }

  // Appends the outputs (or NaN) after the input fields.
  void forward_with(const Record& r, const double* values, Emitter& out) {
    Record o = r;
    const std::size_t base = input_->size();
    for (std::size_t i = r.nfields; i < base; ++i) o.f[i] = kNaN;
    const std::size_t extra = schema_.size() - base;
    for (std::size_t i = 0; i < extra; ++i) o.f[base + i] = values ? values[i] : kNaN;
    o.nfields = static_cast<uint8_t>(schema_.size());
    out.forward(o);
  }

  Settings s_;
  Schema schema_;
  Schema event_schema_;
  const Schema* input_;
  const std::string* pipeline_name_;
  uint16_t pipeline_index_;
  uint16_t stage_index_;
  std::shared_ptr<ModelSubscription> sub_;
  std::unique_ptr<ModelInstance> inst_;
  int64_t per_sample_ = 0;
  std::size_t n_out_ = 0;
  std::vector<float> in_;
  std::vector<Record> pending_;
  int count_ = 0;
  int64_t first_pending_ns_ = 0;
  std::vector<std::vector<float>> outs_;
  std::array<double, kMaxFields> values_{};
  std::vector<Seq> seq_;  // by Record::slot
  uint64_t errors_logged_ = 0;
  Counter* inferences_ = nullptr;
  Counter* errors_ = nullptr;
  Histogram* latency_ = nullptr;
};

PluginInfo model_info(ModelFormat format) {
  const bool onnx = format == ModelFormat::kOnnx;
  PluginInfo p;
  p.name = onnx ? "model.onnx" : "model.xgboost";
  p.summary = onnx ? "Runs an ONNX model (opset 11..17: MLPs, 1D/2D CNNs, LSTM/GRU; on oneDNN or OpenCV DNN) per record "
                     "or in micro-batches across keys, emitting its outputs as named values with the model version; "
                     "hot-swaps new versions from a watched folder."
                   : "Runs an XGBoost model (regression: one value; classification: a probability per class) per "
                     "record or in micro-batches across keys, emitting its outputs as named values with the model "
                     "version; hot-swaps new versions from a watched folder.";
  p.shorthand = "path";
  p.options = {
      {.name = "path", .type = OptionType::kString,
       .description = onnx ? "The model file (.onnx). Give `path` or `watch`."
                           : "The model file (XGBoost JSON or UBJSON, as save_model writes). Give `path` or `watch`."},
      {.name = "watch", .type = OptionType::kString,
       .description = "A folder of model files: the newest valid one runs, and a newer file dropped (or uploaded "
                      "through POST /api/v1/models/NAME) is loaded, checked and swapped in; one that fails is "
                      "rejected and the running version stays. Hidden files and *.tmp/*.part are ignored."},
      {.name = "poll", .type = OptionType::kDuration, .default_value = "1s",
       .description = "How often the watched folder is checked.", .min = 1e-3},
      {.name = "name", .type = OptionType::kString,
       .description = "The model's name in the catalog (GET /api/v1/models, uploads) and the name its events carry; "
                      "default: PIPELINE.INDEX (the stage's index in the pipeline)."},
      {.name = "input", .type = OptionType::kString, .default_value = "fields",
       .description = "What feeds the model: `fields` (the record's values, one feature vector), `block` (the "
                      "record's sample block: a window, a sequence [steps, features] or an image [C, H, W]), "
                      "`sequence` (the last `sequence` feature vectors of the key).",
       .choices = {"fields", "block", "sequence"}},
      {.name = "fields", .type = OptionType::kList,
       .description = "The input fields that make the feature vector, in the model's order (default: all of them)."},
      {.name = "sequence", .type = OptionType::kInt, .default_value = "0",
       .description = "With `input: sequence`: how many feature vectors of the key make one sample (steps); the "
                      "stage emits once a key has that many. Setting it implies `input: sequence`.",
       .min = 0, .max = 100000},
      {.name = "shape", .type = OptionType::kList,
       .description = "With `input: block`: the block's shape without the batch (e.g. [1, 4096] or [3, 224, 224]), "
                      "checked against the model at load; without it, each block's size is checked as it comes."},
      {.name = "outputs", .type = OptionType::kList,
       .description = "Names for the model's output values per sample, in order (e.g. [rul] or [p_normal, p_inner, "
                      "p_outer, p_ball]); default: the output's name, with _0, _1... when it has several values."},
      {.name = "argmax", .type = OptionType::kString,
       .description = "For classifiers: also emit the index of the largest output under this name, and its value "
                      "as `confidence`."},
      {.name = "batch", .type = OptionType::kInt, .default_value = "1",
       .description = "Micro-batch: gather the inputs of up to this many records (of any keys on the shard) and run "
                      "the model once on them.",
       .min = 1, .max = 4096},
      {.name = "max_delay", .type = OptionType::kDuration, .default_value = "10ms",
       .description = "With `batch` > 1: run a partial batch once its first record has waited this long (checked "
                      "at each record and each tick, so the tick interval bounds the wait when records stop).",
       .min = 0},
      {.name = "emit", .type = OptionType::kString, .default_value = "event",
       .description = "`event`: an insight event per sample with the outputs and `model_version` (records pass on "
                      "unchanged); `fields`: append them to the forwarded record instead; `both`.",
       .choices = {"event", "fields", "both"}},
  };
  if (onnx) {
    p.options.push_back({.name = "backend", .type = OptionType::kString, .default_value = "auto",
                         .description = "`auto`: oneDNN where it runs the graph (measured faster on MLPs and CNNs, and the "
                                        "only one for LSTM/GRU exports), else OpenCV DNN; or force `opencv-dnn` "
                                        "or `onednn`.",
                         .choices = {"auto", "opencv-dnn", "onednn"}});
    p.options.push_back({.name = "threads", .type = OptionType::kInt, .default_value = "1",
                         .description = "oneDNN: threads one run of the model may use. 1: the shards are the "
                                        "parallelism; 2 on a 2-core gateway whose main work is one large model "
                                        "(an inspection camera) about halves its latency.",
                         .min = 1, .max = 256});
  } else {
    p.options.push_back({.name = "features", .type = OptionType::kInt, .default_value = "0",
                         .description = "The number of features the model takes (0: as the model records it; it "
                                        "must match when both are known).",
                         .min = 0, .max = 1e6});
  }
  return p;
}

Result<std::vector<int64_t>> int_list(const Options& opts, const std::string& name) {
  std::vector<int64_t> out;
  for (const auto& v : opts.list(name)) {
    auto n = parse_int(v);
    if (!n.ok() || *n < 1) return opts.error(name, "expected positive integers, got '" + v + "'");
    out.push_back(*n);
  }
  return out;
}

Result<std::unique_ptr<Stage>> create(ModelFormat format, const Options& opts, const StageContext& ctx) {
  Settings s;
  s.format = format;
  const Schema& in = *ctx.input;
  if (opts.has("path") == opts.has("watch")) {
    return opts.error(opts.has("path") ? "watch" : "path", "give either `path` (a model file) or `watch` (a folder)");
  }
  s.spec.path = opts.str("path");
  s.spec.watch = opts.str("watch");
  s.spec.poll_ns = opts.duration_ns("poll");
  s.spec.name = opts.has("name") ? opts.str("name") : ctx.pipeline + "." + std::to_string(ctx.stage_index);
  s.spec.metrics = ctx.metrics;
  s.spec.load.format = format;
  if (format == ModelFormat::kOnnx) {
    s.spec.load.backend = opts.str("backend");
    s.spec.load.threads = static_cast<int>(opts.integer("threads"));
  }
  if (format == ModelFormat::kXgboost) s.spec.load.features = opts.integer("features");
  s.event_name = s.spec.name;

  const std::string input = opts.str("input");
  s.input.kind = input == "block" ? ModelInput::kBlock : input == "sequence" ? ModelInput::kSequence : ModelInput::kFields;
  s.input.steps = static_cast<int>(opts.integer("sequence"));
  if (s.input.steps > 0) {
    if (opts.has("input") && s.input.kind != ModelInput::kSequence) {
      return opts.error("sequence", "`sequence` needs `input: sequence`");
    }
    s.input.kind = ModelInput::kSequence;
  } else if (s.input.kind == ModelInput::kSequence) {
    return opts.error("sequence", "`input: sequence` needs `sequence: N` (the number of feature vectors)");
  }
  if (s.input.kind != ModelInput::kBlock) {
    if (opts.has("fields")) {
      for (const auto& f : opts.list("fields")) {
        const int i = in.index_of(f);
        if (i < 0) return opts.error("fields", "no input field '" + f + "'");
        if (i >= static_cast<int>(kMaxFields)) return opts.error("fields", "field '" + f + "' is past the 16 a record carries");
        s.fields.push_back(i);
      }
    } else {
      for (std::size_t i = 0; i < in.size() && i < kMaxFields; ++i) s.fields.push_back(static_cast<int>(i));
    }
    if (s.fields.empty()) return opts.error("fields", "the stage's input has no fields to feed the model");
    s.input.values = static_cast<int>(s.fields.size());
  }
  if (opts.has("shape")) {
    if (s.input.kind != ModelInput::kBlock) return opts.error("shape", "`shape` is for `input: block`");
    EDGELOOP_ASSIGN_OR_RETURN(s.input.block_shape, int_list(opts, "shape"));
  }
  s.input.batch = static_cast<int>(opts.integer("batch"));
  s.max_delay_ns = opts.duration_ns("max_delay");
  const std::string emit = opts.str("emit");
  s.emit = emit == "fields" ? ModelEmit::kFields : emit == "both" ? ModelEmit::kBoth : ModelEmit::kEvent;
  s.argmax = opts.str("argmax");
  s.outputs = opts.list("outputs");

  const InputSpec fit = s.input;
  const std::size_t configured_outputs = s.outputs.size();
  s.spec.validate = [fit, configured_outputs](const TensorModel& m) -> Status {
    EDGELOOP_TRY(check_input_fit(m, fit));
    const int64_t k = output_value_count(m);
    if (configured_outputs > 0 && k != static_cast<int64_t>(configured_outputs)) {
      return make_error(Errc::kInvalidArgument, "the model gives " + std::to_string(k) +
                                                    " output values per sample, `outputs` names " +
                                                    std::to_string(configured_outputs));
    }
    return Status::Ok();
  };

  auto sub = ModelCatalog::global().subscribe(s.spec);
  if (!sub.ok()) return opts.error(opts.has("path") ? "path" : "watch", sub.error().message);
  const TensorModel& m = *sub->instance->model;
  if (s.outputs.empty()) {
    for (const auto& o : m.outputs()) {
      const int64_t per = product(sample_dims(o));
      if (per == 1) {
        s.outputs.push_back(o.name);
      } else {
        for (int64_t j = 0; j < per; ++j) s.outputs.push_back(o.name + "_" + std::to_string(j));
      }
    }
  }
  std::vector<std::string> produced = s.outputs;
  if (!s.argmax.empty()) {
    produced.push_back(s.argmax);
    produced.push_back("confidence");
  }
  produced.push_back("model_version");
  auto fail = [&](const std::string& opt, const std::string& why) -> Error {
    ModelCatalog::global().unsubscribe(s.spec.name, sub->subscription.get());
    return opts.error(opt, why);
  };
  if (produced.size() > kMaxFields) {
    return fail("outputs", "the model's " + std::to_string(s.outputs.size()) + " output values (with argmax and "
                           "model_version) exceed the 16 values an event carries");
  }
  std::vector<std::string> fields = in.names();
  if (s.emit != ModelEmit::kEvent) {
    fields.insert(fields.end(), produced.begin(), produced.end());
    if (fields.size() > kMaxFields) {
      return fail("emit", "the input's " + std::to_string(in.size()) + " fields and " + std::to_string(produced.size()) +
                              " model values exceed the 16 values a record carries (use emit: event)");
    }
  }
  return std::unique_ptr<Stage>(
      std::make_unique<ModelStage>(std::move(s), std::move(sub).value(), Schema(fields), Schema(produced), ctx));
}

}  // namespace

int64_t output_value_count(const TensorModel& model) {
  int64_t n = 0;
  for (const auto& o : model.outputs()) n += product(sample_dims(o));
  return n;
}

Status check_input_fit(const TensorModel& model, const InputSpec& in) {
  if (model.inputs().empty()) return make_error(Errc::kInvalidArgument, "the model has no input");
  const TensorInfo& t = model.inputs()[0];
  const auto dims = sample_dims(t);
  const int64_t per = product(dims);
  const std::string wants = "model input '" + t.name + "' wants " + shape_string(t.shape);
  if (!t.shape.empty() && t.shape[0] > 1) {
    return make_error(Errc::kInvalidArgument, wants + ", a fixed batch of " + std::to_string(t.shape[0]) +
                                                  " (export it with a batch of 1 or an open batch)");
  }
  if (!t.shape.empty() && t.shape[0] == 1 && in.batch > 1) {
    return make_error(Errc::kInvalidArgument, wants + ", a fixed batch of 1, and the stage batches up to " +
                                                  std::to_string(in.batch) + " records (set batch: 1)");
  }
  switch (in.kind) {
    case ModelInput::kFields:
      if (per != in.values) {
        return make_error(Errc::kInvalidArgument,
                          wants + ", the pipeline gives feature vectors of " + std::to_string(in.values) + " values");
      }
      return Status::Ok();
    case ModelInput::kSequence:
      if (per != int64_t{in.steps} * in.values || (dims.size() >= 2 && dims.back() != in.values)) {
        return make_error(Errc::kInvalidArgument, wants + ", the pipeline gives sequences of " +
                                                      std::to_string(in.steps) + " x " + std::to_string(in.values) +
                                                      " values");
      }
      return Status::Ok();
    case ModelInput::kBlock:
      if (!in.block_shape.empty() &&
          (per != product(in.block_shape) || squeezed(dims) != squeezed(in.block_shape))) {
        return make_error(Errc::kInvalidArgument,
                          wants + ", the pipeline gives blocks of shape " + shape_string(in.block_shape));
      }
      return Status::Ok();
  }
  return Status::Ok();
}

void register_model_stages(Registry& registry) {
  registry.add_stage(model_info(ModelFormat::kOnnx),
                     [](const Options& o, const StageContext& c) { return create(ModelFormat::kOnnx, o, c); });
  registry.add_stage(model_info(ModelFormat::kXgboost),
                     [](const Options& o, const StageContext& c) { return create(ModelFormat::kXgboost, o, c); });
}

}  // namespace edgeloop::models
