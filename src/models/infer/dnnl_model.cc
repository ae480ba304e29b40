// The oneDNN TensorModel: the ONNX graph kept in memory, compiled into a Plan per batch size on
// first use (primitives, weights reordered, buffers allocated), then run without allocating.
#include "models/infer/dnnl_model.h"

#include <omp.h>

#include <algorithm>
#include <map>

#include <onnx/onnx_pb.h>

#include "models/infer/dnnl_plan.h"

namespace edgeloop::models {

namespace {

using dnnl_backend::Builder;
using dnnl_backend::ConstTensor;
using dnnl_backend::Plan;

// The model's thread count. OpenMP's is per calling thread (this does not touch other threads),
// and oneDNN reads it when a primitive is created as well as when it runs: a primitive created
// with two threads opens a two-thread region on every run, whatever the caller's count then. So
// it is set at load and before each run (plans for new batch sizes are built in run()).
void use_threads(int threads) {
  if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
}

class DnnlModel final : public TensorModel {
 public:
  DnnlModel(std::string path, int threads)
      : path_(std::move(path)), threads_(threads), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

  Status init(const onnx::ModelProto& model);
  const std::vector<TensorInfo>& inputs() const override { return inputs_; }
  const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  const std::string& backend() const override { return backend_; }
  Status run(std::span<const float> input, int batch, std::vector<std::vector<float>>& outputs) override;

 private:
  Result<Plan*> plan_for(int batch);
  Result<std::unique_ptr<Plan>> build(int batch);
  Status run_plan(Plan& plan, std::span<const float> input, std::vector<std::vector<float>>& outputs, size_t offset);

