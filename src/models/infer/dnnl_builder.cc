// The plan builder: values, buffers, attributes, and the per-node dispatch.
#include <cstring>

#include <onnx/onnx_pb.h>

#include "models/infer/dnnl_plan.h"

namespace edgeloop::models::dnnl_backend {

int64_t ConstTensor::size() const { return is_int ? static_cast<int64_t>(i.size()) : static_cast<int64_t>(f.size()); }

int64_t element_count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t k = 0; k < dims.size(); ++k) s += (k ? "," : "") + std::to_string(dims[k]);
  return s + "]";
}

dnnl::memory::dims to_dnnl(const std::vector<int64_t>& dims) {
  dnnl::memory::dims out(dims.begin(), dims.end());
  if (out.empty()) out.push_back(1);  // oneDNN has no rank-0 tensors
  return out;
}

dnnl::memory::format_tag plain_tag(size_t rank) {
  using tag = dnnl::memory::format_tag;
  switch (rank) {
    case 0:
    case 1: return tag::a;
    case 2: return tag::ab;
    case 3: return tag::abc;
    case 4: return tag::abcd;
    case 5: return tag::abcde;
    default: return tag::abcdef;
  }
}

namespace {

template <class T>
void copy_raw(const std::string& raw, std::vector<T>& out) {
  out.resize(raw.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
}

}  // namespace

Result<ConstTensor> parse_tensor(const onnx::TensorProto& proto) {
  ConstTensor t;
  t.dims.assign(proto.dims().begin(), proto.dims().end());
  if (proto.data_location() == onnx::TensorProto::EXTERNAL)
    return make_error(Errc::kInvalidArgument, "tensor '" + proto.name() + "' uses external data, which is not supported");
  const bool raw = proto.has_raw_data();
  switch (proto.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (raw) copy_raw(proto.raw_data(), t.f);
      else t.f.assign(proto.float_data().begin(), proto.float_data().end());
      break;
    case onnx::TensorProto::DOUBLE: {
      std::vector<double> d;
      if (raw) copy_raw(proto.raw_data(), d);
      else d.assign(proto.double_data().begin(), proto.double_data().end());
      for (double v : d) t.f.push_back(static_cast<float>(v));
      break;
    }
    case onnx::TensorProto::INT64:
      t.is_int = true;
      if (raw) copy_raw(proto.raw_data(), t.i);
      else t.i.assign(proto.int64_data().begin(), proto.int64_data().end());
      break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL: {
      t.is_int = true;
      if (raw) {
        const std::string& r = proto.raw_data();
        if (proto.data_type() == onnx::TensorProto::INT32) {
          std::vector<int32_t> v;
          copy_raw(r, v);
          t.i.assign(v.begin(), v.end());
        } else if (proto.data_type() == onnx::TensorProto::INT8) {
          for (char c : r) t.i.push_back(static_cast<int8_t>(c));
        } else {
          for (char c : r) t.i.push_back(static_cast<uint8_t>(c));
        }
      } else {
        t.i.assign(proto.int32_data().begin(), proto.int32_data().end());
      }
      break;
    }
    default:
      return make_error(Errc::kInvalidArgument, "tensor '" + proto.name() + "' has data type " +
                                                    std::to_string(proto.data_type()) + ", which is not supported");
  }
  if (t.size() != element_count(t.dims))
    return make_error(Errc::kParse, "tensor '" + proto.name() + "' holds " + std::to_string(t.size()) +
                                        " values for shape " + dims_text(t.dims));
  return t;
}

int Builder::new_buffer(const std::vector<int64_t>& dims) {
  plan_.buffers.emplace_back(static_cast<size_t>(std::max<int64_t>(element_count(dims), 1)), 0.0f);
  return static_cast<int>(plan_.buffers.size() - 1);
}

dnnl::memory Builder::memory(int buffer, const std::vector<int64_t>& dims) {
  dnnl::memory::desc md(to_dnnl(dims), dnnl::memory::data_type::f32, plain_tag(dims.size()));
  return dnnl::memory(md, engine_, data(buffer));
}

dnnl::memory Builder::constant_memory(const std::vector<float>& values, const dnnl::memory::desc& plain,
                                      const dnnl::memory::desc& want) {
  dnnl::memory src(plain, engine_);
  std::memcpy(src.get_data_handle(), values.data(), values.size() * sizeof(float));
  if (want == plain) return src;
  dnnl::memory dst(want, engine_);
  dnnl::stream stream(engine_);
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
  return dst;
}

bool Builder::has_input(const onnx::NodeProto& node, int index) const {
  return index < node.input_size() && !node.input(index).empty();
}

Result<const Value*> Builder::input_any(const onnx::NodeProto& node, int index) {
  if (!has_input(node, index)) return error(node, "input " + std::to_string(index) + " is missing");
  auto it = values_.find(node.input(index));
  if (it == values_.end()) return error(node, "input '" + node.input(index) + "' is not produced by any earlier node");
  return &it->second;
}

Result<const Value*> Builder::input(const onnx::NodeProto& node, int index) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* v, input_any(node, index));
  if (v->is_const || v->md.is_zero()) return v;
  return &to_plain(values_[node.input(index)]);
}

