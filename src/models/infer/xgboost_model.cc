#include "models/infer/xgboost_model.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>
#include <xgboost/c_api.h>

#include "models/infer/threads.h"
#include "models/infer/xgboost_trees.h"

namespace edgeloop::models {
namespace {

// How the booster's raw prediction becomes the outputs.
enum class Post { kValue, kProbs, kBinary, kSoftmax };

// XGBoost's messages read "[time] file:line: what", then a stack trace: keep "what".
std::string last_error() {
  const char* e = XGBGetLastError();
  std::string s = e ? e : "unknown error";
  s = s.substr(0, s.find('\n'));
  if (!s.empty() && s[0] == '[') {
    const auto close = s.find("] ");
    const auto colon = close == std::string::npos ? std::string::npos : s.find(": ", close);
    if (colon != std::string::npos) s = s.substr(colon + 2);
  }
  return s;
}

class XgboostModel final : public TensorModel {
 public:
  XgboostModel(BoosterHandle h, int64_t features, int64_t classes, Post post) : h_(h), features_(features), post_(post) {
    inputs_.push_back({"features", {-1, features}});
    outputs_.push_back({"y", {-1, classes}});
    classes_ = classes;
    // strict_shape false: [n] or [n, classes]. type 0: the prediction; 1: margins.
    std::snprintf(config_, sizeof(config_),
                  "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
                  "\"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}",
                  post == Post::kSoftmax ? 1 : 0);
  }
  ~XgboostModel() override { XGBoosterFree(h_); }
  XgboostModel(const XgboostModel&) = delete;
  XgboostModel& operator=(const XgboostModel&) = delete;

  const std::vector<TensorInfo>& inputs() const override { return inputs_; }
  const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  const std::string& backend() const override { return backend_; }

  Status run(std::span<const float> input, int batch, std::vector<std::vector<float>>& outputs) override {
    if (batch < 1 || static_cast<int64_t>(input.size()) != batch * features_) {
      return make_error(Errc::kInvalidArgument, "XGBoost model wants " + std::to_string(batch * features_) +
                                                    " values for a batch of " + std::to_string(batch) + " x " +
                                                    std::to_string(features_) + " features, got " +
                                                    std::to_string(input.size()));
    }
    if (trees_) return run_trees(input, batch, outputs);
    return run_capi(input, batch, outputs);
  }

  // Uses the trees when they give the C API's outputs (to 1e-5) on probe inputs: values around
  // zero, large ones of both signs, and missing ones.
  void try_trees(TreeEnsemble trees) {
    if (trees.features() != features_) return;
    if (trees.groups() != (post_ == Post::kBinary || post_ == Post::kValue ? 1 : static_cast<int>(classes_))) return;
    const int probes = 16;
    std::vector<float> x(static_cast<std::size_t>(probes * features_));
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double r = std::sin(0.7 * static_cast<double>(i) + 0.3);
      const int p = static_cast<int>(i / static_cast<std::size_t>(features_));
      x[i] = p == 0 ? 0.0f : p == 1 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(r * p * p);
    }
    std::vector<std::vector<float>> want, got;
    if (!run_capi(x, probes, want).ok()) return;
    auto candidate = std::make_unique<TreeEnsemble>(std::move(trees));
    trees_ = std::move(candidate);
    if (!run_trees(x, probes, got).ok() || got[0].size() != want[0].size()) {
      trees_.reset();
      return;
    }
    for (std::size_t i = 0; i < got[0].size(); ++i) {
      if (!(std::fabs(got[0][i] - want[0][i]) <= 1e-5f * std::max(1.0f, std::fabs(want[0][i])))) {
        trees_.reset();
        return;
      }
    }
  }

  bool uses_trees() const { return trees_ != nullptr; }

