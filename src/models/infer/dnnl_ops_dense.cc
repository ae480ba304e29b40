// Gemm and MatMul (oneDNN matmul with the bias and activation fused), Conv 1D/2D (with a
// following BatchNormalization folded into its weights and the activation fused), pooling and a
// standalone BatchNormalization.
#include <cmath>

#include <onnx/onnx_pb.h>

#include "models/infer/dnnl_plan.h"

namespace edgeloop::models::dnnl_backend {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// A matmul [M,K] x const [K,N] (+ bias [N]) with post-ops; `out_name` receives [.., N].
Status emit_matmul(Builder& b, int src, int64_t m, int64_t k, int64_t n,
                   const std::vector<float>& weights_kn, const std::vector<float>* bias,
                   const std::vector<int64_t>& out_dims, const std::string& out_name, const dnnl::post_ops& ops) {
  const dnnl::memory::desc src_md({m, k}, dt::f32, tag::ab);
  const dnnl::memory::desc w_plain({k, n}, dt::f32, tag::ab);
  const dnnl::memory::desc w_any({k, n}, dt::f32, tag::any);
  const dnnl::memory::desc bias_md({1, n}, dt::f32, tag::ab);
  const dnnl::memory::desc dst_md({m, n}, dt::f32, tag::ab);
  auto attr = Builder::default_attr();
  attr.set_post_ops(ops);
  dnnl::matmul::desc d = bias ? dnnl::matmul::desc(src_md, w_any, bias_md, dst_md) : dnnl::matmul::desc(src_md, w_any, dst_md);
  dnnl::matmul::primitive_desc pd(d, attr, b.engine());
  std::unordered_map<int, dnnl::memory> args;
  args[DNNL_ARG_SRC] = dnnl::memory(src_md, b.engine(), b.data(src));
  args[DNNL_ARG_WEIGHTS] = b.constant_memory(weights_kn, w_plain, pd.weights_desc());
  if (bias) args[DNNL_ARG_BIAS] = b.constant_memory(*bias, bias_md, bias_md);
  // Plain [M,N] is the plain layout of out_dims too ([.., N] flattened), so the value is plain.
  Value& out = b.values()[out_name];
  out = Value{};
  out.dims = out_dims;
  out.buffer = b.new_buffer(out_dims);
  args[DNNL_ARG_DST] = dnnl::memory(dst_md, b.engine(), b.data(out.buffer));
  b.add_primitive(dnnl::matmul(pd), std::move(args), pd.scratchpad_desc());
  return Status::Ok();
}

Status build_gemm(const onnx::NodeProto& node, Builder& b) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* a, b.input(node, 0));
  EDGELOOP_ASSIGN_OR_RETURN(const Value* w, b.input(node, 1));
  if (a->is_const || !w->is_const || w->constant.is_int || a->dims.size() != 2 || w->dims.size() != 2)
    return b.error(node, "only a runtime [M,K] input times constant float weights is supported");
  if (attr_int(node, "transA", 0) != 0) return b.error(node, "transA=1 is not supported");
  const bool trans_b = attr_int(node, "transB", 0) != 0;
  const float alpha = attr_float(node, "alpha", 1.0f), beta = attr_float(node, "beta", 1.0f);
  const int64_t m = a->dims[0], k = a->dims[1];
  const int64_t n = trans_b ? w->dims[0] : w->dims[1];
  if ((trans_b ? w->dims[1] : w->dims[0]) != k)
    return b.error(node, "shapes " + dims_text(a->dims) + " and " + dims_text(w->dims) + " do not multiply");
  std::vector<float> kn(static_cast<size_t>(k * n));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      kn[static_cast<size_t>(i * n + j)] = alpha * w->constant.f[static_cast<size_t>(trans_b ? j * k + i : i * n + j)];
  std::vector<float> bias;
  if (b.has_input(node, 2)) {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* c, b.input(node, 2));
    if (!c->is_const || c->constant.is_int || (c->constant.size() != n && c->constant.size() != 1))
      return b.error(node, "C must be a constant of " + std::to_string(n) + " values or a scalar");
    for (int64_t j = 0; j < n; ++j) bias.push_back(beta * c->constant.f[c->constant.size() == 1 ? 0 : static_cast<size_t>(j)]);
  }
  dnnl::post_ops ops;
  const std::string out = fuse_activation(node.output(0), b, ops);
  return emit_matmul(b, a->buffer, m, k, n, kn, bias.empty() ? nullptr : &bias, {m, n}, out, ops);
}

