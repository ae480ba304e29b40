// Internals of the oneDNN backend: the graph compiled for one batch size (a Plan), the values
// flowing through it while it is built, and the op builders. Not part of the public API.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "core/result.h"

namespace onnx {
class NodeProto;
class TensorProto;
}  // namespace onnx

namespace edgeloop::models::dnnl_backend {

// A tensor known while building: an initializer, a Constant, or folded glue (Shape, Gather...).
struct ConstTensor {
  bool is_int = false;  // int64 data (shapes, indices) instead of float
  std::vector<int64_t> dims;
  std::vector<float> f;
  std::vector<int64_t> i;

  int64_t size() const;
  double at(size_t k) const { return is_int ? static_cast<double>(i[k]) : static_cast<double>(f[k]); }
};

Result<ConstTensor> parse_tensor(const onnx::TensorProto& proto);

// A value in the graph while building: constant, or a float buffer filled at run time.
struct Value {
  std::vector<int64_t> dims;
  bool is_const = false;
  ConstTensor constant;
  int buffer = -1;  // Plan::buffers index when not constant
  // The layout of `buffer` when oneDNN chose a blocked one (conv, pooling chains); zero: plain.
  dnnl::memory::desc md;
};

// One step of a compiled plan; run() must not allocate.
class Step {
 public:
  virtual ~Step() = default;
  virtual void run(dnnl::stream& stream) = 0;
};

// A oneDNN primitive with its arguments bound to the plan's buffers. Runs through the C API with
// the argument array built once (the C++ execute() builds a vector on every call).
class PrimitiveStep final : public Step {
 public:
  PrimitiveStep(dnnl::primitive primitive, std::unordered_map<int, dnnl::memory> args)
      : primitive_(std::move(primitive)), args_(std::move(args)) {
    for (auto& [arg, mem] : args_) c_args_.push_back({arg, mem.get()});
  }
  void run(dnnl::stream& stream) override {
    dnnl::error::wrap_c_api(dnnl_primitive_execute(primitive_.get(), stream.get(), static_cast<int>(c_args_.size()),
                                                   c_args_.data()),
                            "could not execute a primitive");
  }

 private:
  dnnl::primitive primitive_;
  std::unordered_map<int, dnnl::memory> args_;  // keeps the memory objects alive
  std::vector<dnnl_exec_arg_t> c_args_;
};

// A plain loop (glue ops: transpose, slice, gather, broadcasting arithmetic).
class LambdaStep final : public Step {
 public:
  explicit LambdaStep(std::function<void()> fn) : fn_(std::move(fn)) {}
  void run(dnnl::stream& /*stream*/) override { fn_(); }

 private:
  std::function<void()> fn_;
};

// The graph compiled for one batch size: buffers allocated once, steps run in order.
struct Plan {
  std::vector<std::vector<float>> buffers;
  std::vector<std::unique_ptr<Step>> steps;
  int input_buffer = -1;
  std::vector<int> output_buffers;      // -1 where the output is constant
  std::vector<ConstTensor> const_outputs;  // filled where output_buffers is -1
  std::vector<std::vector<int64_t>> output_dims;
};

// State while one plan is built from the graph.
class Builder {
 public:
  Builder(Plan& plan, dnnl::engine& engine, std::string path) : plan_(plan), engine_(engine), path_(std::move(path)) {}

  Plan& plan() { return plan_; }
  int64_t opset() const { return opset_; }
  void set_opset(int64_t opset) { opset_ = opset; }
  dnnl::engine& engine() { return engine_; }
  std::unordered_map<std::string, Value>& values() { return values_; }

  // A new runtime buffer of `dims` elements; returns its index.
  int new_buffer(const std::vector<int64_t>& dims);
  float* data(int buffer) { return plan_.buffers[static_cast<size_t>(buffer)].data(); }
  // A oneDNN memory over a runtime buffer, in the plain layout of `dims`.
  dnnl::memory memory(int buffer, const std::vector<int64_t>& dims);
  // A oneDNN memory owning a copy of a constant, reordered into `want` if given.
  dnnl::memory constant_memory(const std::vector<float>& data, const dnnl::memory::desc& plain,
                               const dnnl::memory::desc& want);

