// Hot swap through the catalog: a new file in the watched folder becomes version 2 at the
// stage's next record; a corrupt or misfitting file is rejected, counted and kept as
// last_error while the running version stays; uploads and the HTTP routes.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "../infer/test_data.h"
#include "api/http_server.h"
#include "models/serving/model_catalog.h"
#include "models/serving/model_routes.h"
#include "models/infer/threads.h"
#include "serving_harness.h"

namespace edgeloop::models {
namespace {

namespace fs = std::filesystem;
using edgeloop::testing::Collect;
using edgeloop::testing::expected_for;
using edgeloop::testing::make_model_stage;
using edgeloop::testing::model_data;
using edgeloop::testing::node;
using edgeloop::testing::read_bytes;
using edgeloop::testing::rec;
using edgeloop::testing::TempDir;
using edgeloop::testing::write_bytes;

// Copies a test model into `dir` as `name`, with a modification time `age_s` from now
// (the newest file wins: tests set the order rather than rely on the clock's resolution).
void drop(const TempDir& dir, const std::string& model, const std::string& name, int age_s) {
  const std::string tmp = dir.file("." + name + ".tmp");
  fs::copy_file(model_data(model), tmp, fs::copy_options::overwrite_existing);
  fs::last_write_time(tmp, fs::file_time_type::clock::now() + std::chrono::seconds(age_s));
  fs::rename(tmp, dir.file(name));
}

void drop_bytes(const TempDir& dir, const std::string& bytes, const std::string& name, int age_s) {
  const std::string tmp = dir.file("." + name + ".tmp");
  write_bytes(tmp, bytes);
  fs::last_write_time(tmp, fs::file_time_type::clock::now() + std::chrono::seconds(age_s));
  fs::rename(tmp, dir.file(name));
}

Record mlp_record(int64_t ts) {
  const auto e = expected_for("mlp");
  return rec(0, ts, {e.input[0], e.input[1], e.input[2], e.input[3]});
}

const Metrics::Labels kSwapLabels{{"model", "swap"}};

TEST(HotSwap, NewFileBecomesVersionTwoAndACorruptOneIsRejected) {
  TempDir dir("swap");
  drop(dir, "mlp.onnx", "a.onnx", -10);
  const Schema input({"a", "b", "c", "d"});
  Metrics metrics;
  // A long poll: the test checks the folder itself (rescan), so nothing races it.
  auto stage = make_model_stage("model.onnx", node({{"watch", dir.str()}, {"name", "swap"}, {"poll", "1h"}}), input,
                                &metrics);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  Collect out;
  (*stage)->process(mlp_record(1), out);
  ASSERT_EQ(out.events.size(), 1u);
  const auto v1 = expected_for("mlp").outputs[0];
  const auto v2 = expected_for("mlp_v2").outputs[0];
  EXPECT_EQ(out.events[0].f[2], 1.0);
  EXPECT_NEAR(out.events[0].f[0], v1[0], 1e-5);

  drop(dir, "mlp_v2.onnx", "b.onnx", -5);
  ASSERT_TRUE(ModelCatalog::global().rescan("swap").ok());
  (*stage)->process(mlp_record(2), out);
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[1].f[2], 2.0);
  EXPECT_NEAR(out.events[1].f[0], v2[0], 1e-5);
  EXPECT_NEAR(out.events[1].f[1], v2[1], 1e-5);

  drop_bytes(dir, "garbage, not a model", "c.onnx", 0);
  ASSERT_TRUE(ModelCatalog::global().rescan("swap").ok());
  ASSERT_TRUE(ModelCatalog::global().rescan("swap").ok());  // a rejected file is not retried
  (*stage)->process(mlp_record(3), out);
  ASSERT_EQ(out.events.size(), 3u);
  EXPECT_EQ(out.events[2].f[2], 2.0);
  EXPECT_NEAR(out.events[2].f[0], v2[0], 1e-5);
  EXPECT_EQ(metrics.value("edgeloop_model_rejected_total", kSwapLabels), 1.0);
  auto info = ModelCatalog::global().info("swap");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->version, 2);
  EXPECT_EQ(info->file, dir.file("b.onnx"));
  EXPECT_EQ(info->rejected, 1u);
  EXPECT_EQ(info->last_error, "model '" + dir.file("c.onnx") +
                                  "': not an ONNX model (the protobuf does not parse as a ModelProto with a graph)");
}

TEST(HotSwap, ShapeMismatchIsRejectedWithTheReason) {
  TempDir dir("swap_shape");
  drop(dir, "mlp.onnx", "a.onnx", -10);
  const Schema input({"a", "b", "c", "d"});
  Metrics metrics;
  auto stage = make_model_stage("model.onnx", node({{"watch", dir.str()}, {"name", "swap_shape"}, {"poll", "1h"}}),
                                input, &metrics);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  drop(dir, "cnn1d.onnx", "b.onnx", 0);
  ASSERT_TRUE(ModelCatalog::global().rescan("swap_shape").ok());
  auto info = ModelCatalog::global().info("swap_shape");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->version, 1);
  EXPECT_EQ(info->last_error, "model input 'x' wants [-1,1,32], the pipeline gives feature vectors of 4 values");
  EXPECT_EQ(metrics.value("edgeloop_model_rejected_total", {{"model", "swap_shape"}}), 1.0);
  Collect out;
  (*stage)->process(mlp_record(1), out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].f[2], 1.0);
}

