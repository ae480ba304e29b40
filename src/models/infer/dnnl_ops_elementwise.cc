// Activations (oneDNN eltwise, fused into the producer where it is a Conv/Gemm/MatMul), softmax,
// and broadcasting arithmetic between runtime values and constants.
#include <limits>

#include <onnx/onnx_pb.h>

#include "models/infer/dnnl_glue.h"
#include "models/infer/dnnl_plan.h"

namespace edgeloop::models::dnnl_backend {

namespace {

using dt = dnnl::memory::data_type;

bool const_scalar(const onnx::NodeProto& node, Builder& b, int index, float& out) {
  if (!b.has_input(node, index)) return true;
  auto v = b.input(node, index);
  if (!v.ok() || !(*v)->is_const || (*v)->constant.size() != 1) return false;
  out = static_cast<float>((*v)->constant.at(0));
  return true;
}

}  // namespace

bool eltwise_of(const onnx::NodeProto& node, Builder& b, dnnl::algorithm& alg, float& alpha, float& beta) {
  const std::string& op = node.op_type();
  alpha = 0;
  beta = 0;
  if (op == "Relu") alg = dnnl::algorithm::eltwise_relu;
  else if (op == "LeakyRelu") {
    alg = dnnl::algorithm::eltwise_relu;
    alpha = attr_float(node, "alpha", 0.01f);
  } else if (op == "Tanh") alg = dnnl::algorithm::eltwise_tanh;
  else if (op == "Sigmoid") alg = dnnl::algorithm::eltwise_logistic;
  else if (op == "Elu") {
    alg = dnnl::algorithm::eltwise_elu;
    alpha = attr_float(node, "alpha", 1.0f);
  } else if (op == "Exp") alg = dnnl::algorithm::eltwise_exp;
  else if (op == "Log") alg = dnnl::algorithm::eltwise_log;
  else if (op == "Abs") alg = dnnl::algorithm::eltwise_abs;
  else if (op == "Sqrt") alg = dnnl::algorithm::eltwise_sqrt;
  else if (op == "Softplus") {
    alg = dnnl::algorithm::eltwise_soft_relu;
  } else if (op == "HardSwish") {
    alg = dnnl::algorithm::eltwise_hardswish;
  } else if (op == "Clip") {
    alg = dnnl::algorithm::eltwise_clip_v2;
    alpha = attr_float(node, "min", std::numeric_limits<float>::lowest());
    beta = attr_float(node, "max", std::numeric_limits<float>::max());
    if (!const_scalar(node, b, 1, alpha) || !const_scalar(node, b, 2, beta)) return false;
  } else {
    return false;
  }
  return true;
}

std::string fuse_activation(const std::string& output, Builder& b, dnnl::post_ops& ops) {
  const onnx::NodeProto* reader = b.sole_reader(output);
  if (!reader) return output;
  dnnl::algorithm alg;
  float alpha = 0, beta = 0;
  if (!eltwise_of(*reader, b, alg, alpha, beta) || reader->input(0) != output) return output;
  ops.append_eltwise(1.0f, alg, alpha, beta);
  b.mark_fused(reader);
  return reader->output(0);
}

namespace {

Status build_eltwise(const onnx::NodeProto& node, Builder& b, dnnl::algorithm alg, float alpha, float beta) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input_any(node, 0));
  if (x->is_const) return b.error(node, "constant input");
  const std::vector<int64_t> dims = x->dims;
  auto src_mem = b.memory_of(*x);  // any layout: elementwise
  dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, src_mem.get_desc(), alpha, beta);
  dnnl::eltwise_forward::primitive_desc pd(d, Builder::default_attr(), b.engine());
  auto dst_mem = b.memory_of(b.define(node.output(0), dims, src_mem.get_desc()));
  b.add_primitive(dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_DST, dst_mem}}, pd.scratchpad_desc());
  return Status::Ok();
}

Status build_softmax(const onnx::NodeProto& node, Builder& b) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input(node, 0));
  const std::vector<int64_t> dims = x->dims;
  const auto rank = static_cast<int64_t>(dims.size());
  const bool legacy = b.opset() < 13;
  int64_t axis = attr_int(node, "axis", legacy ? 1 : -1);
  if (axis < 0) axis += rank;
  std::vector<int64_t> view = dims;
  if (legacy && axis != rank - 1) {  // opset < 13: softmax over the flattened trailing dims
    int64_t outer = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= dims[static_cast<size_t>(k)];
    view = {outer, element_count(dims) / std::max<int64_t>(outer, 1)};
    axis = 1;
  }
  const int src = x->buffer;
  const int dst = b.output_buffer(node, 0, dims);
  auto src_mem = b.memory(src, view);
  auto dst_mem = b.memory(dst, view);
  const int dnnl_axis = static_cast<int>(axis);
  if (node.op_type() == "LogSoftmax") {
    dnnl::logsoftmax_forward::desc d(dnnl::prop_kind::forward_inference, src_mem.get_desc(), dnnl_axis);
    dnnl::logsoftmax_forward::primitive_desc pd(d, Builder::default_attr(), b.engine());
    b.add_primitive(dnnl::logsoftmax_forward(pd), {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_DST, dst_mem}}, pd.scratchpad_desc());
  } else {
    dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, src_mem.get_desc(), dnnl_axis);
    dnnl::softmax_forward::primitive_desc pd(d, Builder::default_attr(), b.engine());
    b.add_primitive(dnnl::softmax_forward(pd), {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_DST, dst_mem}}, pd.scratchpad_desc());
  }
  return Status::Ok();
}

