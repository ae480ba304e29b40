// A trained model loaded for inference: ONNX (OpenCV DNN, or oneDNN for recurrent graphs) or
// XGBoost. The contract every backend meets; stages, evaluations and benchmarks use only this.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace edgeloop::models {

// One input or output of a model: its name and shape with the batch dimension first
// (-1 where the model leaves a dimension open, e.g. the batch).
struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
};

// A loaded model. Not thread-safe (backends keep scratch buffers): one instance per thread.
// Loading and validation happen off the hot path; run() never blocks on I/O.
class TensorModel {
 public:
  virtual ~TensorModel() = default;
  virtual const std::vector<TensorInfo>& inputs() const = 0;
  virtual const std::vector<TensorInfo>& outputs() const = 0;
  // "opencv-dnn", "onednn", "xgboost": what runs it.
  virtual const std::string& backend() const = 0;
  // Runs `batch` samples of the (single) input, laid out contiguously, row-major, the batch
  // first: input.size() == batch * (product of inputs()[0].shape without the batch dim).
  // outputs[i] receives batch * (product of outputs()[i].shape without the batch dim) values.
  virtual Status run(std::span<const float> input, int batch, std::vector<std::vector<float>>& outputs) = 0;
};

enum class ModelFormat { kAuto, kOnnx, kXgboost };

struct LoadOptions {
  ModelFormat format = ModelFormat::kAuto;  // auto: by extension (.onnx; .json/.ubj for XGBoost)
  // ONNX: "auto" picks the measured-fastest backend that runs the graph ("opencv-dnn" for
  // feed-forward graphs, "onednn" for graphs with LSTM/GRU), or force one of them.
  std::string backend = "auto";
  // XGBoost: the number of features (its models do not always record it); 0: from the model.
  int64_t features = 0;
  // oneDNN: the threads one run may use (OpenMP, on the calling thread only). 1 (the default):
  // the shards are the parallelism. More shortens one large model's latency where it is the
  // gateway's main work (an inspection line on one camera). OpenCV DNN's pool is process-wide:
  // set_inference_threads.
  int threads = 1;
};

// Loads and checks a model file: parse errors, unsupported operators and shapes are errors
// naming the file and the reason. Never throws.
Result<std::unique_ptr<TensorModel>> load_tensor_model(const std::string& path, const LoadOptions& options = {});

}  // namespace edgeloop::models
