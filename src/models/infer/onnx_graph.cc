#include "models/infer/onnx_graph.h"

#include <fstream>
#include <sstream>

#include <onnx/onnx_pb.h>

namespace edgeloop::models {
namespace {

Error file_error(Errc code, const std::string& path, const std::string& why) {
  return make_error(code, "model '" + path + "': " + why);
}

const char* elem_type_name(int32_t t) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return "float";
    case onnx::TensorProto::DOUBLE: return "double";
    case onnx::TensorProto::INT64: return "int64";
    case onnx::TensorProto::INT32: return "int32";
    case onnx::TensorProto::UINT8: return "uint8";
    case onnx::TensorProto::FLOAT16: return "float16";
    default: return "a non-float type";
  }
}

Result<TensorInfo> tensor_info(const onnx::ValueInfoProto& v, const std::string& path, const char* what) {
  TensorInfo info;
  info.name = v.name();
  if (!v.type().has_tensor_type()) {
    return file_error(Errc::kInvalidArgument, path, std::string(what) + " '" + v.name() + "' is not a tensor");
  }
  const auto& tt = v.type().tensor_type();
  if (tt.elem_type() != onnx::TensorProto::FLOAT) {
    return file_error(Errc::kInvalidArgument, path,
                      std::string(what) + " '" + v.name() + "' is " + elem_type_name(tt.elem_type()) +
                          "; only float32 tensors are supported (export the model in float32)");
  }
  if (tt.has_shape()) {
    for (const auto& d : tt.shape().dim()) {
      info.shape.push_back(d.has_dim_value() && d.dim_value() > 0 ? d.dim_value() : -1);
    }
  }
  return info;
}

}  // namespace

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Result<OnnxGraphInfo> read_onnx_graph(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return file_error(Errc::kNotFound, path, "cannot open the file");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string bytes = buf.str();
  if (bytes.empty()) return file_error(Errc::kParse, path, "the file is empty");
  auto proto = std::make_shared<onnx::ModelProto>();
  if (!proto->ParseFromString(bytes) || !proto->has_graph() || proto->graph().node_size() == 0) {
    return file_error(Errc::kParse, path, "not an ONNX model (the protobuf does not parse as a ModelProto with a graph)");
  }
  OnnxGraphInfo g;
  for (const auto& op : proto->opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") g.opset = op.version();
  }
  if (g.opset < kMinOpset || g.opset > kMaxOpset) {
    return file_error(Errc::kInvalidArgument, path,
                      "opset " + std::to_string(g.opset) + " is outside the supported " + std::to_string(kMinOpset) +
                          ".." + std::to_string(kMaxOpset) + " (re-export with opset_version in that range)");
  }
  const auto& graph = proto->graph();
  std::set<std::string> initializers;
  for (const auto& t : graph.initializer()) initializers.insert(t.name());
  for (const auto& v : graph.input()) {
    if (initializers.count(v.name())) continue;
    EDGELOOP_ASSIGN_OR_RETURN(TensorInfo t, tensor_info(v, path, "input"));
    g.inputs.push_back(std::move(t));
  }
  if (g.inputs.size() != 1) {
    return file_error(Errc::kInvalidArgument, path,
                      "the graph has " + std::to_string(g.inputs.size()) + " inputs; exactly one is supported");
  }
  if (g.inputs[0].shape.empty()) {
    return file_error(Errc::kInvalidArgument, path, "input '" + g.inputs[0].name + "' has no shape in the graph");
  }
  for (std::size_t i = 1; i < g.inputs[0].shape.size(); ++i) {
    if (g.inputs[0].shape[i] < 0) {
      return file_error(Errc::kInvalidArgument, path,
                        "input '" + g.inputs[0].name + "' has an open dimension " + std::to_string(i) + " in " +
                            shape_string(g.inputs[0].shape) +
                            "; only the batch (first) dimension may be open (export with fixed sizes)");
    }
  }
  for (const auto& v : graph.output()) {
    EDGELOOP_ASSIGN_OR_RETURN(TensorInfo t, tensor_info(v, path, "output"));
    g.outputs.push_back(std::move(t));
  }
  if (g.outputs.empty()) return file_error(Errc::kInvalidArgument, path, "the graph has no outputs");
  for (const auto& n : graph.node()) {
    g.op_types.insert(n.op_type());
    if (n.op_type() == "LSTM" || n.op_type() == "GRU" || n.op_type() == "RNN") g.recurrent = true;
  }
  g.proto = std::move(proto);
  return g;
}

}  // namespace edgeloop::models