Status build_matmul(const onnx::NodeProto& node, Builder& b) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* a, b.input(node, 0));
  EDGELOOP_ASSIGN_OR_RETURN(const Value* w, b.input(node, 1));
  if (a->is_const || !w->is_const || w->constant.is_int || w->dims.size() != 2 || a->dims.empty())
    return b.error(node, "only a runtime input times a constant 2D float matrix is supported");
  const int64_t k = a->dims.back(), n = w->dims[1];
  if (w->dims[0] != k) return b.error(node, "shapes " + dims_text(a->dims) + " and " + dims_text(w->dims) + " do not multiply");
  const int64_t m = element_count(a->dims) / std::max<int64_t>(k, 1);
  std::vector<int64_t> out_dims = a->dims;
  out_dims.back() = n;
  // A following Add of a constant [N] (torch's Linear on 3D input) becomes the matmul's bias.
  std::string out = node.output(0);
  std::vector<float> bias;
  if (const onnx::NodeProto* add = b.sole_reader(out); add && add->op_type() == "Add") {
    const std::string other = add->input(0) == out ? add->input(1) : add->input(0);
    auto it = b.values().find(other);
    if (it != b.values().end() && it->second.is_const && !it->second.constant.is_int && it->second.constant.size() == n &&
        it->second.dims.size() <= out_dims.size() && (it->second.dims.empty() || it->second.dims.back() == n)) {
      bias = it->second.constant.f;
      b.mark_fused(add);
      out = add->output(0);
    }
  }
  dnnl::post_ops ops;
  out = fuse_activation(out, b, ops);
  return emit_matmul(b, a->buffer, m, k, n, w->constant.f, bias.empty() ? nullptr : &bias, out_dims, out, ops);
}

// Pads from auto_pad or the pads attribute, for `spatial` dims.
void conv_pads(const onnx::NodeProto& node, const std::vector<int64_t>& in, const std::vector<int64_t>& kernel,
               const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations, std::vector<int64_t>& left,
               std::vector<int64_t>& right) {
  const size_t s = kernel.size();
  left.assign(s, 0);
  right.assign(s, 0);
  const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  const auto pads = attr_ints(node, "pads");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t k = 0; k < s; ++k) {
      const int64_t out = (in[k] + strides[k] - 1) / strides[k];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[k] + (kernel[k] - 1) * dilations[k] + 1 - in[k]);
      left[k] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      right[k] = total - left[k];
    }
  } else if (pads.size() == 2 * s) {
    for (size_t k = 0; k < s; ++k) {
      left[k] = pads[k];
      right[k] = pads[k + s];
    }
  }
}

std::vector<int64_t> or_ones(std::vector<int64_t> v, size_t n) {
  if (v.empty()) v.assign(n, 1);
  return v;
}

