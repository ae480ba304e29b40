// Reading an ONNX file through libonnx-dev's protobuf classes: the graph's inputs and outputs
// with their shapes (OpenCV DNN does not expose them), the opset, and the operators, so that
// a model is checked, and its backend chosen, before any backend sees it.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "models/infer/tensor_model.h"

namespace onnx {
class ModelProto;
}

namespace edgeloop::models {

// The ONNX opsets this runtime accepts (the exports of torch 1.13 default to 13 or 14).
inline constexpr int64_t kMinOpset = 11;
inline constexpr int64_t kMaxOpset = 17;

struct OnnxGraphInfo {
  std::shared_ptr<const onnx::ModelProto> proto;
  int64_t opset = 0;
  std::vector<TensorInfo> inputs;   // graph inputs that are not initializers; open dims -1
  std::vector<TensorInfo> outputs;
  std::set<std::string> op_types;   // of the main graph's nodes
  bool recurrent = false;           // has LSTM, GRU or RNN nodes
};

// Reads and checks `path`: a protobuf ONNX model with one input, opset in [kMinOpset,
// kMaxOpset], float tensors. Errors name the file and the reason.
Result<OnnxGraphInfo> read_onnx_graph(const std::string& path);

// "[-1,30,14]".
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace edgeloop::models
