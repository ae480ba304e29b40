// Layout glue torch exports emit around RNNs and heads: Reshape, Flatten, Squeeze, Unsqueeze,
// Identity (aliases, no copy), Transpose, Slice, Gather, Expand (an index map computed once at
// build time), Concat. Works on constants (folded at build time) and on runtime buffers.
#include <algorithm>
#include <cstring>
#include <limits>

#include <onnx/onnx_pb.h>

#include "models/infer/dnnl_glue.h"
#include "models/infer/dnnl_plan.h"

namespace edgeloop::models::dnnl_backend {

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t k = dims.size(); k-- > 1;) s[k - 1] = s[k] * dims[k];
  return s;
}

std::vector<int64_t> affine_map(const std::vector<int64_t>& out_dims, const std::vector<int64_t>& strides, int64_t base) {
  const int64_t n = element_count(out_dims);
  std::vector<int64_t> map(static_cast<size_t>(n));
  std::vector<int64_t> idx(out_dims.size(), 0);
  int64_t offset = base;
  for (int64_t k = 0; k < n; ++k) {
    map[static_cast<size_t>(k)] = offset;
    for (size_t a = out_dims.size(); a-- > 0;) {
      if (++idx[a] < out_dims[a]) {
        offset += strides[a];
        break;
      }
      offset -= strides[a] * (out_dims[a] - 1);
      idx[a] = 0;
    }
  }
  return map;
}

Result<std::vector<int64_t>> broadcast_dims(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t k = 0; k < rank; ++k) {
    const int64_t da = k + a.size() >= rank ? a[k + a.size() - rank] : 1;
    const int64_t db = k + b.size() >= rank ? b[k + b.size() - rank] : 1;
    if (da != db && da != 1 && db != 1)
      return make_error(Errc::kInvalidArgument, "shapes " + dims_text(a) + " and " + dims_text(b) + " do not broadcast");
    out[k] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> broadcast_map(const std::vector<int64_t>& src, const std::vector<int64_t>& out) {
  const auto src_strides = strides_of(src);
  std::vector<int64_t> strides(out.size(), 0);
  for (size_t k = 0; k < src.size(); ++k) {
    const size_t o = k + out.size() - src.size();
    strides[o] = src[k] == 1 ? 0 : src_strides[k];
  }
  return affine_map(out, strides, 0);
}

ConstTensor apply_map(const ConstTensor& src, const Mapped& m) {
  ConstTensor out;
  out.is_int = src.is_int;
  out.dims = m.dims;
  if (src.is_int) {
    out.i.resize(m.map.size());
    for (size_t k = 0; k < m.map.size(); ++k) out.i[k] = src.i[static_cast<size_t>(m.map[k])];
  } else {
    out.f.resize(m.map.size());
    for (size_t k = 0; k < m.map.size(); ++k) out.f[k] = src.f[static_cast<size_t>(m.map[k])];
  }
  return out;
}

namespace {

int64_t norm_axis(int64_t axis, size_t rank) { return axis < 0 ? axis + static_cast<int64_t>(rank) : axis; }

// Axes from the attribute (older opsets) or from input `index` (opset 13 and later).
Result<std::vector<int64_t>> axes_of(const onnx::NodeProto& node, Builder& b, int index) {
  if (has_attr(node, "axes")) return attr_ints(node, "axes");
  if (!b.has_input(node, index)) return std::vector<int64_t>{};
  EDGELOOP_ASSIGN_OR_RETURN(const Value* v, b.input(node, index));
  if (!v->is_const) return b.error(node, "axes must be constant");
  std::vector<int64_t> out;
  for (int64_t k = 0; k < v->constant.size(); ++k) out.push_back(static_cast<int64_t>(v->constant.at(static_cast<size_t>(k))));
  return out;
}

Result<std::vector<int64_t>> const_ints(const onnx::NodeProto& node, Builder& b, int index) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* v, b.input(node, index));
  if (!v->is_const) return b.error(node, "input " + std::to_string(index) + " must be constant");
  std::vector<int64_t> out;
  for (int64_t k = 0; k < v->constant.size(); ++k) out.push_back(static_cast<int64_t>(v->constant.at(static_cast<size_t>(k))));
  return out;
}

