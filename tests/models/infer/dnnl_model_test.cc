// The oneDNN backend on tiny committed torch exports: LSTM and GRU (batch 1 and 7, against torch's
// outputs to 1e-4), a bidirectional LSTM, a reverse GRU without linear_before_reset, a small CNN,
// the feed-forward test models, plan reuse, and the errors.
#include "models/infer/dnnl_model.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "test_data.h"

namespace edgeloop::models {
namespace {

using edgeloop::testing::expected_for;
using edgeloop::testing::model_data;

onnx::ModelProto read_model(const std::string& file) {
  onnx::ModelProto proto;
  std::ifstream in(model_data(file), std::ios::binary);
  EXPECT_TRUE(proto.ParseFromIstream(&in)) << file;
  return proto;
}

std::unique_ptr<TensorModel> load(const std::string& file, int threads = 1) {
  auto m = load_dnnl_model(read_model(file), file, threads);
  EXPECT_TRUE(m.ok()) << m.error().message;
  return m.ok() ? std::move(*m) : nullptr;
}

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << "at " << i;
}

// *_reference.json from tools/train/make_rnn_test_models.py: cases for batch 1 and 7.
void check_reference(const std::string& name, int threads = 1) {
  auto model = load(name + ".onnx", threads);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->backend(), "onednn");
  std::ifstream in(model_data(name + "_reference.json"));
  const auto ref = nlohmann::json::parse(in);
  EXPECT_EQ(model->inputs()[0].shape, ref["input_shape"].get<std::vector<int64_t>>());
  ASSERT_EQ(ref["cases"].size(), 2u);
  // Twice over: the second pass reuses the cached plans (batch 1 after batch 7 included).
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& c : ref["cases"]) {
      const auto input = c["input"].get<std::vector<float>>();
      const int batch = c["batch"].get<int>();
      std::vector<std::vector<float>> out;
      ASSERT_TRUE(model->run(input, batch, out).ok());
      ASSERT_EQ(out.size(), 1u);
      expect_near_all(out[0], c["output"].get<std::vector<float>>(), 1e-4);
    }
  }
  // Batch 5 runs on the plan for 6 (batch sizes are bucketed; the padding row is not returned).
  const auto& c7 = ref["cases"][1];
  const auto in7 = c7["input"].get<std::vector<float>>();
  const auto out7 = c7["output"].get<std::vector<float>>();
  std::vector<std::vector<float>> out;
  ASSERT_TRUE(model->run(std::span<const float>(in7).first(in7.size() / 7 * 5), 5, out).ok());
  ASSERT_EQ(out.size(), 1u);
  expect_near_all(out[0], std::vector<float>(out7.begin(), out7.begin() + static_cast<std::ptrdiff_t>(out7.size() / 7 * 5)), 1e-4);
}

TEST(DnnlModel, LstmMatchesTorchBatch1And7) { check_reference("rnn_lstm"); }
TEST(DnnlModel, GruLinearBeforeResetMatchesTorchBatch1And7) { check_reference("rnn_gru"); }
TEST(DnnlModel, BidirectionalLstmSequenceMatchesTorch) { check_reference("rnn_bilstm"); }
// linear_before_reset=0 (oneDNN's plain GRU), direction reverse, against a numpy reference.
TEST(DnnlModel, ReverseGruWithoutLinearBeforeResetMatchesNumpy) { check_reference("rnn_gru_lbr0_reverse"); }
// Conv+BN folded, ReLU6 fused, MaxPool, standalone BatchNormalization, grouped conv, a residual
// Add+ReLU in oneDNN's blocked layout, Pad, AveragePool (ceil), ReduceMean, Gemm, Softmax.
// torch's Linear on 3D input: MatMul, then Add (fused as the bias), then Relu (fused).
TEST(DnnlModel, LinearOnEveryStepMatchesTorch) { check_reference("seq_linear"); }
TEST(DnnlModel, SmallCnnMatchesTorch) { check_reference("cnn_small"); }
// `threads` (model.onnx's option): the same outputs from OpenMP regions of two threads, and the
// caller's thread count back at one for a one-thread model loaded and run after them.
TEST(DnnlModel, TwoThreadModelsMatchTorchAndLeaveOneThreadModelsAlone) {
  check_reference("cnn_small", 2);
  check_reference("rnn_lstm", 2);
  check_reference("cnn_small", 1);
}
TEST(DnnlModel, ThreadsBelowOneIsAnError) {
  auto m = load_dnnl_model(read_model("cnn_small.onnx"), "cnn_small.onnx", 0);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("threads must be at least 1"), std::string::npos) << m.error().message;
}

TEST(DnnlModel, OutputShapesHaveOpenBatch) {
  auto model = load("rnn_lstm.onnx");
  ASSERT_NE(model, nullptr);
  ASSERT_EQ(model->outputs().size(), 1u);
  EXPECT_EQ(model->outputs()[0].name, "y");
  EXPECT_EQ(model->outputs()[0].shape, (std::vector<int64_t>{-1, 1}));
}