// Add/Sub/Mul/Div with numpy broadcasting; at least one side is a runtime buffer.
// Two runtime values of one shape (a residual connection): oneDNN's binary in their layout, with
// a following activation fused.
Status build_same_shape_binary(const onnx::NodeProto& node, Builder& b, const Value& x, const Value& y) {
  const std::string& op = node.op_type();
  const auto alg = op == "Add" ? dnnl::algorithm::binary_add : op == "Sub" ? dnnl::algorithm::binary_sub
                   : op == "Mul" ? dnnl::algorithm::binary_mul : dnnl::algorithm::binary_div;
  auto x_mem = b.memory_of(x);
  const auto md = x_mem.get_desc();
  auto y_mem = b.as_layout(y, md);
  dnnl::post_ops ops;
  const std::string out = fuse_activation(node.output(0), b, ops);
  auto attr = Builder::default_attr();
  attr.set_post_ops(ops);
  dnnl::binary::desc d(alg, md, md, md);
  dnnl::binary::primitive_desc pd(d, attr, b.engine());
  auto dst = b.memory_of(b.define(out, x.dims, md));
  b.add_primitive(dnnl::binary(pd), {{DNNL_ARG_SRC_0, x_mem}, {DNNL_ARG_SRC_1, y_mem}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc());
  return Status::Ok();
}

Status build_binary(const onnx::NodeProto& node, Builder& b) {
  {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input_any(node, 0));
    EDGELOOP_ASSIGN_OR_RETURN(const Value* y, b.input_any(node, 1));
    if (!x->is_const && !y->is_const && x->dims == y->dims) return build_same_shape_binary(node, b, *x, *y);
  }
  EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input(node, 0));
  EDGELOOP_ASSIGN_OR_RETURN(const Value* y, b.input(node, 1));
  auto dims = broadcast_dims(x->dims, y->dims);
  if (!dims.ok()) return b.error(node, dims.error().message);
  auto source = [&](const Value* v) -> Result<const float*> {
    if (!v->is_const) return static_cast<const float*>(b.data(v->buffer));
    if (v->constant.is_int) return b.error(node, "integer operand");
    const int buf = b.new_buffer(v->dims);
    std::copy(v->constant.f.begin(), v->constant.f.end(), b.data(buf));
    return static_cast<const float*>(b.data(buf));
  };
  EDGELOOP_ASSIGN_OR_RETURN(const float* xs, source(x));
  EDGELOOP_ASSIGN_OR_RETURN(const float* ys, source(y));
  const bool x_full = x->dims == *dims, y_full = y->dims == *dims;
  std::vector<int64_t> mx, my;
  if (!x_full) mx = broadcast_map(x->dims, *dims);
  if (!y_full) my = broadcast_map(y->dims, *dims);
  const int op = node.op_type() == "Add" ? 0 : node.op_type() == "Sub" ? 1 : node.op_type() == "Mul" ? 2 : 3;
  const auto n = static_cast<size_t>(element_count(*dims));
  float* out = b.data(b.output_buffer(node, 0, *dims));
  b.add_lambda([=] {
    auto apply = [op](float a, float c) { return op == 0 ? a + c : op == 1 ? a - c : op == 2 ? a * c : a / c; };
    if (mx.empty() && my.empty()) {
      for (size_t k = 0; k < n; ++k) out[k] = apply(xs[k], ys[k]);
    } else {
      for (size_t k = 0; k < n; ++k)
        out[k] = apply(mx.empty() ? xs[k] : xs[mx[k]], my.empty() ? ys[k] : ys[my[k]]);
    }
  });
  return Status::Ok();
}

}  // namespace

Status build_elementwise(const onnx::NodeProto& node, Builder& b, bool& handled) {
  const std::string& op = node.op_type();
  handled = true;
  if (op == "Softmax" || op == "LogSoftmax") return build_softmax(node, b);
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return build_binary(node, b);
  dnnl::algorithm alg;
  float alpha = 0, beta = 0;
  if (eltwise_of(node, b, alg, alpha, beta)) return build_eltwise(node, b, alg, alpha, beta);
  handled = false;
  return Status::Ok();
}

}  // namespace edgeloop::models::dnnl_backend