// Output dims of the aliasing ops; nullopt-like error when the op is not one of them.
Result<std::vector<int64_t>> alias_dims(const onnx::NodeProto& node, Builder& b, const std::vector<int64_t>& in) {
  const std::string& op = node.op_type();
  if (op == "Identity" || op == "Dropout") return in;
  if (op == "Flatten") {
    const int64_t axis = norm_axis(attr_int(node, "axis", 1), in.size());
    if (axis < 0 || axis > static_cast<int64_t>(in.size())) return b.error(node, "axis out of range for " + dims_text(in));
    int64_t outer = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= in[static_cast<size_t>(k)];
    return std::vector<int64_t>{outer, element_count(in) / std::max<int64_t>(outer, 1)};
  }
  if (op == "Squeeze") {
    EDGELOOP_ASSIGN_OR_RETURN(auto axes, axes_of(node, b, 1));
    for (auto& a : axes) a = norm_axis(a, in.size());
    std::vector<int64_t> out;
    for (size_t k = 0; k < in.size(); ++k) {
      const bool listed = std::find(axes.begin(), axes.end(), static_cast<int64_t>(k)) != axes.end();
      if (listed && in[k] != 1) return b.error(node, "cannot squeeze axis " + std::to_string(k) + " of " + dims_text(in));
      if (axes.empty() ? in[k] == 1 : listed) continue;
      out.push_back(in[k]);
    }
    return out;
  }
  if (op == "Unsqueeze") {
    EDGELOOP_ASSIGN_OR_RETURN(auto axes, axes_of(node, b, 1));
    const size_t rank = in.size() + axes.size();
    for (auto& a : axes) a = norm_axis(a, rank);
    std::vector<int64_t> out;
    size_t src = 0;
    for (size_t k = 0; k < rank; ++k) {
      if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(k)) != axes.end()) out.push_back(1);
      else if (src < in.size()) out.push_back(in[src++]);
    }
    return out;
  }
  // Reshape
  EDGELOOP_ASSIGN_OR_RETURN(auto shape, const_ints(node, b, 1));
  const bool allowzero = attr_int(node, "allowzero", 0) != 0;
  int64_t known = 1;
  int infer = -1;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 0 && !allowzero) shape[k] = k < in.size() ? in[k] : 1;
    if (shape[k] == -1) infer = static_cast<int>(k);
    else known *= shape[k];
  }
  if (infer >= 0) shape[static_cast<size_t>(infer)] = known ? element_count(in) / known : 0;
  if (element_count(shape) != element_count(in))
    return b.error(node, "cannot reshape " + dims_text(in) + " into " + dims_text(shape));
  return shape;
}

Result<Mapped> transpose_geometry(const onnx::NodeProto& node, Builder& b, const std::vector<int64_t>& in) {
  auto perm = attr_ints(node, "perm");
  if (perm.empty())
    for (size_t k = in.size(); k-- > 0;) perm.push_back(static_cast<int64_t>(k));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 0; k < sorted.size(); ++k)
    if (sorted.size() != in.size() || sorted[k] != static_cast<int64_t>(k))
      return b.error(node, "perm is not a permutation of the axes of " + dims_text(in));
  const auto src_strides = strides_of(in);
  Mapped m;
  std::vector<int64_t> strides;
  for (int64_t p : perm) {
    m.dims.push_back(in[static_cast<size_t>(p)]);
    strides.push_back(src_strides[static_cast<size_t>(p)]);
  }
  m.map = affine_map(m.dims, strides, 0);
  return m;
}

Result<Mapped> slice_geometry(const onnx::NodeProto& node, Builder& b, const std::vector<int64_t>& in) {
  std::vector<int64_t> starts, ends, axes, steps;
  if (has_attr(node, "starts")) {  // opset 1..9
    starts = attr_ints(node, "starts");
    ends = attr_ints(node, "ends");
    axes = attr_ints(node, "axes");
  } else {
    EDGELOOP_ASSIGN_OR_RETURN(starts, const_ints(node, b, 1));
    EDGELOOP_ASSIGN_OR_RETURN(ends, const_ints(node, b, 2));
    if (b.has_input(node, 3)) { EDGELOOP_ASSIGN_OR_RETURN(axes, const_ints(node, b, 3)); }
    if (b.has_input(node, 4)) { EDGELOOP_ASSIGN_OR_RETURN(steps, const_ints(node, b, 4)); }
  }
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return b.error(node, "starts, ends, axes and steps differ in length");
  const auto src_strides = strides_of(in);
  Mapped m;
  m.dims = in;
  std::vector<int64_t> strides = src_strides;
  int64_t base = 0;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t axis = norm_axis(axes[k], in.size());
    if (axis < 0 || axis >= static_cast<int64_t>(in.size())) return b.error(node, "axis out of range for " + dims_text(in));
    const auto a = static_cast<size_t>(axis);
    const int64_t dim = in[a];
    const int64_t step = steps[k];
    if (step == 0) return b.error(node, "slice step 0");
    int64_t s = starts[k] < 0 ? starts[k] + dim : starts[k];
    int64_t e = ends[k] < 0 ? ends[k] + dim : ends[k];
    int64_t count = 0;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      count = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      count = s > e ? (s - e - step - 1) / -step : 0;
    }
    m.dims[a] = count;
    strides[a] = src_strides[a] * step;
    base += s * src_strides[a];
  }
  m.map = affine_map(m.dims, strides, base);
  return m;
}