 private:
  Status run_trees(std::span<const float> input, int batch, std::vector<std::vector<float>>& outputs) {
    const std::size_t b = static_cast<std::size_t>(batch);
    const std::size_t k = static_cast<std::size_t>(classes_);
    const std::size_t groups = static_cast<std::size_t>(trees_->groups());
    margins_.resize(groups);
    outputs.resize(1);
    auto& out = outputs[0];
    out.resize(b * k);
    for (std::size_t i = 0; i < b; ++i) {
      trees_->margins(input.data() + i * static_cast<std::size_t>(features_), margins_.data());
      float* o = out.data() + i * k;
      switch (trees_->link()) {
        case TreeEnsemble::Link::kIdentity: o[0] = margins_[0]; break;
        case TreeEnsemble::Link::kExp: o[0] = std::exp(margins_[0]); break;
        case TreeEnsemble::Link::kSigmoid: {
          const float p = 1.0f / (1.0f + std::exp(-margins_[0]));
          if (post_ == Post::kBinary) {
            o[0] = 1.0f - p;
            o[1] = p;
          } else {
            o[0] = p;
          }
          break;
        }
        case TreeEnsemble::Link::kSoftmax: {
          float mx = margins_[0];
          for (std::size_t c = 1; c < k; ++c) mx = std::max(mx, margins_[c]);
          float sum = 0;
          for (std::size_t c = 0; c < k; ++c) sum += (o[c] = std::exp(margins_[c] - mx));
          for (std::size_t c = 0; c < k; ++c) o[c] /= sum;
          break;
        }
      }
    }
    return Status::Ok();
  }

  Status run_capi(std::span<const float> input, int batch, std::vector<std::vector<float>>& outputs) {
    if (batch < 1 || static_cast<int64_t>(input.size()) != batch * features_) {
      return make_error(Errc::kInvalidArgument, "XGBoost model wants " + std::to_string(batch * features_) +
                                                    " values for a batch of " + std::to_string(batch) + " x " +
                                                    std::to_string(features_) + " features, got " +
                                                    std::to_string(input.size()));
    }
    // The array interface carries the data pointer as an integer (no copy); a fixed buffer
    // keeps the hot path free of allocations.
    std::snprintf(array_, sizeof(array_),
                  "{\"data\": [%llu, true], \"shape\": [%d, %lld], \"typestr\": \"<f4\", \"version\": 3}",
                  static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(input.data())), batch,
                  static_cast<long long>(features_));
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    if (XGBoosterPredictFromDense(h_, array_, config_, nullptr, &shape, &dim, &result) != 0) {
      return make_error(Errc::kInternal, "XGBoost: " + last_error());
    }
    bst_ulong total = 1;
    for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
    outputs.resize(1);
    auto& out = outputs[0];
    out.resize(static_cast<std::size_t>(batch * classes_));
    const std::size_t b = static_cast<std::size_t>(batch);
    const std::size_t k = static_cast<std::size_t>(classes_);
    switch (post_) {
      case Post::kValue:
      case Post::kProbs:
        if (total != b * k) return make_error(Errc::kInternal, "XGBoost returned " + std::to_string(total) + " values");
        out.assign(result, result + total);
        break;
      case Post::kBinary:
        if (total != b) return make_error(Errc::kInternal, "XGBoost returned " + std::to_string(total) + " values");
        for (std::size_t i = 0; i < b; ++i) {
          out[2 * i] = 1.0f - result[i];
          out[2 * i + 1] = result[i];
        }
        break;
      case Post::kSoftmax:
        if (total != b * k) return make_error(Errc::kInternal, "XGBoost returned " + std::to_string(total) + " values");
        for (std::size_t i = 0; i < b; ++i) {
          const float* m = result + i * k;
          float mx = m[0];
          for (std::size_t c = 1; c < k; ++c) mx = std::max(mx, m[c]);
          float sum = 0;
          for (std::size_t c = 0; c < k; ++c) sum += (out[i * k + c] = std::exp(m[c] - mx));
          for (std::size_t c = 0; c < k; ++c) out[i * k + c] /= sum;
        }
        break;
    }
    return Status::Ok();
  }

