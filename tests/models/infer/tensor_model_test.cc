// load_tensor_model on the tiny committed models: exact outputs (to 1e-5, against what torch
// and xgboost computed), shapes, batching, and the errors for bad files.
#include "models/infer/tensor_model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "models/infer/onnx_graph.h"
#include "models/infer/threads.h"
#include "models/infer/xgboost_model.h"
#include "test_data.h"

namespace edgeloop::models {
namespace {

using edgeloop::testing::expected_for;
using edgeloop::testing::model_data;

// A folder for bad files, removed when the test binary exits.
struct TempFolder {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("edgeloop_infer_test_" + std::to_string(::getpid()));
  ~TempFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::string temp_file(const std::string& name, const std::string& bytes) {
  static TempFolder folder;
  const auto& dir = folder.path;
  std::filesystem::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << "at " << i;
}

// The backend `auto` picks for a feed-forward ONNX graph both backends run.
std::string auto_onnx() { return onednn_available() ? "onednn" : "opencv-dnn"; }

void check_model(const std::string& file, const std::string& expected, const std::string& backend,
                 const std::string& ask = "auto") {
  LoadOptions o;
  o.backend = ask;
  auto m = load_tensor_model(model_data(file), o);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)->backend(), backend);
  const auto e = expected_for(expected);
  std::vector<std::vector<float>> out;
  ASSERT_TRUE((*m)->run(e.input, 1, out).ok());
  ASSERT_EQ(out.size(), e.outputs.size());
  for (std::size_t i = 0; i < out.size(); ++i) expect_near_all(out[i], e.outputs[i]);
  // A batch of 3 copies gives 3 copies of the outputs.
  std::vector<float> in3;
  for (int b = 0; b < 3; ++b) in3.insert(in3.end(), e.input.begin(), e.input.end());
  ASSERT_TRUE((*m)->run(in3, 3, out).ok());
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::vector<float> want3;
    for (int b = 0; b < 3; ++b) want3.insert(want3.end(), e.outputs[i].begin(), e.outputs[i].end());
    expect_near_all(out[i], want3);
  }
}

TEST(TensorModel, MlpOnEachBackend) {
  check_model("mlp.onnx", "mlp", auto_onnx());
  check_model("mlp.onnx", "mlp", "opencv-dnn", "opencv-dnn");
  if (onednn_available()) check_model("mlp.onnx", "mlp", "onednn", "onednn");
  auto m = load_tensor_model(model_data("mlp.onnx"));
  ASSERT_TRUE(m.ok());
  ASSERT_EQ((*m)->inputs().size(), 1u);
  EXPECT_EQ((*m)->inputs()[0].name, "x");
  EXPECT_EQ((*m)->inputs()[0].shape, (std::vector<int64_t>{-1, 4}));
  ASSERT_EQ((*m)->outputs().size(), 1u);
  EXPECT_EQ((*m)->outputs()[0].name, "y");
  EXPECT_EQ((*m)->outputs()[0].shape, (std::vector<int64_t>{-1, 2}));
}