// The feed-forward test models of tools/train/make_test_models.py run the same as on OpenCV.
TEST(DnnlModel, FeedForwardModelsMatchExpected) {
  for (const std::string name : {"mlp", "mlp_v2", "cnn1d"}) {
    auto model = load(name + ".onnx");
    ASSERT_NE(model, nullptr) << name;
    const auto e = expected_for(name);
    std::vector<std::vector<float>> out;
    ASSERT_TRUE(model->run(e.input, 1, out).ok()) << name;
    ASSERT_EQ(out.size(), e.outputs.size()) << name;
    for (std::size_t i = 0; i < out.size(); ++i) expect_near_all(out[i], e.outputs[i], 1e-4);
    // Batch 3 of the same sample: three copies of the same output.
    std::vector<float> three;
    for (int k = 0; k < 3; ++k) three.insert(three.end(), e.input.begin(), e.input.end());
    ASSERT_TRUE(model->run(three, 3, out).ok()) << name;
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::vector<float> want;
      for (int k = 0; k < 3; ++k) want.insert(want.end(), e.outputs[i].begin(), e.outputs[i].end());
      expect_near_all(out[i], want, 1e-4);
    }
  }
}

TEST(DnnlModel, WrongInputSizeIsAnError) {
  auto model = load("rnn_gru.onnx");
  ASSERT_NE(model, nullptr);
  std::vector<float> input(139, 0.0f);
  std::vector<std::vector<float>> out;
  const auto s = model->run(input, 1, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "rnn_gru.onnx: input has 139 values, expected 140 (batch 1 x 140)");
}

onnx::ModelProto one_node_model(const std::string& op, int64_t batch_dim = -1) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  if (batch_dim > 0) tt->mutable_shape()->add_dim()->set_dim_value(batch_dim);
  else tt->mutable_shape()->add_dim()->set_dim_param("batch");
  tt->mutable_shape()->add_dim()->set_dim_value(4);
  auto* relu = g->add_node();
  relu->set_name("first");
  relu->set_op_type("Relu");
  relu->add_input("x");
  relu->add_output("r");
  auto* node = g->add_node();
  node->set_name("my_node");
  node->set_op_type(op);
  node->add_input("r");
  node->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

TEST(DnnlModel, UnsupportedOperatorNamesOpAndNode) {
  auto m = load_dnnl_model(one_node_model("Hardmax"), "inline.onnx");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, "inline.onnx: node 'my_node' (Hardmax): operator Hardmax is not supported by the oneDNN backend");
}

TEST(DnnlModel, BadAttributeIsAnErrorNamingTheNode) {
  auto proto = one_node_model("Transpose");
  auto* perm = proto.mutable_graph()->mutable_node(1)->add_attribute();
  perm->set_name("perm");
  perm->set_type(onnx::AttributeProto::INTS);
  perm->add_ints(5);
  perm->add_ints(0);
  auto m = load_dnnl_model(proto, "inline.onnx");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, "inline.onnx: node 'my_node' (Transpose): perm is not a permutation of the axes of [1,4]");
}

TEST(DnnlModel, SupportedSingleActivationRuns) {
  auto m = load_dnnl_model(one_node_model("Tanh"), "inline.onnx");
  ASSERT_TRUE(m.ok()) << m.error().message;
  std::vector<std::vector<float>> out;
  ASSERT_TRUE((*m)->run(std::vector<float>{-1, 0, 0.5f, 2, 3, -3, 1, 0}, 2, out).ok());
  ASSERT_EQ(out.size(), 1u);
  const std::vector<float> want{0, 0, std::tanh(0.5f), std::tanh(2.0f), std::tanh(3.0f), 0, std::tanh(1.0f), 0};
  expect_near_all(out[0], want, 1e-6);
}

// An export with the batch fixed at 1 runs larger batches sample by sample.
TEST(DnnlModel, FixedBatchOneModelRunsBatchesSampleBySample) {
  auto m = load_dnnl_model(one_node_model("Sigmoid", 1), "fixed.onnx");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)->inputs()[0].shape, (std::vector<int64_t>{-1, 4}));
  std::vector<std::vector<float>> out;
  const std::vector<float> in{-1, 0, 0.5f, 2, 3, -3, 1, 0, 4, 4, -2, 0};
  ASSERT_TRUE((*m)->run(in, 3, out).ok());
  ASSERT_EQ(out.size(), 1u);
  std::vector<float> want;
  for (float v : in) want.push_back(1.0f / (1.0f + std::exp(-std::max(v, 0.0f))));
  expect_near_all(out[0], want, 1e-6);
}

}  // namespace
}  // namespace edgeloop::models