Status build_conv(const onnx::NodeProto& node, Builder& b) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input_any(node, 0));
  EDGELOOP_ASSIGN_OR_RETURN(const Value* w, b.input(node, 1));
  if (x->is_const || !w->is_const || w->constant.is_int) return b.error(node, "weights must be a float initializer");
  const size_t rank = x->dims.size();
  if (rank < 3 || rank > 5 || w->dims.size() != rank) return b.error(node, "input " + dims_text(x->dims) + " is not [N,C,spatial...]");
  const size_t s = rank - 2;
  const int64_t group = attr_int(node, "group", 1);
  const int64_t out_c = w->dims[0], in_c = x->dims[1];
  if (w->dims[1] * group != in_c) return b.error(node, "weights " + dims_text(w->dims) + " do not fit input " + dims_text(x->dims));
  const std::vector<int64_t> kernel(w->dims.begin() + 2, w->dims.end());
  const auto strides = or_ones(attr_ints(node, "strides"), s);
  const auto dilations = or_ones(attr_ints(node, "dilations"), s);
  const std::vector<int64_t> spatial(x->dims.begin() + 2, x->dims.end());
  std::vector<int64_t> pl, pr;
  conv_pads(node, spatial, kernel, strides, dilations, pl, pr);
  std::vector<int64_t> out_dims{x->dims[0], out_c};
  for (size_t k = 0; k < s; ++k)
    out_dims.push_back((spatial[k] + pl[k] + pr[k] - (kernel[k] - 1) * dilations[k] - 1) / strides[k] + 1);

  std::vector<float> weights = w->constant.f;
  std::vector<float> bias(static_cast<size_t>(out_c), 0.0f);
  if (b.has_input(node, 2)) {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* bv, b.input(node, 2));
    if (!bv->is_const || bv->constant.size() != out_c) return b.error(node, "bias must be a constant of " + std::to_string(out_c));
    bias = bv->constant.f;
  }
  // A BatchNormalization reading only this conv folds into its weights and bias.
  std::string out = node.output(0);
  if (const onnx::NodeProto* bn = b.sole_reader(out); bn && bn->op_type() == "BatchNormalization" && bn->input(0) == out) {
    std::vector<const Value*> p;
    for (int k = 1; k <= 4; ++k) {
      auto it = b.values().find(bn->input(k));
      if (it == b.values().end() || !it->second.is_const || it->second.constant.size() != out_c) break;
      p.push_back(&it->second);
    }
    if (p.size() == 4) {
      const float eps = attr_float(*bn, "epsilon", 1e-5f);
      const int64_t per_out = element_count(w->dims) / out_c;
      for (int64_t c = 0; c < out_c; ++c) {
        const auto ci = static_cast<size_t>(c);
        const float scale = p[0]->constant.f[ci] / std::sqrt(p[3]->constant.f[ci] + eps);
        for (int64_t j = 0; j < per_out; ++j) weights[static_cast<size_t>(c * per_out + j)] *= scale;
        bias[ci] = (bias[ci] - p[2]->constant.f[ci]) * scale + p[1]->constant.f[ci];
      }
      b.mark_fused(bn);
      out = bn->output(0);
    }
  }
  dnnl::post_ops ops;
  out = fuse_activation(out, b, ops);

  dnnl::memory::dims w_dims;
  if (group > 1) {
    w_dims = {group, out_c / group};
    w_dims.insert(w_dims.end(), w->dims.begin() + 1, w->dims.end());
  } else {
    w_dims = to_dnnl(w->dims);
  }
  const dnnl::memory::desc w_plain(w_dims, dt::f32, plain_tag(w_dims.size()));
  const dnnl::memory::desc w_any(w_dims, dt::f32, tag::any);
  const dnnl::memory::desc bias_md({out_c}, dt::f32, tag::a);
  // Layouts chosen by oneDNN (blocked channels): the next conv or pool reads them as they are.
  const dnnl::memory::desc src_md(to_dnnl(x->dims), dt::f32, tag::any);
  const dnnl::memory::desc dst_md(to_dnnl(out_dims), dt::f32, tag::any);
  dnnl::memory::dims d_strides(strides.begin(), strides.end()), d_dil, d_pl(pl.begin(), pl.end()), d_pr(pr.begin(), pr.end());
  for (int64_t d : dilations) d_dil.push_back(d - 1);  // oneDNN counts the gaps
  auto attr = Builder::default_attr();
  attr.set_post_ops(ops);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, w_any,
                                    bias_md, dst_md, d_strides, d_dil, d_pl, d_pr);
  dnnl::convolution_forward::primitive_desc pd(d, attr, b.engine());
  std::unordered_map<int, dnnl::memory> args;
  args[DNNL_ARG_SRC] = b.as_layout(*x, pd.src_desc());
  args[DNNL_ARG_WEIGHTS] = b.constant_memory(weights, w_plain, pd.weights_desc());
  args[DNNL_ARG_BIAS] = b.constant_memory(bias, bias_md, bias_md);
  args[DNNL_ARG_DST] = b.memory_of(b.define(out, out_dims, pd.dst_desc()));
  b.add_primitive(dnnl::convolution_forward(pd), std::move(args), pd.scratchpad_desc());
  return Status::Ok();
}