TEST(TensorModel, Cnn1dOnEachBackend) {
  check_model("cnn1d.onnx", "cnn1d", auto_onnx());
  check_model("cnn1d.onnx", "cnn1d", "opencv-dnn", "opencv-dnn");
  if (onednn_available()) check_model("cnn1d.onnx", "cnn1d", "onednn", "onednn");
  auto m = load_tensor_model(model_data("cnn1d.onnx"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->inputs()[0].shape, (std::vector<int64_t>{-1, 1, 32}));
  EXPECT_EQ((*m)->outputs()[0].shape, (std::vector<int64_t>{-1, 3}));
}

TEST(TensorModel, XgboostRegressor) {
  check_model("xgb_reg.json", "xgb_reg", "xgboost");
  auto m = load_tensor_model(model_data("xgb_reg.json"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->inputs()[0].shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ((*m)->outputs()[0].shape, (std::vector<int64_t>{-1, 1}));
}

TEST(TensorModel, XgboostClassifierGivesProbabilitiesPerClass) {
  check_model("xgb_clf.json", "xgb_clf", "xgboost");
  auto m = load_tensor_model(model_data("xgb_clf.json"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->outputs()[0].shape, (std::vector<int64_t>{-1, 3}));
}

TEST(TensorModel, XgboostJsonRunsOnTheNativeTreesWithTheSameOutputs) {
  for (const char* name : {"xgb_reg", "xgb_clf"}) {
    auto m = load_tensor_model(model_data(std::string(name) + ".json"));
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(xgboost_uses_native_trees(**m)) << name;  // check_model asserted its outputs
  }
  auto mlp = load_tensor_model(model_data("mlp.onnx"));
  ASSERT_TRUE(mlp.ok());
  EXPECT_FALSE(xgboost_uses_native_trees(**mlp));
}

TEST(TensorModel, XgboostFeatureCountMustMatch) {
  LoadOptions o;
  o.features = 5;
  auto m = load_tensor_model(model_data("xgb_reg.json"), o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, "model '" + model_data("xgb_reg.json") + "': the model was trained on 3 features, 5 configured");
}

TEST(TensorModel, WrongInputSizeIsAnError) {
  LoadOptions o;
  o.backend = "opencv-dnn";
  auto m = load_tensor_model(model_data("mlp.onnx"), o);
  ASSERT_TRUE(m.ok());
  std::vector<float> in(3, 0.0f);
  std::vector<std::vector<float>> out;
  auto st = (*m)->run(in, 1, out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "model input 'x' wants 4 values for a batch of 1, got 3");
  auto a = load_tensor_model(model_data("mlp.onnx"));  // whichever backend auto picks
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE((*a)->run(in, 1, out).ok());
}

TEST(TensorModel, MissingFile) {
  auto m = load_tensor_model("/nonexistent/model.onnx");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, Errc::kNotFound);
  EXPECT_EQ(m.error().message, "model '/nonexistent/model.onnx': no such file");
}

TEST(TensorModel, CorruptOnnx) {
  const auto path = temp_file("corrupt.onnx", "this is not a protobuf \xff\xff\xff");
  auto m = load_tensor_model(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, Errc::kParse);
  EXPECT_EQ(m.error().message,
            "model '" + path + "': not an ONNX model (the protobuf does not parse as a ModelProto with a graph)");
}

TEST(TensorModel, TruncatedOnnx) {
  std::ifstream in(model_data("mlp.onnx"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto path = temp_file("truncated.onnx", bytes.substr(0, bytes.size() / 2));
  auto m = load_tensor_model(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, Errc::kParse);
}

TEST(TensorModel, CorruptXgboost) {
  const auto path = temp_file("corrupt.json", "{\"learner\": 42");
  auto m = load_tensor_model(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, Errc::kParse);
  EXPECT_EQ(m.error().message, "model '" + path + "': not an XGBoost model (Expecting: \",\", got: \"\\0\", around character position: 15)");
}

TEST(TensorModel, WrongFormatForced) {
  LoadOptions o;
  o.format = ModelFormat::kOnnx;
  auto m = load_tensor_model(model_data("xgb_reg.json"), o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, Errc::kParse);
}

TEST(TensorModel, UnknownFormat) {
  const auto path = temp_file("model.bin", "\x01\x02\x03");
  auto m = load_tensor_model(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message,
            "model '" + path + "': unknown format (not .onnx, .json or .ubj, and the content is neither)");
}

TEST(TensorModel, UnknownBackend) {
  LoadOptions o;
  o.backend = "tpu";
  auto m = load_tensor_model(model_data("mlp.onnx"), o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, "model '" + model_data("mlp.onnx") + "': unknown backend 'tpu' (auto, opencv-dnn or onednn)");
}

TEST(TensorModel, RecurrentGraphGoesToOneDnnOnAuto) {
  auto g = read_onnx_graph(model_data("gru.onnx"));
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_TRUE(g->recurrent);
  EXPECT_EQ(shape_string(g->inputs[0].shape), "[-1,5,3]");
  if (!onednn_available()) GTEST_SKIP() << "built without the oneDNN backend";
  check_model("gru.onnx", "gru", "onednn");
}

TEST(TensorModel, OpenCvCannotImportTorchRecurrentExports) {
  LoadOptions o;
  o.backend = "opencv-dnn";
  auto m = load_tensor_model(model_data("gru.onnx"), o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message.rfind("model '" + model_data("gru.onnx") + "': OpenCV DNN 4.6 cannot import the graph: ", 0),
            0u)
      << m.error().message;
}

TEST(TensorModel, OpsetOutsideTheRangeIsRefused) {
  auto m = load_tensor_model(model_data("mlp_opset9.onnx"));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, "model '" + model_data("mlp_opset9.onnx") +
                                   "': opset 9 is outside the supported 11..17 (re-export with opset_version in that range)");
}

TEST(OnnxGraph, ReadsShapesOpsetAndOps) {
  auto g = read_onnx_graph(model_data("cnn1d.onnx"));
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->opset, 11);
  EXPECT_FALSE(g->recurrent);
  EXPECT_TRUE(g->op_types.count("Conv"));
  EXPECT_EQ(shape_string(g->inputs[0].shape), "[-1,1,32]");
}

}  // namespace
}  // namespace edgeloop::models