int Builder::new_buffer(const dnnl::memory::desc& md) {
  const size_t n = (md.get_size() + sizeof(float) - 1) / sizeof(float);
  plan_.buffers.emplace_back(std::max<size_t>(n, 1), 0.0f);
  return static_cast<int>(plan_.buffers.size() - 1);
}

namespace {
dnnl::memory::desc plain_desc(const std::vector<int64_t>& dims) {
  return dnnl::memory::desc(to_dnnl(dims), dnnl::memory::data_type::f32, plain_tag(dims.size()));
}
}  // namespace

dnnl::memory Builder::memory_of(const Value& v) {
  return dnnl::memory(v.md.is_zero() ? plain_desc(v.dims) : v.md, engine_, data(v.buffer));
}

dnnl::memory Builder::as_layout(const Value& v, const dnnl::memory::desc& want) {
  dnnl::memory have = memory_of(v);
  if (have.get_desc() == want) return have;
  dnnl::memory out(want, engine_, data(new_buffer(want)));
  add_primitive(dnnl::reorder(have, out), {{DNNL_ARG_FROM, have}, {DNNL_ARG_TO, out}});
  return out;
}

Value& Builder::define(const std::string& name, const std::vector<int64_t>& dims, const dnnl::memory::desc& md) {
  Value& v = values_[name];
  v = Value{};
  v.dims = dims;
  if (md == plain_desc(dims)) {
    v.buffer = new_buffer(dims);
  } else {
    v.md = md;
    v.buffer = new_buffer(md);
  }
  return v;
}

Value& Builder::to_plain(Value& v) {
  if (v.md.is_zero()) return v;
  dnnl::memory have = memory_of(v);
  const int buffer = new_buffer(v.dims);
  dnnl::memory out(plain_desc(v.dims), engine_, data(buffer));
  add_primitive(dnnl::reorder(have, out), {{DNNL_ARG_FROM, have}, {DNNL_ARG_TO, out}});
  v.buffer = buffer;
  v.md = dnnl::memory::desc();
  return v;
}

int Builder::output_buffer(const onnx::NodeProto& node, int index, const std::vector<int64_t>& dims) {
  const int buffer = new_buffer(dims);
  if (index < node.output_size() && !node.output(index).empty()) {
    Value& v = values_[node.output(index)];
    v.dims = dims;
    v.buffer = buffer;
  }
  return buffer;
}

void Builder::output_alias(const onnx::NodeProto& node, int index, int buffer, const std::vector<int64_t>& dims) {
  if (index >= node.output_size() || node.output(index).empty()) return;
  Value& v = values_[node.output(index)];
  v.dims = dims;
  v.buffer = buffer;
}

void Builder::output_const(const onnx::NodeProto& node, int index, ConstTensor tensor) {
  if (index >= node.output_size() || node.output(index).empty()) return;
  Value& v = values_[node.output(index)];
  v.dims = tensor.dims;
  v.is_const = true;
  v.constant = std::move(tensor);
}

int Builder::readers(const std::string& name) const {
  auto it = readers_.find(name);
  return it == readers_.end() ? 0 : it->second;
}

const onnx::NodeProto* Builder::sole_reader(const std::string& name) const {
  if (readers(name) != 1) return nullptr;
  auto it = last_reader_.find(name);
  return it == last_reader_.end() ? nullptr : it->second;
}

bool Builder::is_fused(const onnx::NodeProto* node) const {
  for (const auto* n : fused_)
    if (n == node) return true;
  return false;
}

Error Builder::error(const onnx::NodeProto& node, const std::string& what) const {
  return make_error(Errc::kInvalidArgument,
                    path_ + ": node '" + node.name() + "' (" + node.op_type() + "): " + what);
}

namespace {

const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

}  // namespace

bool has_attr(const onnx::NodeProto& node, const std::string& name) { return find_attr(node, name) != nullptr; }

int64_t attr_int(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->i() : fallback;
}

float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->f() : fallback;
}

std::string attr_string(const onnx::NodeProto& node, const std::string& name, const std::string& fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->s() : fallback;
}

std::vector<int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name) {
  const auto* a = find_attr(node, name);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}

Status build_node(const onnx::NodeProto& node, Builder& builder) {
  if (builder.is_fused(&node)) return Status::Ok();
  bool handled = false;
  EDGELOOP_TRY(fold_node(node, builder, handled));
  if (handled) return Status::Ok();
  EDGELOOP_TRY(build_rnn(node, builder, handled));
  if (handled) return Status::Ok();
  EDGELOOP_TRY(build_dense(node, builder, handled));
  if (handled) return Status::Ok();
  EDGELOOP_TRY(build_elementwise(node, builder, handled));
  if (handled) return Status::Ok();
  EDGELOOP_TRY(build_glue(node, builder, handled));
  if (handled) return Status::Ok();
  return builder.error(node, "operator " + node.op_type() + " is not supported by the oneDNN backend");
}

}  // namespace edgeloop::models::dnnl_backend
