// op.model.onnx and op.model.xgboost through the registry: named outputs with the model
// version, argmax, micro-batches, sequences, blocks, and the load-time input checks.
#include "models/serving/model_stage.h"

#include <gtest/gtest.h>

#include "../infer/test_data.h"
#include "models/infer/threads.h"
#include "serving_harness.h"

namespace edgeloop::models {
namespace {

using edgeloop::testing::Collect;
using edgeloop::testing::expected_for;
using edgeloop::testing::make_model_stage;
using edgeloop::testing::model_data;
using edgeloop::testing::node;
using edgeloop::testing::rec;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

Record mlp_record(uint32_t slot, int64_t ts) {
  const auto e = expected_for("mlp");
  return rec(slot, ts, {e.input[0], e.input[1], e.input[2], e.input[3]});
}

TEST(ModelStage, MlpEmitsNamedOutputsAndTheVersion) {
  const Schema input({"a", "b", "c", "d"});
  Metrics metrics;
  auto stage = make_model_stage("model.onnx",
                                node({{"path", model_data("mlp.onnx")}, {"name", "mlp_named"},
                                      {"outputs", std::vector<std::string>{"p", "q"}}}),
                                input, &metrics);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  EXPECT_EQ((*stage)->output_schema().names(), input.names());
  Collect out;
  (*stage)->process(mlp_record(0, 1000), out);
  ASSERT_EQ(out.records.size(), 1u);  // emit: event forwards the record unchanged
  ASSERT_EQ(out.events.size(), 1u);
  const Event& e = out.events[0];
  const auto want = expected_for("mlp").outputs[0];
  EXPECT_EQ(e.kind, EventKind::kInsight);
  ASSERT_EQ(e.nfields, 3);
  ASSERT_NE(e.schema, nullptr);
  EXPECT_EQ(e.schema->names(), (std::vector<std::string>{"p", "q", "model_version"}));
  EXPECT_NEAR(e.f[0], want[0], 1e-5);
  EXPECT_NEAR(e.f[1], want[1], 1e-5);
  EXPECT_EQ(e.f[2], 1.0);
  EXPECT_EQ(e.key, 100u);
  EXPECT_EQ(e.ts_ns, 1000);
  EXPECT_EQ(e.recv_ns, 1007);
  EXPECT_EQ(e.pipeline, 3);
  EXPECT_EQ(e.stage, 1);
  ASSERT_NE(e.name, nullptr);
  EXPECT_EQ(*e.name, "mlp_named");
  const Metrics::Labels labels{{"pipeline", "p"}, {"stage", "1:model.onnx"}};
  EXPECT_EQ(metrics.value("edgeloop_model_inferences_total", labels), 1.0);
  EXPECT_EQ(metrics.value("edgeloop_model_errors_total", labels), 0.0);
  ASSERT_NE(metrics.find_histogram("edgeloop_model_run_seconds", labels), nullptr);
  EXPECT_EQ(metrics.find_histogram("edgeloop_model_run_seconds", labels)->count(), 1u);
  auto info = ModelCatalog::global().info("mlp_named");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->version, 1);
  EXPECT_EQ(info->backend, onednn_available() ? "onednn" : "opencv-dnn");
  EXPECT_EQ(info->file, model_data("mlp.onnx"));
}

TEST(ModelStage, DefaultOutputNamesAndTheDefaultCatalogName) {
  const Schema input({"a", "b", "c", "d"});
  auto stage = make_model_stage("model.onnx", node({{"path", model_data("mlp.onnx")}}), input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  Collect out;
  (*stage)->process(mlp_record(0, 1), out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].schema->names(), (std::vector<std::string>{"y_0", "y_1", "model_version"}));
  EXPECT_EQ(*out.events[0].name, "p.1");
  EXPECT_TRUE(ModelCatalog::global().info("p.1").ok());
}

TEST(ModelStage, EmitFieldsAppendsToTheRecord) {
  const Schema input({"a", "b", "c", "d"});
  auto stage = make_model_stage("model.onnx",
                                node({{"path", model_data("mlp.onnx")}, {"name", "mlp_fields"}, {"emit", "fields"},
                                      {"outputs", std::vector<std::string>{"p", "q"}}}),
                                input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  EXPECT_EQ((*stage)->output_schema().names(), (std::vector<std::string>{"a", "b", "c", "d", "p", "q", "model_version"}));
  Collect out;
  (*stage)->process(mlp_record(0, 1), out);
  EXPECT_TRUE(out.events.empty());
  ASSERT_EQ(out.records.size(), 1u);
  const auto want = expected_for("mlp").outputs[0];
  EXPECT_EQ(out.records[0].nfields, 7);
  EXPECT_EQ(out.records[0].f[0], 0.5);
  EXPECT_NEAR(out.records[0].f[4], want[0], 1e-5);
  EXPECT_NEAR(out.records[0].f[5], want[1], 1e-5);
  EXPECT_EQ(out.records[0].f[6], 1.0);
}

TEST(ModelStage, MicroBatchAcrossKeys) {
  const Schema input({"a", "b", "c", "d"});
  auto stage = make_model_stage("model.onnx",
                                node({{"path", model_data("mlp.onnx")}, {"name", "mlp_batch"}, {"batch", "3"},
                                      {"max_delay", "1h"}}),
                                input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  Collect out;
  (*stage)->process(mlp_record(0, 1), out);
  (*stage)->process(mlp_record(1, 2), out);
  EXPECT_TRUE(out.events.empty());
  (*stage)->tick(0, out);  // max_delay not reached
  EXPECT_TRUE(out.events.empty());
  (*stage)->process(mlp_record(2, 3), out);
  ASSERT_EQ(out.events.size(), 3u);
  const auto want = expected_for("mlp").outputs[0];
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out.events[i].key, 100 + i);
    EXPECT_EQ(out.events[i].ts_ns, i + 1);
    EXPECT_NEAR(out.events[i].f[0], want[0], 1e-5);
    EXPECT_NEAR(out.events[i].f[1], want[1], 1e-5);
  }
  (*stage)->process(mlp_record(4, 9), out);
  (*stage)->flush(0, out);  // the partial batch runs at stop
  ASSERT_EQ(out.events.size(), 4u);
  EXPECT_EQ(out.events[3].key, 104u);
}

TEST(ModelStage, MicroBatchRunsAfterMaxDelay) {
  const Schema input({"a", "b", "c", "d"});
  auto stage = make_model_stage("model.onnx",
                                node({{"path", model_data("mlp.onnx")}, {"name", "mlp_delay"}, {"batch", "8"},
                                      {"max_delay", "0s"}}),
                                input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  Collect out;
  (*stage)->process(mlp_record(0, 1), out);
  EXPECT_TRUE(out.events.empty());
  (*stage)->tick(0, out);
  EXPECT_EQ(out.events.size(), 1u);
  // A record that finds the batch's first one waited max_delay runs the batch at once.
  (*stage)->process(mlp_record(1, 2), out);
  EXPECT_EQ(out.events.size(), 1u);
  (*stage)->process(mlp_record(2, 3), out);
  ASSERT_EQ(out.events.size(), 3u);
  EXPECT_EQ(out.events[1].key, 101u);
  EXPECT_EQ(out.events[2].key, 102u);
}

TEST(ModelStage, BlockInputWithArgmax) {
  const Schema input({"rms"});
  Metrics metrics;
  auto stage = make_model_stage("model.onnx",
                                node({{"path", model_data("cnn1d.onnx")}, {"name", "cnn"}, {"input", "block"},
                                      {"shape", std::vector<std::string>{"1", "32"}},
                                      {"outputs", std::vector<std::string>{"c0", "c1", "c2"}}, {"argmax", "class"}}),
                                input, &metrics);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  const auto e = expected_for("cnn1d");
  auto block = std::make_shared<SampleBlock>();
  block->samples = e.input;
  block->shape = {1, 32};
  Record r = rec(0, 5, {1.0});
  r.block = block;
  Collect out;
  (*stage)->process(r, out);
  ASSERT_EQ(out.events.size(), 1u);
  const Event& ev = out.events[0];
  EXPECT_EQ(ev.schema->names(), (std::vector<std::string>{"c0", "c1", "c2", "class", "confidence", "model_version"}));
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(ev.f[static_cast<std::size_t>(i)], e.outputs[0][static_cast<std::size_t>(i)], 1e-5);
  EXPECT_EQ(ev.f[3], 2.0);  // the largest logit is c2 (0.369)
  EXPECT_NEAR(ev.f[4], e.outputs[0][2], 1e-5);
  // A block of the wrong size is counted, not run.
  Record bad = rec(0, 6, {1.0});
  auto small = std::make_shared<SampleBlock>();
  small->samples.assign(16, 0.0f);
  bad.block = small;
  (*stage)->process(bad, out);
  EXPECT_EQ(out.events.size(), 1u);
  const Metrics::Labels labels{{"pipeline", "p"}, {"stage", "1:model.onnx"}};
  EXPECT_EQ(metrics.value("edgeloop_model_errors_total", labels), 1.0);
  EXPECT_EQ(metrics.value("edgeloop_model_inferences_total", labels), 1.0);
  EXPECT_EQ(out.records.size(), 2u);  // both records pass on
}

TEST(ModelStage, XgboostClassifier) {
  const Schema input({"a", "b", "c"});
  auto stage = make_model_stage("model.xgboost",
                                node({{"path", model_data("xgb_clf.json")}, {"name", "clf"},
                                      {"outputs", std::vector<std::string>{"p_low", "p_mid", "p_high"}},
                                      {"argmax", "class"}}),
                                input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  const auto e = expected_for("xgb_clf");
  Collect out;
  (*stage)->process(rec(0, 1, {e.input[0], e.input[1], e.input[2]}), out);
  ASSERT_EQ(out.events.size(), 1u);
  const Event& ev = out.events[0];
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(ev.f[static_cast<std::size_t>(i)], e.outputs[0][static_cast<std::size_t>(i)], 1e-5);
  EXPECT_EQ(ev.f[3], 1.0);
  EXPECT_NEAR(ev.f[4], e.outputs[0][1], 1e-5);
  EXPECT_EQ(ev.f[5], 1.0);
}

TEST(ModelStage, XgboostRegressorOnChosenFields) {
  const Schema input({"x", "a", "b", "c"});
  auto stage = make_model_stage("model.xgboost",
                                node({{"path", model_data("xgb_reg.json")}, {"name", "reg"},
                                      {"fields", std::vector<std::string>{"a", "b", "c"}},
                                      {"outputs", std::vector<std::string>{"rul"}}}),
                                input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  const auto e = expected_for("xgb_reg");
  Collect out;
  (*stage)->process(rec(0, 1, {99.0, e.input[0], e.input[1], e.input[2]}), out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_NEAR(out.events[0].f[0], e.outputs[0][0], 1e-5);
}

TEST(ModelStage, FieldCountMismatchSaysWhat) {
  const Schema input({"a", "b", "c"});
  auto stage = make_model_stage("model.onnx", node({{"path", model_data("mlp.onnx")}, {"name", "mlp_bad"}}), input);
  ASSERT_FALSE(stage.ok());
  EXPECT_TRUE(ends_with(stage.error().message,
                        "model input 'x' wants [-1,4], the pipeline gives feature vectors of 3 values"))
      << stage.error().message;
  EXPECT_FALSE(ModelCatalog::global().info("mlp_bad").ok());  // nothing left in the catalog
}

TEST(ModelStage, BlockShapeMismatchSaysWhat) {
  const Schema input({"rms"});
  auto stage = make_model_stage("model.onnx",
                                node({{"path", model_data("cnn1d.onnx")}, {"name", "cnn_bad"}, {"input", "block"},
                                      {"shape", std::vector<std::string>{"1", "4096"}}}),
                                input);
  ASSERT_FALSE(stage.ok());
  EXPECT_TRUE(ends_with(stage.error().message,
                        "model input 'x' wants [-1,1,32], the pipeline gives blocks of shape [1,4096]"))
      << stage.error().message;
}

TEST(ModelStage, OutputCountMismatchSaysWhat) {
  const Schema input({"a", "b", "c", "d"});
  auto stage = make_model_stage("model.onnx",
                                node({{"path", model_data("mlp.onnx")}, {"name", "mlp_out"},
                                      {"outputs", std::vector<std::string>{"rul"}}}),
                                input);
  ASSERT_FALSE(stage.ok());
  EXPECT_TRUE(ends_with(stage.error().message, "the model gives 2 output values per sample, `outputs` names 1"))
      << stage.error().message;
}

// `threads: 2`: the same outputs (the oneDNN backend runs the model in two-thread regions); 0 is
// refused at config time.
TEST(ModelStage, ThreadsOptionRunsTheSameModelAndRefusesZero) {
  const Schema input({"a", "b", "c", "d"});
  auto stage = make_model_stage("model.onnx", node({{"path", model_data("mlp.onnx")}, {"name", "mlp_threads"},
                                                    {"threads", "2"}}),
                                input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  Collect out;
  (*stage)->process(mlp_record(0, 1000), out);
  ASSERT_EQ(out.events.size(), 1u);
  const auto want = expected_for("mlp").outputs[0];
  EXPECT_NEAR(out.events[0].f[0], want[0], 1e-5);
  EXPECT_NEAR(out.events[0].f[1], want[1], 1e-5);
  auto zero = make_model_stage("model.onnx", node({{"path", model_data("mlp.onnx")}, {"name", "mlp_threads0"},
                                                   {"threads", "0"}}),
                               input);
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message.find("threads"), std::string::npos) << zero.error().message;
  EXPECT_NE(zero.error().message.find("out of range"), std::string::npos) << zero.error().message;
}

TEST(ModelStage, MissingFileAndPathOrWatch) {
  const Schema input({"a"});
  auto missing = make_model_stage("model.onnx", node({{"path", "/nonexistent/m.onnx"}, {"name", "nope"}}), input);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(ends_with(missing.error().message, "model '/nonexistent/m.onnx': no such file")) << missing.error().message;
  auto neither = make_model_stage("model.onnx", node({{"name", "nope2"}}), input);
  ASSERT_FALSE(neither.ok());
  EXPECT_TRUE(ends_with(neither.error().message, "give either `path` (a model file) or `watch` (a folder)"))
      << neither.error().message;
}

// A stand-in model with a given input shape, for the fit checks.
class ShapeOnly final : public TensorModel {
 public:
  explicit ShapeOnly(std::vector<int64_t> shape) : in_{{"x", std::move(shape)}}, out_{{"y", {-1, 1}}} {}
  const std::vector<TensorInfo>& inputs() const override { return in_; }
  const std::vector<TensorInfo>& outputs() const override { return out_; }
  const std::string& backend() const override { return backend_; }
  Status run(std::span<const float>, int, std::vector<std::vector<float>>&) override { return Status::Ok(); }

 private:
  std::vector<TensorInfo> in_, out_;
  std::string backend_ = "none";
};

TEST(CheckInputFit, Sequences) {
  InputSpec in;
  in.kind = ModelInput::kSequence;
  in.steps = 30;
  in.values = 13;
  auto st = check_input_fit(ShapeOnly({-1, 30, 14}), in);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "model input 'x' wants [-1,30,14], the pipeline gives sequences of 30 x 13 values");
  in.values = 14;
  EXPECT_TRUE(check_input_fit(ShapeOnly({-1, 30, 14}), in).ok());
  // Same count, transposed: not a fit.
  in.steps = 14;
  in.values = 30;
  EXPECT_FALSE(check_input_fit(ShapeOnly({-1, 30, 14}), in).ok());
}

TEST(CheckInputFit, FixedBatch) {
  InputSpec in;
  in.values = 4;
  in.batch = 8;
  auto st = check_input_fit(ShapeOnly({1, 4}), in);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "model input 'x' wants [1,4], a fixed batch of 1, and the stage batches up to 8 records (set batch: 1)");
  in.batch = 1;
  EXPECT_TRUE(check_input_fit(ShapeOnly({1, 4}), in).ok());
}

TEST(ModelStage, SequenceOfTheLastNVectorsPerKey) {
  // The MLP [-1, 4] as 2 steps of 2 values (a flat input takes a sequence of the same count):
  // the last 2 vectors of the key, oldest first.
  const Schema input({"u", "v"});
  auto stage = make_model_stage("model.onnx",
                                node({{"path", model_data("mlp.onnx")}, {"name", "mlp_seq"}, {"sequence", "4"}}), input);
  ASSERT_FALSE(stage.ok());  // [-1,4]: 4 values, not 4 x 2
  EXPECT_TRUE(ends_with(stage.error().message,
                        "model input 'x' wants [-1,4], the pipeline gives sequences of 4 x 2 values"))
      << stage.error().message;
  const Schema two({"u", "v"});
  auto ok = make_model_stage("model.onnx",
                             node({{"path", model_data("mlp.onnx")}, {"name", "mlp_seq2"}, {"sequence", "2"}}), two);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  const auto e = expected_for("mlp");  // input 0.5 -1 2 0.25 = steps (0.5,-1) then (2,0.25)
  Collect out;
  (*ok)->process(rec(0, 1, {9.0, 9.0}), out);   // key 0, oldest: pushed out by the next two
  (*ok)->process(rec(1, 1, {0.5, -1.0}), out);  // key 1 step 1
  (*ok)->process(rec(0, 2, {0.5, -1.0}), out);  // key 0: [9,9],[0.5,-1]: runs
  (*ok)->process(rec(0, 3, {2.0, 0.25}), out);  // key 0: [0.5,-1],[2,0.25]: runs, expected
  (*ok)->process(rec(1, 2, {2.0, 0.25}), out);  // key 1: [0.5,-1],[2,0.25]: runs, expected
  ASSERT_EQ(out.events.size(), 3u);
  EXPECT_EQ(out.events[1].key, 100u);
  EXPECT_NEAR(out.events[1].f[0], e.outputs[0][0], 1e-5);
  EXPECT_NEAR(out.events[1].f[1], e.outputs[0][1], 1e-5);
  EXPECT_EQ(out.events[2].key, 101u);
  EXPECT_NEAR(out.events[2].f[0], e.outputs[0][0], 1e-5);
  EXPECT_NEAR(out.events[2].f[1], e.outputs[0][1], 1e-5);
}

}  // namespace
}  // namespace edgeloop::models
