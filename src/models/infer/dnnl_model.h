// The oneDNN backend for ONNX graphs: recurrent models (LSTM/GRU), which OpenCV DNN 4.6 runs
// slowly or not at all batched, and CNNs/MLPs, which it runs faster than OpenCV (bench/models).
//
// Operators: LSTM, GRU (linear_before_reset 0 or 1; forward, reverse, bidirectional), Gemm,
// MatMul (constant 2D weights; a following Add becomes its bias), Conv 1D/2D (grouped; a
// following BatchNormalization folds into it), MaxPool, AveragePool, GlobalAveragePool,
// GlobalMaxPool, BatchNormalization, Relu, LeakyRelu, Tanh, Sigmoid, Elu, Clip, Exp, Log, Abs,
// Sqrt, Softplus, HardSwish (fused into the conv/matmul before them), Softmax, LogSoftmax, Add,
// Sub, Mul, Div (broadcasting), ReduceMean/Sum/Max, Reshape, Flatten, Squeeze, Unsqueeze,
// Transpose, Slice, Gather, Concat, Expand, Pad (constant), Identity, Dropout; and, folded at
// build time, Constant, Shape, Size, ConstantOfShape, Cast, Range, Where, Equal and arithmetic on
// constants. The graph is compiled per batch size (bucketed: 1-4, 6, 8, 12, 16, 24, ...) on first
// use: shapes become constants, primitives are created, weights reordered, buffers allocated;
// run() then allocates nothing of its own. One OpenMP thread (Debian's oneDNN uses OpenMP).
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "models/infer/tensor_model.h"

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace edgeloop::models {

// Builds a oneDNN model from a parsed ONNX model, run with `threads` OpenMP threads (1: on the
// caller's thread alone). `path` only names the file in errors. An operator this backend does not
// run is an error naming the op and the node.
Result<std::unique_ptr<TensorModel>> load_dnnl_model(const onnx::ModelProto& model, const std::string& path,
                                                     int threads = 1);

}  // namespace edgeloop::models