Result<Mapped> gather_geometry(const onnx::NodeProto& node, Builder& b, const std::vector<int64_t>& in) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* idx, b.input(node, 1));
  if (!idx->is_const) return b.error(node, "indices must be constant");
  const int64_t signed_axis = norm_axis(attr_int(node, "axis", 0), in.size());
  if (signed_axis < 0 || signed_axis >= static_cast<int64_t>(in.size())) return b.error(node, "axis out of range for " + dims_text(in));
  const auto axis = static_cast<size_t>(signed_axis);
  Mapped m;
  m.dims.assign(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(axis));
  m.dims.insert(m.dims.end(), idx->constant.dims.begin(), idx->constant.dims.end());
  m.dims.insert(m.dims.end(), in.begin() + static_cast<std::ptrdiff_t>(axis) + 1, in.end());
  int64_t outer = 1, inner = 1;
  for (size_t k = 0; k < axis; ++k) outer *= in[k];
  for (size_t k = axis + 1; k < in.size(); ++k) inner *= in[k];
  const int64_t n_idx = idx->constant.size();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < n_idx; ++j) {
      int64_t g = static_cast<int64_t>(idx->constant.at(static_cast<size_t>(j)));
      if (g < 0) g += in[axis];
      if (g < 0 || g >= in[axis]) return b.error(node, "index " + std::to_string(g) + " out of range");
      for (int64_t r = 0; r < inner; ++r) m.map.push_back((o * in[axis] + g) * inner + r);
    }
  }
  return m;
}

Result<Mapped> expand_geometry(const onnx::NodeProto& node, Builder& b, const std::vector<int64_t>& in) {
  EDGELOOP_ASSIGN_OR_RETURN(auto shape, const_ints(node, b, 1));
  auto dims = broadcast_dims(in, shape);
  if (!dims.ok()) return b.error(node, dims.error().message);
  Mapped m;
  m.dims = *dims;
  m.map = broadcast_map(in, m.dims);
  return m;
}

// Pad (constant mode): map entries of -1 read the constant.
Result<Mapped> pad_geometry(const onnx::NodeProto& node, Builder& b, const std::vector<int64_t>& in, float& fill) {
  if (attr_string(node, "mode", "constant") != "constant") return b.error(node, "only mode=constant is supported");
  std::vector<int64_t> pads;
  if (has_attr(node, "pads")) pads = attr_ints(node, "pads");
  else { EDGELOOP_ASSIGN_OR_RETURN(pads, const_ints(node, b, 1)); }
  fill = attr_float(node, "value", 0.0f);
  if (b.has_input(node, 2)) {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* v, b.input(node, 2));
    if (!v->is_const || v->constant.size() != 1) return b.error(node, "constant_value must be a constant scalar");
    fill = static_cast<float>(v->constant.at(0));
  }
  std::vector<int64_t> axes;
  if (b.has_input(node, 3)) { EDGELOOP_ASSIGN_OR_RETURN(axes, const_ints(node, b, 3)); }
  if (axes.empty())
    for (size_t k = 0; k < in.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (pads.size() != 2 * axes.size()) return b.error(node, "pads has " + std::to_string(pads.size()) + " values");
  std::vector<int64_t> begin(in.size(), 0), end(in.size(), 0);
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t axis = norm_axis(axes[k], in.size());
    if (axis < 0 || axis >= static_cast<int64_t>(in.size())) return b.error(node, "axis out of range");
    const auto a = static_cast<size_t>(axis);
    if (pads[k] < 0 || pads[k + axes.size()] < 0) return b.error(node, "negative pads are not supported");
    begin[a] = pads[k];
    end[a] = pads[k + axes.size()];
  }
  Mapped m;
  for (size_t k = 0; k < in.size(); ++k) m.dims.push_back(in[k] + begin[k] + end[k]);
  const auto src_strides = strides_of(in);
  const int64_t n = element_count(m.dims);
  std::vector<int64_t> idx(m.dims.size(), 0);
  m.map.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    int64_t src = 0;
    for (size_t a = 0; a < idx.size() && src >= 0; ++a) {
      const int64_t i = idx[a] - begin[a];
      src = i < 0 || i >= in[a] ? -1 : src + i * src_strides[a];
    }
    m.map[static_cast<size_t>(k)] = src;
    for (size_t a = idx.size(); a-- > 0;) {
      if (++idx[a] < m.dims[a]) break;
      idx[a] = 0;
    }
  }
  return m;
}

