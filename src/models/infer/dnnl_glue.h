// Index arithmetic shared by the glue ops and constant folding of the oneDNN backend.
#pragma once

#include <cstdint>
#include <vector>

#include "core/result.h"
#include "models/infer/dnnl_plan.h"

namespace edgeloop::models::dnnl_backend {

// Output dims and, for each output element, the source element it copies.
struct Mapped {
  std::vector<int64_t> dims;
  std::vector<int64_t> map;
};

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims);
std::vector<int64_t> affine_map(const std::vector<int64_t>& out_dims, const std::vector<int64_t>& strides, int64_t base);
Result<std::vector<int64_t>> broadcast_dims(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
// For each element of `out`, the element of `src` (numpy broadcasting) it reads.
std::vector<int64_t> broadcast_map(const std::vector<int64_t>& src, const std::vector<int64_t>& out);
ConstTensor apply_map(const ConstTensor& src, const Mapped& m);

}  // namespace edgeloop::models::dnnl_backend