Status build_pool(const onnx::NodeProto& node, Builder& b) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input_any(node, 0));
  const size_t rank = x->dims.size();
  if (rank < 3 || x->is_const) return b.error(node, "input " + dims_text(x->dims) + " is not [N,C,spatial...]");
  const size_t s = rank - 2;
  const std::string& op = node.op_type();
  const bool global = op == "GlobalAveragePool" || op == "GlobalMaxPool";
  const std::vector<int64_t> spatial(x->dims.begin() + 2, x->dims.end());
  const std::vector<int64_t> kernel = global ? spatial : attr_ints(node, "kernel_shape");
  if (kernel.size() != s) return b.error(node, "kernel_shape does not match the input rank");
  const auto strides = global ? std::vector<int64_t>(s, 1) : or_ones(attr_ints(node, "strides"), s);
  const auto dilations = global ? std::vector<int64_t>(s, 1) : or_ones(attr_ints(node, "dilations"), s);
  std::vector<int64_t> pl(s, 0), pr(s, 0);
  if (!global) conv_pads(node, spatial, kernel, strides, dilations, pl, pr);
  const bool ceil_mode = attr_int(node, "ceil_mode", 0) != 0;
  std::vector<int64_t> out_dims{x->dims[0], x->dims[1]};
  for (size_t k = 0; k < s; ++k) {
    const int64_t span = spatial[k] + pl[k] + pr[k] - ((kernel[k] - 1) * dilations[k] + 1);
    const int64_t o = (ceil_mode ? (span + strides[k] - 1) / strides[k] : span / strides[k]) + 1;
    out_dims.push_back(o);
    // oneDNN wants the right padding that produces exactly `o` outputs.
    pr[k] = (o - 1) * strides[k] + (kernel[k] - 1) * dilations[k] + 1 - spatial[k] - pl[k];
  }
  const bool is_max = op == "MaxPool" || op == "GlobalMaxPool";
  const auto alg = is_max ? dnnl::algorithm::pooling_max
                   : attr_int(node, "count_include_pad", 0) != 0 ? dnnl::algorithm::pooling_avg_include_padding
                                                                 : dnnl::algorithm::pooling_avg_exclude_padding;
  dnnl::memory src = b.memory_of(*x);  // pooling keeps the layout it is given
  const dnnl::memory::desc src_md = src.get_desc();
  const dnnl::memory::desc dst_md(to_dnnl(out_dims), dt::f32, tag::any);
  dnnl::memory::dims d_k(kernel.begin(), kernel.end()), d_s(strides.begin(), strides.end()), d_dil, d_pl(pl.begin(), pl.end()),
      d_pr(pr.begin(), pr.end());
  for (int64_t d : dilations) d_dil.push_back(d - 1);
  dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, src_md, dst_md, d_s, d_k, d_dil, d_pl, d_pr);
  dnnl::pooling_v2_forward::primitive_desc pd(d, Builder::default_attr(), b.engine());
  dnnl::memory dst = b.memory_of(b.define(node.output(0), out_dims, pd.dst_desc()));
  b.add_primitive(dnnl::pooling_v2_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc());
  return Status::Ok();
}

// BatchNormalization not after a conv: y = x * scale[c] + shift[c].
Status build_batchnorm(const onnx::NodeProto& node, Builder& b) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input(node, 0));
  if (x->is_const || x->dims.size() < 2) return b.error(node, "input must be a runtime [N,C,...] tensor");
  const int64_t c = x->dims[1];
  std::vector<const Value*> p;
  for (int k = 1; k <= 4; ++k) {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* v, b.input(node, k));
    if (!v->is_const || v->constant.size() != c) return b.error(node, "scale, bias, mean and var must be constants of " + std::to_string(c));
    p.push_back(v);
  }
  const float eps = attr_float(node, "epsilon", 1e-5f);
  std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (size_t k = 0; k < scale.size(); ++k) {
    scale[k] = p[0]->constant.f[k] / std::sqrt(p[3]->constant.f[k] + eps);
    shift[k] = p[1]->constant.f[k] - p[2]->constant.f[k] * scale[k];
  }
  const int64_t outer = x->dims[0], inner = element_count(x->dims) / std::max<int64_t>(outer * c, 1);
  const float* src = b.data(x->buffer);
  float* dst = b.data(b.output_buffer(node, 0, x->dims));
  b.add_lambda([=] {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t base = (o * c + ch) * inner;
        const float sc = scale[static_cast<size_t>(ch)], sh = shift[static_cast<size_t>(ch)];
        for (int64_t i = 0; i < inner; ++i) dst[base + i] = src[base + i] * sc + sh;
      }
  });
  return Status::Ok();
}

}  // namespace

Status build_dense(const onnx::NodeProto& node, Builder& b, bool& handled) {
  const std::string& op = node.op_type();
  handled = true;
  if (op == "Gemm") return build_gemm(node, b);
  if (op == "MatMul") return build_matmul(node, b);
  if (op == "Conv") return build_conv(node, b);
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool") return build_pool(node, b);
  if (op == "BatchNormalization") return build_batchnorm(node, b);
  handled = false;
  return Status::Ok();
}

}  // namespace edgeloop::models::dnnl_backend
