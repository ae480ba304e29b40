// Constant folding at build time: Constant, Shape, ConstantOfShape, Cast, Range and arithmetic on
// known values. Since a plan is built per batch size, every shape computation torch exports
// (Shape -> Gather -> Unsqueeze -> Concat -> ConstantOfShape for the initial RNN state) folds.
#include <cmath>

#include <onnx/onnx_pb.h>

#include "models/infer/dnnl_glue.h"
#include "models/infer/dnnl_plan.h"

namespace edgeloop::models::dnnl_backend {

namespace {

// Bounds what a malformed model can make the builder allocate while folding.
constexpr int64_t kMaxFoldedElements = int64_t{1} << 24;

ConstTensor ints(std::vector<int64_t> dims, std::vector<int64_t> values) {
  ConstTensor t;
  t.is_int = true;
  t.dims = std::move(dims);
  t.i = std::move(values);
  return t;
}

Status fold_constant(const onnx::NodeProto& node, Builder& b) {
  for (const auto& a : node.attribute()) {
    if (a.name() == "value") {
      auto t = parse_tensor(a.t());
      if (!t.ok()) return b.error(node, t.error().message);
      b.output_const(node, 0, std::move(*t));
      return Status::Ok();
    }
    if (a.name() == "value_float") {
      ConstTensor t;
      t.f = {a.f()};
      b.output_const(node, 0, std::move(t));
      return Status::Ok();
    }
    if (a.name() == "value_floats") {
      ConstTensor t;
      t.f.assign(a.floats().begin(), a.floats().end());
      t.dims = {static_cast<int64_t>(t.f.size())};
      b.output_const(node, 0, std::move(t));
      return Status::Ok();
    }
    if (a.name() == "value_int") {
      b.output_const(node, 0, ints({}, {a.i()}));
      return Status::Ok();
    }
    if (a.name() == "value_ints") {
      std::vector<int64_t> v(a.ints().begin(), a.ints().end());
      const auto n = static_cast<int64_t>(v.size());
      b.output_const(node, 0, ints({n}, std::move(v)));
      return Status::Ok();
    }
  }
  return b.error(node, "Constant without a supported value attribute");
}

double binary(const std::string& op, double x, double y, bool is_int) {
  if (op == "Add") return x + y;
  if (op == "Sub") return x - y;
  if (op == "Mul") return x * y;
  if (op == "Div") return is_int ? std::trunc(x / y) : x / y;
  if (op == "Pow") return std::pow(x, y);
  if (op == "Equal") return x == y;
  if (op == "Less") return x < y;
  if (op == "Greater") return x > y;
  if (op == "Max") return std::max(x, y);
  if (op == "Min") return std::min(x, y);
  return 0;
}

bool is_binary(const std::string& op) {
  return op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow" || op == "Equal" || op == "Less" ||
         op == "Greater" || op == "Max" || op == "Min";
}

bool is_unary(const std::string& op) {
  return op == "Neg" || op == "Sqrt" || op == "Relu" || op == "Abs" || op == "Not" || op == "Exp" || op == "Log" ||
         op == "Sigmoid" || op == "Tanh" || op == "Reciprocal" || op == "Floor" || op == "Ceil";
}

double unary(const std::string& op, double x) {
  if (op == "Neg") return -x;
  if (op == "Sqrt") return std::sqrt(x);
  if (op == "Relu") return std::max(x, 0.0);
  if (op == "Abs") return std::abs(x);
  if (op == "Not") return x == 0;
  if (op == "Exp") return std::exp(x);
  if (op == "Log") return std::log(x);
  if (op == "Sigmoid") return 1 / (1 + std::exp(-x));
  if (op == "Tanh") return std::tanh(x);
  if (op == "Reciprocal") return 1 / x;
  if (op == "Floor") return std::floor(x);
  return std::ceil(x);
}

void put(ConstTensor& t, double v) {
  if (t.is_int) t.i.push_back(static_cast<int64_t>(v));
  else t.f.push_back(static_cast<float>(v));
}

}  // namespace

Status fold_node(const onnx::NodeProto& node, Builder& b, bool& handled) {
  const std::string& op = node.op_type();
  handled = true;
  if (op == "Constant") return fold_constant(node, b);
  if (op == "Shape" || op == "Size") {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* in, b.input_any(node, 0));
    if (op == "Size") {
      b.output_const(node, 0, ints({}, {element_count(in->dims)}));
      return Status::Ok();
    }
    const auto rank = static_cast<int64_t>(in->dims.size());
    int64_t start = attr_int(node, "start", 0), end = attr_int(node, "end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, start, rank);
    std::vector<int64_t> v(in->dims.begin() + start, in->dims.begin() + end);
    const auto n = static_cast<int64_t>(v.size());
    b.output_const(node, 0, ints({n}, std::move(v)));
    return Status::Ok();
  }
  // The rest fold only when every input is known.
  for (int k = 0; k < node.input_size(); ++k) {
    if (node.input(k).empty()) continue;
    EDGELOOP_ASSIGN_OR_RETURN(const Value* v, b.input_any(node, k));
    if (!v->is_const) {
      handled = false;
      return Status::Ok();
    }
  }
  if (op == "ConstantOfShape") {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* shape, b.input(node, 0));
    ConstTensor out;
    for (int64_t k = 0; k < shape->constant.size(); ++k) out.dims.push_back(static_cast<int64_t>(shape->constant.at(static_cast<size_t>(k))));
    for (int64_t d : out.dims)
      if (d < 0 || d > kMaxFoldedElements) return b.error(node, "shape " + dims_text(out.dims) + " is out of range");
    if (element_count(out.dims) > kMaxFoldedElements) return b.error(node, "shape " + dims_text(out.dims) + " is too large");
    ConstTensor fill;
    fill.f = {0.0f};
    for (const auto& a : node.attribute()) {
      if (a.name() != "value") continue;
      auto t = parse_tensor(a.t());
      if (!t.ok()) return b.error(node, t.error().message);
      fill = std::move(*t);
    }
    out.is_int = fill.is_int;
    const int64_t n = element_count(out.dims);
    if (out.is_int) out.i.assign(static_cast<size_t>(n), fill.i.empty() ? 0 : fill.i[0]);
    else out.f.assign(static_cast<size_t>(n), fill.f.empty() ? 0.0f : fill.f[0]);
    b.output_const(node, 0, std::move(out));
    return Status::Ok();
  }
  if (op == "Cast") {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* in, b.input(node, 0));
    const int64_t to = attr_int(node, "to", onnx::TensorProto::FLOAT);
    ConstTensor out;
    out.dims = in->dims;
    out.is_int = !(to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE || to == onnx::TensorProto::FLOAT16);
    for (int64_t k = 0; k < in->constant.size(); ++k) {
      double v = in->constant.at(static_cast<size_t>(k));
      if (to == onnx::TensorProto::BOOL) v = v != 0;
      put(out, out.is_int ? std::trunc(v) : v);
    }
    b.output_const(node, 0, std::move(out));
    return Status::Ok();
  }
  if (op == "Range") {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* s, b.input(node, 0));
    EDGELOOP_ASSIGN_OR_RETURN(const Value* l, b.input(node, 1));
    EDGELOOP_ASSIGN_OR_RETURN(const Value* d, b.input(node, 2));
    const double start = s->constant.at(0), limit = l->constant.at(0), delta = d->constant.at(0);
    if (delta == 0) return b.error(node, "Range with delta 0");
    ConstTensor out;
    out.is_int = s->constant.is_int;
    const double count = std::max(0.0, std::ceil((limit - start) / delta));
    if (!(count <= static_cast<double>(kMaxFoldedElements))) return b.error(node, "Range of more than 2^24 values");
    const auto n = static_cast<int64_t>(count);
    for (int64_t k = 0; k < n; ++k) put(out, start + static_cast<double>(k) * delta);
    out.dims = {n};
    b.output_const(node, 0, std::move(out));
    return Status::Ok();
  }
  if (op == "Where") {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* c, b.input(node, 0));
    EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input(node, 1));
    EDGELOOP_ASSIGN_OR_RETURN(const Value* y, b.input(node, 2));
    auto xy = broadcast_dims(x->dims, y->dims);
    if (!xy.ok()) return b.error(node, xy.error().message);
    auto dims = broadcast_dims(c->dims, *xy);
    if (!dims.ok()) return b.error(node, dims.error().message);
    const auto mc = broadcast_map(c->dims, *dims), mx = broadcast_map(x->dims, *dims), my = broadcast_map(y->dims, *dims);
    ConstTensor out;
    out.is_int = x->constant.is_int;
    out.dims = *dims;
    for (size_t k = 0; k < mc.size(); ++k)
      put(out, c->constant.at(static_cast<size_t>(mc[k])) != 0 ? x->constant.at(static_cast<size_t>(mx[k]))
                                                                 : y->constant.at(static_cast<size_t>(my[k])));
    b.output_const(node, 0, std::move(out));
    return Status::Ok();
  }
  if (is_binary(op)) {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input(node, 0));
    EDGELOOP_ASSIGN_OR_RETURN(const Value* y, b.input(node, 1));
    auto dims = broadcast_dims(x->dims, y->dims);
    if (!dims.ok()) return b.error(node, dims.error().message);
    const auto mx = broadcast_map(x->dims, *dims), my = broadcast_map(y->dims, *dims);
    ConstTensor out;
    const bool compare = op == "Equal" || op == "Less" || op == "Greater";
    out.is_int = compare || (x->constant.is_int && y->constant.is_int);
    out.dims = *dims;
    for (size_t k = 0; k < mx.size(); ++k)
      put(out, binary(op, x->constant.at(static_cast<size_t>(mx[k])), y->constant.at(static_cast<size_t>(my[k])), out.is_int));
    b.output_const(node, 0, std::move(out));
    return Status::Ok();
  }
  if (is_unary(op)) {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* x, b.input(node, 0));
    ConstTensor out;
    out.is_int = x->constant.is_int;
    out.dims = x->dims;
    for (int64_t k = 0; k < x->constant.size(); ++k) put(out, unary(op, x->constant.at(static_cast<size_t>(k))));
    b.output_const(node, 0, std::move(out));
    return Status::Ok();
  }
  handled = false;  // glue ops (Reshape, Gather, ...) fold in build_glue
  return Status::Ok();
}

}  // namespace edgeloop::models::dnnl_backend