  BoosterHandle h_;
  int64_t features_;
  int64_t classes_ = 1;
  Post post_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::string backend_ = "xgboost";
  char config_[256] = {};
  char array_[256] = {};
  std::unique_ptr<TreeEnsemble> trees_;
  std::vector<float> margins_;
};

Error file_error(Errc code, const std::string& path, const std::string& why) {
  return make_error(code, "model '" + path + "': " + why);
}

}  // namespace

bool xgboost_uses_native_trees(const TensorModel& model) {
  const auto* m = dynamic_cast<const XgboostModel*>(&model);
  return m != nullptr && m->uses_trees();
}

Result<std::unique_ptr<TensorModel>> load_xgboost_model(const std::string& path, int64_t features) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return file_error(Errc::kNotFound, path, "no such file");
  if (std::filesystem::file_size(path, ec) == 0) return file_error(Errc::kParse, path, "the file is empty");
  BoosterHandle h = nullptr;
  if (XGBoosterCreate(nullptr, 0, &h) != 0) return file_error(Errc::kInternal, path, "XGBoost: " + last_error());
  auto fail = [&](Errc code, const std::string& why) -> Error {
    XGBoosterFree(h);
    return file_error(code, path, why);
  };
  if (XGBoosterLoadModel(h, path.c_str()) != 0) {
    return fail(Errc::kParse, "not an XGBoost model (" + last_error() + ")");
  }
  const std::string threads = std::to_string(inference_threads());
  XGBoosterSetParam(h, "nthread", threads.c_str());
  bst_ulong nfeat = 0;
  if (XGBoosterGetNumFeature(h, &nfeat) != 0) return fail(Errc::kParse, "XGBoost: " + last_error());
  int64_t f = static_cast<int64_t>(nfeat);
  if (features > 0 && f > 0 && f != features) {
    return fail(Errc::kInvalidArgument, "the model was trained on " + std::to_string(f) + " features, " +
                                            std::to_string(features) + " configured");
  }
  if (f == 0) f = features;
  if (f <= 0) return fail(Errc::kInvalidArgument, "the model does not record its number of features: configure it");
  bst_ulong len = 0;
  const char* cfg = nullptr;
  if (XGBoosterSaveJsonConfig(h, &len, &cfg) != 0) return fail(Errc::kParse, "XGBoost: " + last_error());
  std::string objective;
  int64_t classes = 1;
  try {
    auto j = nlohmann::json::parse(std::string(cfg, len));
    objective = j.at("learner").at("objective").at("name").get<std::string>();
    const auto& nc = j.at("learner").at("learner_model_param").at("num_class");
    classes = nc.is_string() ? std::stoll(nc.get<std::string>()) : nc.get<int64_t>();
  } catch (const std::exception& e) {
    return fail(Errc::kParse, std::string("cannot read the model's objective: ") + e.what());
  }
  Post post = Post::kValue;
  if (objective == "multi:softprob") {
    post = Post::kProbs;
  } else if (objective == "multi:softmax") {
    post = Post::kSoftmax;
  } else if (objective == "binary:logistic") {
    post = Post::kBinary;
    classes = 2;
  } else {
    classes = 1;
  }
  if ((post == Post::kProbs || post == Post::kSoftmax) && classes < 2) {
    return fail(Errc::kParse, "objective " + objective + " with num_class " + std::to_string(classes));
  }
  auto model = std::make_unique<XgboostModel>(h, f, classes, post);
  // JSON models: the native trees when they match (UBJSON and anything they do not cover: the C API).
  if (std::ifstream probe(path, std::ios::binary); probe.get() == '{' && probe.get() == '"') {
    if (auto trees = TreeEnsemble::from_json_file(path); trees.ok()) model->try_trees(std::move(trees).value());
  }
  return std::unique_ptr<TensorModel>(std::move(model));
}

}  // namespace edgeloop::models