  // Input `index` in the plain row-major layout (a reorder step is added if it was blocked).
  Result<const Value*> input(const onnx::NodeProto& node, int index);
  // Input `index` in whatever layout it has (for layout-aware oneDNN ops: check md).
  Result<const Value*> input_any(const onnx::NodeProto& node, int index);
  // A buffer big enough for `md` (blocked layouts pad channels).
  int new_buffer(const dnnl::memory::desc& md);
  // The oneDNN memory over a runtime value, in its layout.
  dnnl::memory memory_of(const Value& v);
  // A memory holding `v` in layout `want`: v's own memory, or a new buffer filled by a reorder step.
  dnnl::memory as_layout(const Value& v, const dnnl::memory::desc& want);
  // Declares `name` as a runtime value in layout `md` (plain when md is the plain layout of dims).
  Value& define(const std::string& name, const std::vector<int64_t>& dims, const dnnl::memory::desc& md);
  // Makes the value plain in place (reorder step); returns it.
  Value& to_plain(Value& v);
  bool has_input(const onnx::NodeProto& node, int index) const;
  // Declares output `index` of `node` as a runtime buffer of `dims`; returns the buffer.
  int output_buffer(const onnx::NodeProto& node, int index, const std::vector<int64_t>& dims);
  // Declares output `index` as an alias of an existing buffer with other dims (reshape).
  void output_alias(const onnx::NodeProto& node, int index, int buffer, const std::vector<int64_t>& dims);
  void output_const(const onnx::NodeProto& node, int index, ConstTensor tensor);
  // Number of nodes reading `name` (fusion only when a value has a single reader).
  int readers(const std::string& name) const;
  // The node reading `name` when exactly one does and it is not a graph output, else null.
  const onnx::NodeProto* sole_reader(const std::string& name) const;
  void set_readers(std::unordered_map<std::string, int> readers,
                   std::unordered_map<std::string, const onnx::NodeProto*> last_reader) {
    readers_ = std::move(readers);
    last_reader_ = std::move(last_reader);
  }
  // A node folded into its producer (a fused activation or bias): build_node skips it.
  void mark_fused(const onnx::NodeProto* node) { fused_.push_back(node); }
  bool is_fused(const onnx::NodeProto* node) const;

  void add_step(std::unique_ptr<Step> step) { plan_.steps.push_back(std::move(step)); }
  void add_primitive(dnnl::primitive primitive, std::unordered_map<int, dnnl::memory> args) {
    add_step(std::make_unique<PrimitiveStep>(std::move(primitive), std::move(args)));
  }
  // A primitive built with scratchpad_mode::user: its scratchpad is allocated here, once.
  void add_primitive(dnnl::primitive primitive, std::unordered_map<int, dnnl::memory> args,
                     const dnnl::memory::desc& scratchpad) {
    if (scratchpad.get_size() > 0) args[DNNL_ARG_SCRATCHPAD] = dnnl::memory(scratchpad, engine_);
    add_primitive(std::move(primitive), std::move(args));
  }
  // Attributes every primitive is built with (user scratchpad: no allocation per run).
  static dnnl::primitive_attr default_attr() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
  }
  void add_lambda(std::function<void()> fn) { add_step(std::make_unique<LambdaStep>(std::move(fn))); }

  Error error(const onnx::NodeProto& node, const std::string& what) const;

 private:
  Plan& plan_;
  dnnl::engine& engine_;
  std::string path_;
  int64_t opset_ = 13;
  std::unordered_map<std::string, Value> values_;
  std::unordered_map<std::string, int> readers_;
  std::unordered_map<std::string, const onnx::NodeProto*> last_reader_;
  std::vector<const onnx::NodeProto*> fused_;
};

// Attribute helpers.
int64_t attr_int(const onnx::NodeProto& node, const std::string& name, int64_t fallback);
float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback);
std::string attr_string(const onnx::NodeProto& node, const std::string& name, const std::string& fallback);
std::vector<int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name);
bool has_attr(const onnx::NodeProto& node, const std::string& name);

int64_t element_count(const std::vector<int64_t>& dims);
std::string dims_text(const std::vector<int64_t>& dims);
dnnl::memory::dims to_dnnl(const std::vector<int64_t>& dims);
dnnl::memory::format_tag plain_tag(size_t rank);

// Builds `node` into the plan: folds it when its inputs are constant, else adds steps.
// An operator nobody handles is an error naming the op and the node.
Status build_node(const onnx::NodeProto& node, Builder& builder);

// The oneDNN eltwise algorithm of an activation node (Relu, Tanh, Sigmoid, LeakyRelu, Clip...);
// false when `node` is not one this backend maps (or its parameters are not constant).
bool eltwise_of(const onnx::NodeProto& node, Builder& builder, dnnl::algorithm& alg, float& alpha, float& beta);
// If the sole reader of `output` is an activation, appends it to `ops`, marks it fused and
// returns the name its output goes by; else returns `output`.
std::string fuse_activation(const std::string& output, Builder& builder, dnnl::post_ops& ops);

// Families of builders (dnnl_ops_*.cc). Each returns false in `handled` for ops it does not own.
Status build_rnn(const onnx::NodeProto& node, Builder& builder, bool& handled);
Status build_dense(const onnx::NodeProto& node, Builder& builder, bool& handled);
Status build_elementwise(const onnx::NodeProto& node, Builder& builder, bool& handled);
Status build_glue(const onnx::NodeProto& node, Builder& builder, bool& handled);
// Constant folding of ops whose inputs are all known (dnnl_fold.cc); handled=false if it cannot.
Status fold_node(const onnx::NodeProto& node, Builder& builder, bool& handled);

}  // namespace edgeloop::models::dnnl_backend