  std::string path_;
  int threads_;
  std::string backend_ = "onednn";
  dnnl::engine engine_;
  dnnl::stream stream_;
  int64_t opset_ = 13;
  onnx::GraphProto graph_;  // nodes and outputs only
  std::vector<std::pair<std::string, ConstTensor>> initializers_;
  std::vector<TensorInfo> inputs_, outputs_;
  std::vector<int64_t> sample_dims_;
  int64_t sample_size_ = 1;
  bool batch_fixed_one_ = false;  // the export hard-codes batch 1: run larger batches sample by sample
  std::map<int, std::unique_ptr<Plan>> plans_;
};

Status DnnlModel::init(const onnx::ModelProto& model) {
  for (const auto& op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
  const auto& g = model.graph();
  for (const auto& t : g.initializer()) {
    auto parsed = dnnl_backend::parse_tensor(t);
    if (!parsed.ok()) return make_error(Errc::kInvalidArgument, path_ + ": " + parsed.error().message);
    initializers_.emplace_back(t.name(), std::move(*parsed));
  }
  auto is_initializer = [&](const std::string& name) {
    return std::any_of(initializers_.begin(), initializers_.end(), [&](const auto& p) { return p.first == name; });
  };
  for (const auto& in : g.input()) {
    if (is_initializer(in.name())) continue;
    if (!inputs_.empty())
      return make_error(Errc::kInvalidArgument, path_ + ": the model has more than one input ('" + inputs_[0].name +
                                                    "', '" + in.name() + "'); the oneDNN backend runs single-input models");
    const auto& tt = in.type().tensor_type();
    if (tt.elem_type() != onnx::TensorProto::FLOAT)
      return make_error(Errc::kInvalidArgument, path_ + ": input '" + in.name() + "' is not float");
    TensorInfo info{in.name(), {}};
    for (int k = 0; k < tt.shape().dim_size(); ++k) {
      const auto& d = tt.shape().dim(k);
      const int64_t v = d.has_dim_value() && d.dim_value() > 0 ? d.dim_value() : -1;
      if (k == 0) {
        batch_fixed_one_ = v == 1;
        info.shape.push_back(-1);
        continue;
      }
      if (v < 0)
        return make_error(Errc::kInvalidArgument, path_ + ": input '" + in.name() + "' dimension " + std::to_string(k) +
                                                      " is open; the oneDNN backend needs a fixed sample shape");
      info.shape.push_back(v);
      sample_dims_.push_back(v);
      sample_size_ *= v;
    }
    if (info.shape.empty()) return make_error(Errc::kInvalidArgument, path_ + ": input '" + in.name() + "' has no shape");
    inputs_.push_back(std::move(info));
  }
  if (inputs_.empty()) return make_error(Errc::kInvalidArgument, path_ + ": the model has no input");
  graph_.mutable_node()->CopyFrom(g.node());
  graph_.mutable_output()->CopyFrom(g.output());
  // Building the batch-1 plan validates every node now rather than on the first event.
  EDGELOOP_ASSIGN_OR_RETURN(Plan * plan, plan_for(1));
  for (int k = 0; k < graph_.output_size(); ++k) {
    TensorInfo info{graph_.output(k).name(), plan->output_dims[static_cast<size_t>(k)]};
    if (!info.shape.empty()) info.shape[0] = -1;
    outputs_.push_back(std::move(info));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Plan>> DnnlModel::build(int batch) {
  auto plan = std::make_unique<Plan>();
  Builder b(*plan, engine_, path_);
  b.set_opset(opset_);
  std::unordered_map<std::string, int> readers;
  std::unordered_map<std::string, const onnx::NodeProto*> last_reader;
  for (const auto& node : graph_.node())
    for (const auto& in : node.input()) {
      ++readers[in];
      last_reader[in] = &node;
    }
  for (const auto& out : graph_.output()) ++readers[out.name()];
  b.set_readers(std::move(readers), std::move(last_reader));
  for (const auto& [name, tensor] : initializers_) {
    auto& v = b.values()[name];
    v.dims = tensor.dims;
    v.is_const = true;
    v.constant = tensor;
  }
  std::vector<int64_t> in_dims{batch};
  in_dims.insert(in_dims.end(), sample_dims_.begin(), sample_dims_.end());
  auto& input = b.values()[inputs_[0].name];
  input.dims = in_dims;
  input.buffer = b.new_buffer(in_dims);
  plan->input_buffer = input.buffer;
  // Constant nodes first: torch emits them next to their reader, after the conv whose fused
  // activation (Clip's min and max) or bias must be known when the conv is built.
  for (const auto& node : graph_.node())
    if (node.op_type() == "Constant" && node.input_size() == 0) EDGELOOP_TRY(dnnl_backend::build_node(node, b));
  for (const auto& node : graph_.node()) {
    if (node.op_type() == "Constant" && node.input_size() == 0) continue;
    try {
      EDGELOOP_TRY(dnnl_backend::build_node(node, b));
    } catch (const dnnl::error& e) {
      return b.error(node, std::string("oneDNN: ") + e.what());
    }
  }
  for (const auto& out : graph_.output()) {
    auto it = b.values().find(out.name());
    if (it == b.values().end())
      return make_error(Errc::kInvalidArgument, path_ + ": output '" + out.name() + "' is not produced by any node");
    const auto& v = b.to_plain(it->second);
    if (v.dims.empty() || v.dims[0] != batch)
      return make_error(Errc::kInvalidArgument, path_ + ": output '" + out.name() + "' has shape " +
                                                    dnnl_backend::dims_text(v.dims) + " for batch " + std::to_string(batch) +
                                                    "; its first dimension must be the batch");
    plan->output_dims.push_back(v.dims);
    plan->output_buffers.push_back(v.is_const ? -1 : v.buffer);
    plan->const_outputs.push_back(v.is_const ? v.constant : ConstTensor{});
  }
  return plan;
}

Result<Plan*> DnnlModel::plan_for(int batch) {
  auto it = plans_.find(batch);
  if (it != plans_.end()) return it->second.get();
  EDGELOOP_ASSIGN_OR_RETURN(auto plan, build(batch));
  Plan* raw = plan.get();
  plans_.emplace(batch, std::move(plan));
  return raw;
}

// Plans exist for bucketed batch sizes (1 to 4, then 6, 8, 12, 16, 24, 32...): a plan is built
// (oneDNN JIT-compiles its kernels: tens of ms for an RNN) the first time its size is used, on
// the caller's thread, so a micro-batcher sees a few of these stalls, not one per batch size.
// The padding rows are zeros and are not copied out: samples are independent in every op here.
int batch_bucket(int batch) {
  if (batch <= 4) return batch;
  int bucket = 4;
  while (bucket < batch) bucket = bucket % 3 == 0 ? bucket / 3 * 4 : bucket / 2 * 3;  // 4,6,8,12,16,24...
  return bucket;
}

// Runs `rows` samples of `input` through `plan` (whose batch may be larger: zero padding) and
// writes their outputs at sample `offset` of `outputs`.
Status DnnlModel::run_plan(Plan& plan, std::span<const float> input, std::vector<std::vector<float>>& outputs, size_t offset) {
  auto& in = plan.buffers[static_cast<size_t>(plan.input_buffer)];
  std::copy(input.begin(), input.end(), in.begin());
  std::fill(in.begin() + static_cast<std::ptrdiff_t>(input.size()), in.end(), 0.0f);
  const size_t rows = input.size() / static_cast<size_t>(sample_size_);
  for (auto& step : plan.steps) step->run(stream_);
  stream_.wait();
  for (size_t k = 0; k < plan.output_buffers.size(); ++k) {
    const int buf = plan.output_buffers[k];
    const auto& dims = plan.output_dims[k];
    const auto per_row = static_cast<size_t>(dnnl_backend::element_count(dims) / std::max<int64_t>(dims[0], 1));
    float* out = outputs[k].data() + offset * per_row;
    if (buf < 0) {
      const auto& c = plan.const_outputs[k];
      for (size_t j = 0; j < rows * per_row; ++j) out[j] = static_cast<float>(c.at(j));
      continue;
    }
    std::copy_n(plan.buffers[static_cast<size_t>(buf)].begin(), rows * per_row, out);
  }
  return Status::Ok();
}

Status DnnlModel::run(std::span<const float> input, int batch, std::vector<std::vector<float>>& outputs) {
  if (batch < 1) return make_error(Errc::kInvalidArgument, path_ + ": batch must be at least 1");
  if (input.size() != static_cast<size_t>(batch * sample_size_))
    return make_error(Errc::kInvalidArgument, path_ + ": input has " + std::to_string(input.size()) + " values, expected " +
                                                  std::to_string(batch * sample_size_) + " (batch " + std::to_string(batch) +
                                                  " x " + std::to_string(sample_size_) + ")");
  use_threads(threads_);
  try {
    const bool one_by_one = batch_fixed_one_ && batch > 1;
    EDGELOOP_ASSIGN_OR_RETURN(Plan * plan, plan_for(one_by_one ? 1 : batch_bucket(batch)));
    outputs.resize(plan->output_dims.size());
    for (size_t k = 0; k < outputs.size(); ++k) {
      const auto& dims = plan->output_dims[k];
      const auto per_row = static_cast<size_t>(dnnl_backend::element_count(dims) / std::max<int64_t>(dims[0], 1));
      outputs[k].resize(per_row * static_cast<size_t>(batch));
    }
    if (!one_by_one) return run_plan(*plan, input, outputs, 0);
    const auto n = static_cast<size_t>(sample_size_);
    for (size_t s = 0; s < static_cast<size_t>(batch); ++s) EDGELOOP_TRY(run_plan(*plan, input.subspan(s * n, n), outputs, s));
    return Status::Ok();
  } catch (const dnnl::error& e) {
    return make_error(Errc::kInternal, path_ + ": oneDNN: " + e.what());
  } catch (const std::exception& e) {  // bad_alloc building the plan of a new batch size
    return make_error(Errc::kInternal, path_ + ": " + e.what());
  }
}

}  // namespace

Result<std::unique_ptr<TensorModel>> load_dnnl_model(const onnx::ModelProto& model, const std::string& path,
                                                     int threads) {
  if (threads < 1) return make_error(Errc::kInvalidArgument, path + ": threads must be at least 1");
  use_threads(threads);
  try {
    auto m = std::make_unique<DnnlModel>(path, threads);
    EDGELOOP_TRY(m->init(model));
    return std::unique_ptr<TensorModel>(std::move(m));
  } catch (const dnnl::error& e) {
    return make_error(Errc::kInvalidArgument, path + ": oneDNN: " + e.what());
  } catch (const std::exception& e) {
    return make_error(Errc::kInvalidArgument, path + ": " + e.what());
  }
}

}  // namespace edgeloop::models
