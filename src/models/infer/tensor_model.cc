// load_tensor_model: picks the format and the backend, and checks the file before a backend
// runs it.
#include "models/infer/tensor_model.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <opencv2/core.hpp>
#include <spdlog/spdlog.h>

#include "models/infer/onnx_graph.h"
#include "models/infer/opencv_model.h"
#include "models/infer/threads.h"
#include "models/infer/xgboost_model.h"

#if defined(EDGELOOP_HAVE_DNNL_MODEL)
#include "models/infer/dnnl_model.h"
#endif

namespace edgeloop::models {
namespace {

std::atomic<int> g_threads{1};

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// By extension, else by the first byte: XGBoost JSON starts with '{', UBJSON with '{' too
// (its object marker); a protobuf ModelProto starts with a field tag (0x08: ir_version).
Result<ModelFormat> detect_format(const std::string& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".onnx") return ModelFormat::kOnnx;
  if (ext == ".json" || ext == ".ubj" || ext == ".xgb") return ModelFormat::kXgboost;
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::kNotFound, "model '" + path + "': cannot open the file");
  char c = 0;
  if (!in.get(c)) return make_error(Errc::kParse, "model '" + path + "': the file is empty");
  if (c == '{') return ModelFormat::kXgboost;
  if (c == 0x08) return ModelFormat::kOnnx;
  return make_error(Errc::kParse, "model '" + path +
                                      "': unknown format (not .onnx, .json or .ubj, and the content is neither)");
}

#if defined(EDGELOOP_HAVE_DNNL_MODEL)
// Do two models give the same outputs (1e-4, relative above 1) on one probe sample?
bool same_outputs(TensorModel& a, TensorModel& b) {
  int64_t n = 1;
  for (std::size_t i = 1; i < a.inputs()[0].shape.size(); ++i) n *= a.inputs()[0].shape[i];
  std::vector<float> x(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
  std::vector<std::vector<float>> ya, yb;
  if (!a.run(x, 1, ya).ok() || !b.run(x, 1, yb).ok() || ya.size() != yb.size()) return false;
  for (std::size_t o = 0; o < ya.size(); ++o) {
    if (ya[o].size() != yb[o].size()) return false;
    for (std::size_t i = 0; i < ya[o].size(); ++i) {
      const float tol = 1e-4f * std::max(1.0f, std::fabs(ya[o][i]));
      if (!(std::fabs(ya[o][i] - yb[o][i]) <= tol)) return false;
    }
  }
  return true;
}

// `auto`: oneDNN first, measured faster on every graph it runs (single thread, CPU time per
// sample: MLP 0.7 vs 1.0 us, 1D CNN on 4096 samples 35 vs 191 us, 4-block 2D CNN on 96x96
// 555 vs 1380 us), and the only one that runs torch's LSTM/GRU exports; OpenCV DNN for the
// graphs oneDNN does not run (e.g. Erf/GELU). Where both run a graph, their outputs must agree
// on a probe sample, else OpenCV's are trusted and the disagreement is logged.
Result<std::unique_ptr<TensorModel>> load_auto(const OnnxGraphInfo& graph, const std::string& path, int threads) {
  auto dnnl = load_dnnl_model(*graph.proto, path, threads);
  if (!dnnl.ok()) {
    auto cv = load_opencv_model(graph, path);
    if (cv.ok()) return cv;
    return make_error(cv.error().code, cv.error().message + "; and " + dnnl.error().message);
  }
  if (graph.recurrent) return dnnl;
  auto cv = load_opencv_model(graph, path);
  if (!cv.ok()) return dnnl;
  if (!same_outputs(**dnnl, **cv)) {
    spdlog::warn("model '{}': the oneDNN and OpenCV DNN backends disagree on a probe input; using OpenCV DNN", path);
    return cv;
  }
  return dnnl;
}
#endif

}  // namespace

void set_inference_threads(int n) {
  n = std::max(1, n);
  g_threads.store(n, std::memory_order_relaxed);
  cv::setNumThreads(n);
}

int inference_threads() { return g_threads.load(std::memory_order_relaxed); }

bool onednn_available() {
#if defined(EDGELOOP_HAVE_DNNL_MODEL)
  return true;
#else
  return false;
#endif
}

Result<std::unique_ptr<TensorModel>> load_tensor_model(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return make_error(Errc::kNotFound, "model '" + path + "': no such file");
  if (!std::filesystem::is_regular_file(path, ec)) {
    return make_error(Errc::kInvalidArgument, "model '" + path + "': not a regular file");
  }
  ModelFormat format = options.format;
  if (format == ModelFormat::kAuto) {
    EDGELOOP_ASSIGN_OR_RETURN(format, detect_format(path));
  }
  if (format == ModelFormat::kXgboost) return load_xgboost_model(path, options.features);

  EDGELOOP_ASSIGN_OR_RETURN(OnnxGraphInfo graph, read_onnx_graph(path));
  const std::string& backend = options.backend;
  if (backend != "auto" && backend != "opencv-dnn" && backend != "onednn") {
    return make_error(Errc::kInvalidArgument,
                      "model '" + path + "': unknown backend '" + backend + "' (auto, opencv-dnn or onednn)");
  }
#if defined(EDGELOOP_HAVE_DNNL_MODEL)
  if (backend == "onednn") return load_dnnl_model(*graph.proto, path, options.threads);
  if (backend == "auto") return load_auto(graph, path, options.threads);
#else
  if (backend == "onednn") {
    return make_error(Errc::kInvalidArgument, "model '" + path + "': this build has no oneDNN backend");
  }
#endif
  return load_opencv_model(graph, path);
}

}  // namespace edgeloop::models