// ReduceMean/ReduceSum/ReduceMax over constant axes: for each input element, its output element.
Status build_reduce(const onnx::NodeProto& node, Builder& b) {
  EDGELOOP_ASSIGN_OR_RETURN(const Value* in, b.input(node, 0));
  if (in->is_const) return b.error(node, "constant input");
  EDGELOOP_ASSIGN_OR_RETURN(auto axes, axes_of(node, b, 1));
  const size_t rank = in->dims.size();
  if (axes.empty() && attr_int(node, "noop_with_empty_axes", 0) == 0)
    for (size_t k = 0; k < rank; ++k) axes.push_back(static_cast<int64_t>(k));
  for (auto& a : axes) a = norm_axis(a, rank);
  const bool keep = attr_int(node, "keepdims", 1) != 0;
  std::vector<int64_t> kept_dims, out_dims, out_strides_full(rank, 0);
  for (size_t k = 0; k < rank; ++k) {
    const bool reduced = std::find(axes.begin(), axes.end(), static_cast<int64_t>(k)) != axes.end();
    kept_dims.push_back(reduced ? 1 : in->dims[k]);
    if (!reduced || keep) out_dims.push_back(reduced ? 1 : in->dims[k]);
  }
  const auto kept_strides = strides_of(kept_dims);
  for (size_t k = 0; k < rank; ++k) out_strides_full[k] = kept_dims[k] == 1 ? 0 : kept_strides[k];
  std::vector<int64_t> to_out = affine_map(in->dims, out_strides_full, 0);
  const int64_t n_out = element_count(out_dims);
  const float count = static_cast<float>(element_count(in->dims) / std::max<int64_t>(n_out, 1));
  const int op = node.op_type() == "ReduceMean" ? 0 : node.op_type() == "ReduceSum" ? 1 : 2;
  const float* src = b.data(in->buffer);
  float* dst = b.data(b.output_buffer(node, 0, out_dims));
  b.add_lambda([=] {
    const float init = op == 2 ? -std::numeric_limits<float>::infinity() : 0.0f;
    std::fill(dst, dst + n_out, init);
    for (size_t k = 0; k < to_out.size(); ++k) {
      float& o = dst[to_out[k]];
      o = op == 2 ? std::max(o, src[k]) : o + src[k];
    }
    if (op == 0)
      for (int64_t k = 0; k < n_out; ++k) dst[k] /= count;
  });
  return Status::Ok();
}

