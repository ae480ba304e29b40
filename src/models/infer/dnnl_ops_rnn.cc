// ONNX LSTM and GRU on oneDNN's RNN primitives.
// Gate orders: ONNX LSTM is i,o,f,c; oneDNN's is i,f,c,o. ONNX GRU z,r,h matches oneDNN's u,r,o.
// ONNX GRU linear_before_reset=1 (what torch exports) is oneDNN's lbr_gru, whose bias has a 4th
// gate: the recurrent bias of h, applied before the reset gate multiplies.
#include <algorithm>

#include <onnx/onnx_pb.h>

#include "models/infer/dnnl_plan.h"

namespace edgeloop::models::dnnl_backend {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct RnnKind {
  bool lstm = false;
  bool lbr = false;
  int gates = 0;       // gates in the weights
  int bias_gates = 0;  // gates in oneDNN's bias (lbr GRU: 4)
  std::vector<int> perm;  // oneDNN gate g reads ONNX gate perm[g]
};

// Weights [D, G*H, C] (ONNX) -> oneDNN ldgoi [1, D, G, H, C] with the gates permuted.
std::vector<float> permute_weights(const ConstTensor& w, const RnnKind& k, int64_t dirs, int64_t hidden, int64_t cols) {
  std::vector<float> out(w.f.size());
  for (int64_t d = 0; d < dirs; ++d)
    for (int g = 0; g < k.gates; ++g)
      for (int64_t h = 0; h < hidden; ++h) {
        const int64_t src = ((d * k.gates + k.perm[static_cast<size_t>(g)]) * hidden + h) * cols;
        const int64_t dst = ((d * k.gates + g) * hidden + h) * cols;
        std::copy_n(w.f.begin() + src, cols, out.begin() + dst);
      }
  return out;
}

// ONNX B [D, 2*G*H] (Wb then Rb) -> oneDNN ldgo [1, D, bias_gates, H].
std::vector<float> make_bias(const ConstTensor* b, const RnnKind& k, int64_t dirs, int64_t hidden) {
  std::vector<float> out(static_cast<size_t>(dirs * k.bias_gates * hidden), 0.0f);
  if (!b) return out;
  const int64_t row = 2 * k.gates * hidden;
  for (int64_t d = 0; d < dirs; ++d)
    for (int g = 0; g < k.bias_gates; ++g)
      for (int64_t h = 0; h < hidden; ++h) {
        float v = 0;
        const auto wb = [&](int gate) { return b->f[static_cast<size_t>(d * row + gate * hidden + h)]; };
        const auto rb = [&](int gate) { return b->f[static_cast<size_t>(d * row + (k.gates + gate) * hidden + h)]; };
        if (k.lbr && g == 2) v = wb(2);
        else if (k.lbr && g == 3) v = rb(2);
        else v = wb(k.perm[static_cast<size_t>(g)]) + rb(k.perm[static_cast<size_t>(g)]);
        out[static_cast<size_t>((d * k.bias_gates + g) * hidden + h)] = v;
      }
  return out;
}

bool all_zero(const ConstTensor& t) {
  return std::all_of(t.f.begin(), t.f.end(), [](float v) { return v == 0.0f; });
}

// One direction of one layer: weights W [G*H, C] and R [G*H, H] in ONNX layout, bias [2*G*H]
// (or null); h0/c0 null for a zero initial state.
Status emit_rnn(Builder& b, const RnnKind& kind, dnnl::rnn_direction dir, int64_t steps, int64_t batch, int64_t features,
                int64_t hidden, const ConstTensor& w, const ConstTensor& r, const ConstTensor* bias_in, float* src,
                const float* h0, const float* c0, float* dst_layer, float* dst_h, float* dst_c) {
  const dnnl::memory::desc src_layer_md({steps, batch, features}, dt::f32, tag::tnc);
  const dnnl::memory::desc iter_md({1, 1, batch, hidden}, dt::f32, tag::ldnc);
  const dnnl::memory::desc w_layer_any({1, 1, features, kind.gates, hidden}, dt::f32, tag::any);
  const dnnl::memory::desc w_iter_any({1, 1, hidden, kind.gates, hidden}, dt::f32, tag::any);
  const dnnl::memory::desc bias_md({1, 1, kind.bias_gates, hidden}, dt::f32, tag::ldgo);
  const dnnl::memory::desc dst_layer_md({steps, batch, hidden}, dt::f32, tag::tnc);
  const dnnl::memory::desc src_iter_md = h0 ? iter_md : dnnl::memory::desc();
  const dnnl::memory::desc src_iter_c_md = c0 ? iter_md : dnnl::memory::desc();
  const auto attr = Builder::default_attr();
  const auto prop = dnnl::prop_kind::forward_inference;
  dnnl::primitive primitive;
  dnnl::memory::desc scratchpad, w_layer_md, w_iter_md;
  if (kind.lstm) {
    dnnl::lstm_forward::desc d(prop, dir, src_layer_md, src_iter_md, src_iter_c_md, w_layer_any, w_iter_any, bias_md,
                               dst_layer_md, iter_md, iter_md);
    dnnl::lstm_forward::primitive_desc pd(d, attr, b.engine());
    primitive = dnnl::lstm_forward(pd);
    scratchpad = pd.scratchpad_desc();
    w_layer_md = pd.weights_layer_desc();
    w_iter_md = pd.weights_iter_desc();
  } else if (kind.lbr) {
    dnnl::lbr_gru_forward::desc d(prop, dir, src_layer_md, src_iter_md, w_layer_any, w_iter_any, bias_md, dst_layer_md, iter_md);
    dnnl::lbr_gru_forward::primitive_desc pd(d, attr, b.engine());
    primitive = dnnl::lbr_gru_forward(pd);
    scratchpad = pd.scratchpad_desc();
    w_layer_md = pd.weights_layer_desc();
    w_iter_md = pd.weights_iter_desc();
  } else {
    dnnl::gru_forward::desc d(prop, dir, src_layer_md, src_iter_md, w_layer_any, w_iter_any, bias_md, dst_layer_md, iter_md);
    dnnl::gru_forward::primitive_desc pd(d, attr, b.engine());
    primitive = dnnl::gru_forward(pd);
    scratchpad = pd.scratchpad_desc();
    w_layer_md = pd.weights_layer_desc();
    w_iter_md = pd.weights_iter_desc();
  }
  const dnnl::memory::desc w_layer_plain({1, 1, features, kind.gates, hidden}, dt::f32, tag::ldgoi);
  const dnnl::memory::desc w_iter_plain({1, 1, hidden, kind.gates, hidden}, dt::f32, tag::ldgoi);
  std::unordered_map<int, dnnl::memory> args;
  args[DNNL_ARG_SRC_LAYER] = dnnl::memory(src_layer_md, b.engine(), src);
  // oneDNN only reads the initial states: the casts drop a const its C++ API does not carry.
  if (h0) args[DNNL_ARG_SRC_ITER] = dnnl::memory(iter_md, b.engine(), const_cast<float*>(h0));
  if (c0) args[DNNL_ARG_SRC_ITER_C] = dnnl::memory(iter_md, b.engine(), const_cast<float*>(c0));
  args[DNNL_ARG_WEIGHTS_LAYER] = b.constant_memory(permute_weights(w, kind, 1, hidden, features), w_layer_plain, w_layer_md);
  args[DNNL_ARG_WEIGHTS_ITER] = b.constant_memory(permute_weights(r, kind, 1, hidden, hidden), w_iter_plain, w_iter_md);
  args[DNNL_ARG_BIAS] = b.constant_memory(make_bias(bias_in, kind, 1, hidden), bias_md, bias_md);
  args[DNNL_ARG_DST_LAYER] = dnnl::memory(dst_layer_md, b.engine(), dst_layer);
  args[DNNL_ARG_DST_ITER] = dnnl::memory(iter_md, b.engine(), dst_h);
  if (dst_c) args[DNNL_ARG_DST_ITER_C] = dnnl::memory(iter_md, b.engine(), dst_c);
  b.add_primitive(primitive, std::move(args), scratchpad);
  return Status::Ok();
}

}  // namespace