TEST(HotSwap, TheWatcherThreadPicksUpANewFile) {
  TempDir dir("swap_watch");
  drop(dir, "mlp.onnx", "a.onnx", -10);
  const Schema input({"a", "b", "c", "d"});
  auto stage = make_model_stage("model.onnx", node({{"watch", dir.str()}, {"name", "swap_watch"}, {"poll", "10ms"}}),
                                input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  drop(dir, "mlp_v2.onnx", "b.onnx", 0);
  Collect out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    (*stage)->process(mlp_record(1), out);
    if (out.events.back().f[2] == 2.0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(out.events.back().f[2], 2.0);
  EXPECT_NEAR(out.events.back().f[0], expected_for("mlp_v2").outputs[0][0], 1e-5);
}

TEST(HotSwap, NewestValidFileWinsAtStart) {
  TempDir dir("swap_start");
  drop(dir, "mlp.onnx", "a.onnx", -10);
  drop(dir, "mlp_v2.onnx", "b.onnx", -5);
  drop_bytes(dir, "junk", "c.onnx", 0);
  drop_bytes(dir, "junk", ".hidden.onnx", 5);
  const Schema input({"a", "b", "c", "d"});
  auto stage = make_model_stage("model.onnx", node({{"watch", dir.str()}, {"name", "swap_start"}, {"poll", "1h"}}),
                                input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  auto info = ModelCatalog::global().info("swap_start");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->file, dir.file("b.onnx"));
  EXPECT_EQ(info->version, 1);
  EXPECT_EQ(info->rejected, 1u);
}

TEST(HotSwap, EmptyFolderIsAnError) {
  TempDir dir("swap_empty");
  const Schema input({"a"});
  auto stage = make_model_stage("model.onnx", node({{"watch", dir.str()}, {"name", "swap_empty"}}), input);
  ASSERT_FALSE(stage.ok());
  EXPECT_NE(stage.error().message.find("no valid model file in '" + dir.str() + "' (the folder is empty)"),
            std::string::npos)
      << stage.error().message;
}

TEST(HotSwap, UploadSwapsOrRejects) {
  TempDir dir("swap_upload");
  drop(dir, "xgb_reg.json", "a.json", -10);
  const Schema input({"a", "b", "c"});
  auto stage = make_model_stage("model.xgboost", node({{"watch", dir.str()}, {"name", "swap_upload"}, {"poll", "1h"}}),
                                input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  auto& catalog = ModelCatalog::global();
  auto v2 = catalog.upload("swap_upload", read_bytes(model_data("xgb_reg.json")));
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(fs::path(v2->file).extension(), ".json");
  auto bad = catalog.upload("swap_upload", "{\"not\": \"a model\"}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
  auto wrong = catalog.upload("swap_upload", read_bytes(model_data("xgb_clf.json")));  // 3 outputs, not 1
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("gives 3 output values per sample, the running version 1"), std::string::npos)
      << wrong.error().message;
  EXPECT_EQ(catalog.info("swap_upload")->version, 2);
  auto unknown = catalog.upload("no_such_model", "x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::kNotFound);
  Collect out;
  (*stage)->process(rec(0, 1, {0.3, -0.2, 1.1}), out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].f[1], 2.0);
}

TEST(ModelRoutes, ListAndUpload) {
  TempDir dir("swap_http");
  drop(dir, "mlp.onnx", "a.onnx", -10);
  const Schema input({"a", "b", "c", "d"});
  auto stage = make_model_stage("model.onnx", node({{"watch", dir.str()}, {"name", "http_model"}, {"poll", "1h"}}),
                                input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  Metrics metrics;
  ApiOptions opts;
  opts.port = 0;
  ApiServer api(opts, metrics, [] { return HealthReport{}; });
  register_model_routes(api);
  ASSERT_TRUE(api.start().ok());
  httplib::Client client("127.0.0.1", api.port());
  auto list = client.Get("/api/v1/models");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  auto j = nlohmann::json::parse(list->body);
  bool found = false;
  for (const auto& m : j.at("models")) {
    if (m.at("name") != "http_model") continue;
    found = true;
    EXPECT_EQ(m.at("version"), 1);
    EXPECT_EQ(m.at("backend"), onednn_available() ? "onednn" : "opencv-dnn");
    EXPECT_EQ(m.at("inputs")[0].at("shape"), nlohmann::json::parse("[-1,4]"));
  }
  EXPECT_TRUE(found);
  auto up = client.Post("/api/v1/models/http_model", read_bytes(model_data("mlp_v2.onnx")), "application/octet-stream");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 200) << up->body;
  EXPECT_EQ(nlohmann::json::parse(up->body).at("version"), 2);
  auto bad = client.Post("/api/v1/models/http_model", "garbage", "application/octet-stream");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 422);
  EXPECT_NE(nlohmann::json::parse(bad->body).at("error").get<std::string>().find("not an ONNX model"), std::string::npos);
  auto missing = client.Post("/api/v1/models/nope", "x", "application/octet-stream");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  api.stop();
}

}  // namespace
}  // namespace edgeloop::models
