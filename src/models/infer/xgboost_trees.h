// XGBoost gbtree models evaluated natively from their JSON: libxgboost's C API costs 20-50 us
// per predict call on this machine whatever the model (it parses its JSON arguments and sets
// up its thread pool per call), while walking a few hundred small trees takes about a
// microsecond. The C API stays the loader and the reference: the model uses the trees only
// when they reproduce the C API's outputs on probe inputs (xgboost_model.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace edgeloop::models {

class TreeEnsemble {
 public:
  // How margins become predictions.
  enum class Link { kIdentity, kSigmoid, kExp, kSoftmax };

  // Reads a gbtree JSON model (numerical splits only). Errors say why it is not supported
  // here; the caller then keeps the C API.
  static Result<TreeEnsemble> from_json_file(const std::string& path);

  int64_t features() const { return features_; }
  int groups() const { return groups_; }  // margins per sample: classes, or 1
  Link link() const { return link_; }
  // margins[groups()] for one sample of features() values (NaN: missing).
  void margins(const float* x, float* out) const;

 private:
  struct Node {
    int32_t left = -1;  // -1: a leaf, whose value is `value`
    int32_t right = -1;
    uint32_t feature = 0;
    float value = 0;  // the split condition (go left when x < value), or the leaf value
    bool default_left = false;
  };
  std::vector<Node> nodes_;          // all trees, each a contiguous run
  std::vector<uint32_t> roots_;      // first node of each tree
  std::vector<int32_t> tree_group_;  // the margin each tree adds to
  int64_t features_ = 0;
  int groups_ = 1;
  float base_margin_ = 0;
  Link link_ = Link::kIdentity;
};

}  // namespace edgeloop::models