Status build_rnn(const onnx::NodeProto& node, Builder& b, bool& handled) {
  const std::string& op = node.op_type();
  handled = op == "LSTM" || op == "GRU";
  if (!handled) return Status::Ok();
  RnnKind kind;
  kind.lstm = op == "LSTM";
  kind.lbr = !kind.lstm && attr_int(node, "linear_before_reset", 0) != 0;
  kind.gates = kind.lstm ? 4 : 3;
  kind.bias_gates = kind.lbr ? 4 : kind.gates;
  kind.perm = kind.lstm ? std::vector<int>{0, 2, 3, 1} : std::vector<int>{0, 1, 2};

  if (attr_int(node, "layout", 0) != 0) return b.error(node, "layout=1 (batch first) is not supported");
  if (has_attr(node, "clip")) return b.error(node, "the clip attribute is not supported");
  if (attr_int(node, "input_forget", 0) != 0) return b.error(node, "input_forget=1 is not supported");
  for (const auto& a : node.attribute()) {
    if (a.name() != "activations") continue;
    const std::vector<std::string> def = kind.lstm ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                                   : std::vector<std::string>{"Sigmoid", "Tanh"};
    for (int k = 0; k < a.strings_size(); ++k)
      if (a.strings(k) != def[static_cast<size_t>(k) % def.size()])
        return b.error(node, "activation " + a.strings(k) + " is not supported (only the defaults)");
  }
  if (kind.lstm && b.has_input(node, 7)) return b.error(node, "peepholes (input P) are not supported");

  EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input(node, 0));
  EDGELOOP_ASSIGN_OR_RETURN(const Value* w, b.input(node, 1));
  EDGELOOP_ASSIGN_OR_RETURN(const Value* r, b.input(node, 2));
  if (x->is_const) return b.error(node, "a constant input sequence is not supported");
  if (!w->is_const || !r->is_const || w->constant.is_int || r->constant.is_int)
    return b.error(node, "weights W and R must be float initializers");
  if (x->dims.size() != 3) return b.error(node, "input X must be [steps, batch, features], got " + dims_text(x->dims));
  const int64_t steps = x->dims[0], batch = x->dims[1], features = x->dims[2];
  const int64_t hidden = attr_int(node, "hidden_size", w->dims.size() == 3 ? w->dims[1] / kind.gates : 0);
  const std::string direction = attr_string(node, "direction", "forward");
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  if (w->dims != std::vector<int64_t>{dirs, kind.gates * hidden, features})
    return b.error(node, "W has shape " + dims_text(w->dims) + ", expected " + dims_text({dirs, kind.gates * hidden, features}));
  if (r->dims != std::vector<int64_t>{dirs, kind.gates * hidden, hidden})
    return b.error(node, "R has shape " + dims_text(r->dims) + ", expected " + dims_text({dirs, kind.gates * hidden, hidden}));
  const ConstTensor* bias_in = nullptr;
  if (b.has_input(node, 3)) {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* bv, b.input(node, 3));
    if (!bv->is_const || bv->constant.is_int || bv->dims != std::vector<int64_t>{dirs, 2 * kind.gates * hidden})
      return b.error(node, "B must be a float initializer of shape " + dims_text({dirs, 2 * kind.gates * hidden}));
    bias_in = &bv->constant;
  }
  if (b.has_input(node, 4)) {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* lens, b.input(node, 4));
    const bool full = lens->is_const && std::all_of(lens->constant.i.begin(), lens->constant.i.end(),
                                                    [&](int64_t v) { return v == steps; });
    if (!full) return b.error(node, "sequence_lens shorter than the sequence are not supported");
  }

  // Initial states: absent or constant zeros -> oneDNN's zero state; else a [dirs, batch, hidden]
  // buffer (constants copied once).
  auto initial = [&](int index) -> Result<const float*> {
    if (!b.has_input(node, index)) return static_cast<const float*>(nullptr);
    EDGELOOP_ASSIGN_OR_RETURN(const Value* v, b.input(node, index));
    if (element_count(v->dims) != dirs * batch * hidden)
      return b.error(node, "initial state has shape " + dims_text(v->dims) + ", expected " + dims_text({dirs, batch, hidden}));
    if (v->is_const && all_zero(v->constant)) return static_cast<const float*>(nullptr);
    if (!v->is_const) return static_cast<const float*>(b.data(v->buffer));
    const int buffer = b.new_buffer(v->dims);
    std::copy(v->constant.f.begin(), v->constant.f.end(), b.data(buffer));
    return static_cast<const float*>(b.data(buffer));
  };
  EDGELOOP_ASSIGN_OR_RETURN(const float* h0, initial(5));
  const float* c0 = nullptr;
  if (kind.lstm) { EDGELOOP_ASSIGN_OR_RETURN(c0, initial(6)); }

  // Y: [steps, dirs, batch, hidden]. Two directions run as two unidirectional primitives (measured
  // faster than oneDNN's bidirectional_concat for small hidden sizes), each into its own
  // [steps, batch, hidden] buffer, interleaved after.
  const std::vector<int64_t> y_dims{steps, dirs, batch, hidden};
  const std::vector<int64_t> h_dims{dirs, batch, hidden};
  float* h_out = b.data(b.output_buffer(node, 1, h_dims));
  float* c_out = kind.lstm ? b.data(b.output_buffer(node, 2, h_dims)) : nullptr;
  std::vector<const float*> layer_out;
  int y_single = -1;
  const int64_t gh = kind.gates * hidden, state = batch * hidden;
  for (int64_t d = 0; d < dirs; ++d) {
    const bool backwards = dirs == 2 ? d == 1 : direction == "reverse";
    const auto dnnl_dir = backwards ? dnnl::rnn_direction::unidirectional_right2left : dnnl::rnn_direction::unidirectional_left2right;
    auto slice = [&](const ConstTensor& t, int64_t per_dir) {
      ConstTensor out;
      out.f.assign(t.f.begin() + d * per_dir, t.f.begin() + (d + 1) * per_dir);
      return out;
    };
    ConstTensor bias_d;
    if (bias_in) bias_d = slice(*bias_in, 2 * gh);
    const int dst = b.new_buffer({steps, batch, hidden});
    if (dirs == 1) y_single = dst;
    layer_out.push_back(b.data(dst));
    EDGELOOP_TRY(emit_rnn(b, kind, dnnl_dir, steps, batch, features, hidden, slice(w->constant, gh * features),
                          slice(r->constant, gh * hidden), bias_in ? &bias_d : nullptr, b.data(x->buffer),
                          h0 ? h0 + d * state : nullptr, c0 ? c0 + d * state : nullptr, b.data(dst), h_out + d * state,
                          c_out ? c_out + d * state : nullptr));
  }
  if (dirs == 1) {
    b.output_alias(node, 0, y_single, y_dims);
    return Status::Ok();
  }
  float* y = b.data(b.output_buffer(node, 0, y_dims));
  b.add_lambda([layer_out, y, steps, batch, hidden] {
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t d = 0; d < 2; ++d)
        std::copy_n(layer_out[static_cast<size_t>(d)] + t * batch * hidden, batch * hidden, y + (t * 2 + d) * batch * hidden);
  });
  return Status::Ok();
}

}  // namespace edgeloop::models::dnnl_backend
