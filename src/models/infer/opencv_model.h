// The OpenCV DNN 4.6 backend for ONNX graphs (feed-forward: MLPs, 1D and 2D CNNs).
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "models/infer/onnx_graph.h"
#include "models/infer/tensor_model.h"

namespace edgeloop::models {

// Imports `path` (already read into `graph`), runs it once on zeros to check that it runs and
// that the outputs have the sizes the graph declares (open output dims are taken from that run).
Result<std::unique_ptr<TensorModel>> load_opencv_model(const OnnxGraphInfo& graph, const std::string& path);

}  // namespace edgeloop::models