Status build_concat(const onnx::NodeProto& node, Builder& b) {
  std::vector<const Value*> parts;
  for (int k = 0; k < node.input_size(); ++k) {
    EDGELOOP_ASSIGN_OR_RETURN(const Value* v, b.input(node, k));
    if (v->dims.empty() && v->is_const && v->constant.size() == 0) continue;
    parts.push_back(v);
  }
  if (parts.empty()) return b.error(node, "no inputs");
  const size_t rank = parts[0]->dims.size();
  const int64_t signed_axis = norm_axis(attr_int(node, "axis", 0), rank);
  if (signed_axis < 0 || signed_axis >= static_cast<int64_t>(rank)) return b.error(node, "axis out of range");
  const auto axis = static_cast<size_t>(signed_axis);
  std::vector<int64_t> dims = parts[0]->dims;
  dims[axis] = 0;
  bool all_const = true;
  for (const Value* v : parts) {
    if (v->dims.size() != rank) return b.error(node, "inputs differ in rank");
    dims[axis] += v->dims[axis];
    all_const = all_const && v->is_const;
  }
  int64_t outer = 1;
  for (size_t k = 0; k < axis; ++k) outer *= dims[k];
  if (all_const) {
    ConstTensor out;
    out.is_int = parts[0]->constant.is_int;
    out.dims = dims;
    for (int64_t o = 0; o < outer; ++o) {
      for (const Value* v : parts) {
        const int64_t chunk = v->constant.size() / std::max<int64_t>(outer, 1);
        for (int64_t r = 0; r < chunk; ++r) {
          const size_t at = static_cast<size_t>(o * chunk + r);
          if (out.is_int) out.i.push_back(static_cast<int64_t>(v->constant.at(at)));
          else out.f.push_back(static_cast<float>(v->constant.at(at)));
        }
      }
    }
    b.output_const(node, 0, std::move(out));
    return Status::Ok();
  }
  // Runtime: constants become buffers filled once (the copy per run reads them like the rest).
  struct Part {
    const float* src;
    int64_t chunk;
  };
  std::vector<Part> sources;
  for (const Value* v : parts) {
    const int64_t chunk = element_count(v->dims) / std::max<int64_t>(outer, 1);
    if (v->is_const) {
      if (v->constant.is_int) return b.error(node, "cannot concatenate integer constants with float values");
      const int buf = b.new_buffer(v->dims);
      std::copy(v->constant.f.begin(), v->constant.f.end(), b.data(buf));
      sources.push_back({b.data(buf), chunk});
    } else {
      sources.push_back({b.data(v->buffer), chunk});
    }
  }
  float* dst = b.data(b.output_buffer(node, 0, dims));
  b.add_lambda([sources, dst, outer] {
    float* out = dst;
    for (int64_t o = 0; o < outer; ++o) {
      for (const Part& p : sources) {
        std::memcpy(out, p.src + o * p.chunk, static_cast<size_t>(p.chunk) * sizeof(float));
        out += p.chunk;
      }
    }
  });
  return Status::Ok();
}

}  // namespace

Status build_glue(const onnx::NodeProto& node, Builder& b, bool& handled) {
  const std::string& op = node.op_type();
  handled = true;
  if (op == "Concat") return build_concat(node, b);
  if (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax") return build_reduce(node, b);
  const bool alias = op == "Identity" || op == "Dropout" || op == "Flatten" || op == "Squeeze" ||
                     op == "Unsqueeze" || op == "Reshape";
  const bool mapped = op == "Transpose" || op == "Slice" || op == "Gather" || op == "Expand" || op == "Pad";
  if (!alias && !mapped) {
    handled = false;
    return Status::Ok();
  }
  EDGELOOP_ASSIGN_OR_RETURN(const Value* in, b.input(node, 0));
  const Value src = *in;  // the values map may rehash when outputs are added
  if (alias) {
    EDGELOOP_ASSIGN_OR_RETURN(auto dims, alias_dims(node, b, src.dims));
    if (src.is_const) {
      ConstTensor t = src.constant;
      t.dims = dims;
      b.output_const(node, 0, std::move(t));
    } else {
      b.output_alias(node, 0, src.buffer, dims);
    }
    return Status::Ok();
  }
  float fill = 0;
  Result<Mapped> geometry = op == "Transpose" ? transpose_geometry(node, b, src.dims)
                            : op == "Slice"   ? slice_geometry(node, b, src.dims)
                            : op == "Gather"  ? gather_geometry(node, b, src.dims)
                            : op == "Pad"     ? pad_geometry(node, b, src.dims, fill)
                                              : expand_geometry(node, b, src.dims);
  if (!geometry.ok()) return geometry.error();
  if (op == "Pad") {
    if (src.is_const) return b.error(node, "padding a constant is not supported");
    const float* s = b.data(src.buffer);
    float* d = b.data(b.output_buffer(node, 0, geometry->dims));
    b.add_lambda([s, d, fill, map = std::move(geometry->map)] {
      const size_t n = map.size();
      for (size_t k = 0; k < n; ++k) d[k] = map[k] < 0 ? fill : s[map[k]];
    });
    return Status::Ok();
  }
  if (src.is_const) {
    b.output_const(node, 0, apply_map(src.constant, *geometry));
    return Status::Ok();
  }
  const float* s = b.data(src.buffer);
  float* d = b.data(b.output_buffer(node, 0, geometry->dims));
  std::vector<int64_t> map = std::move(geometry->map);
  b.add_lambda([s, d, map = std::move(map)] {
    const size_t n = map.size();
    for (size_t k = 0; k < n; ++k) d[k] = s[map[k]];
  });
  return Status::Ok();
}

}  // namespace edgeloop::models::dnnl_backend
