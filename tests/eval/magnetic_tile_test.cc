// `eval magnetic_tile` end to end on images written at test time (bright tiles pass, dark ones
// fail under the tiny model in magnetic_tile_data/, made by make_tiny_model.py): exact defect
// counts with and without the sidecar's threshold and test split, and clear errors.
#include "eval/magnetic_tile.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/registry.h"

namespace edgeloop::eval {
namespace {

namespace fs = std::filesystem;

class MagneticTileEval : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeloop-tile-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    for (const char* c : {"MT_Free", "MT_Blowhole", "MT_Break", "MT_Crack", "MT_Fray", "MT_Uneven"}) {
      fs::create_directories(dir_ / "data" / c / "Imgs");
    }
    tile("MT_Free", "free_a", 200);
    tile("MT_Free", "free_b", 210);
    tile("MT_Free", "free_dark", 30);      // a good tile that looks bad: false positive
    tile("MT_Crack", "crack_a", 25);
    tile("MT_Crack", "crack_bright", 220);  // a defect that looks good: false negative
    tile("MT_Blowhole", "bh_a", 35);
    cv::imwrite((dir_ / "data/MT_Crack/Imgs/crack_a.png").string(), cv::Mat(10, 20, CV_8UC1, cv::Scalar(0)));  // a mask
    model_ = (dir_ / "tiny_tile.onnx").string();
    fs::copy_file(fs::path(EDGELOOP_SOURCE_DIR) / "tests/eval/magnetic_tile_data/tiny_tile.onnx", model_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void tile(const std::string& cls, const std::string& name, int value) {
    const cv::Mat img(10, 20, CV_8UC1, cv::Scalar(value));
    ASSERT_TRUE(cv::imwrite((dir_ / "data" / cls / "Imgs" / (name + ".jpg")).string(), img));
  }
  void sidecar(const nlohmann::json& j) { std::ofstream((dir_ / "tiny_tile.json").string()) << j.dump(); }

  Result<EvalResult> run() {
    EvalOptions o;
    o.data_dir = (dir_ / "data").string();
    o.model_path = model_;
    Registry registry;
    return run_magnetic_tile_eval(o, registry);
  }

  fs::path dir_;
  std::string model_;
};

nlohmann::json summary_of(const EvalResult& r) { return nlohmann::json::parse(r.summary_json); }

TEST_F(MagneticTileEval, WithoutSidecarEveryImageAndTheTopClassDecides) {
  auto r = run();
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto s = summary_of(*r);
  EXPECT_EQ(s["dataset"], "magnetic_tile");
  EXPECT_EQ(s["images"], 6);
  EXPECT_DOUBLE_EQ(s["accuracy"].get<double>(), 0.6667);  // tp 2, tn 2, fp 1, fn 1
  EXPECT_DOUBLE_EQ(s["defect_recall"].get<double>(), 0.6667);
  EXPECT_DOUBLE_EQ(s["defect_precision"].get<double>(), 0.6667);
  EXPECT_GT(s["images_per_s"].get<double>(), 0);
  EXPECT_EQ(r->summary_json.rfind("{\"dataset\":\"magnetic_tile\",\"images\":6,\"accuracy\":0.6667,", 0), 0U);
  EXPECT_NE(r->text.find("defect: tp 2 fp 1 fn 1 tn 2"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("p99"), std::string::npos);
}

TEST_F(MagneticTileEval, TheSidecarGivesInputThresholdAndTestSplit) {
  // P(MT_Free) of a bright tile is about 0.77: a threshold of 0.999 fails every image.
  sidecar({{"classes", {"MT_Free", "MT_Blowhole", "MT_Break", "MT_Crack", "MT_Fray", "MT_Uneven"}},
           {"pass_class", "MT_Free"},
           {"threshold", 0.999},
           {"input", {{"shape", {-1, 1, 8, 8}}, {"mean", 0.0}, {"std", 1.0}, {"resize", "cv2.resize, INTER_AREA"}}}});
  auto r = run();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->text.find("defect: tp 3 fp 3 fn 0 tn 0"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("decision: defect when P(MT_Free) < 0.999000"), std::string::npos) << r->text;

  sidecar({{"threshold", 0.5},
           {"input", {{"height", 8}, {"width", 8}}},
           {"test_files", {"MT_Free/Imgs/free_a.jpg", "MT_Free/Imgs/free_dark.jpg", "MT_Crack/Imgs/crack_bright.jpg",
                           "MT_Blowhole/Imgs/bh_a.jpg"}},
           // softmax([10 * 200/255 - 5, 0 x 5])[0] for the first; the second deliberately off by 0.25
           {"test_p_free_first10", {0.774465, 0.25}}});
  r = run();
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto s = summary_of(*r);
  EXPECT_EQ(s["images"], 4);
  EXPECT_DOUBLE_EQ(s["defect_recall"].get<double>(), 0.5);  // bh_a found, crack_bright missed
  EXPECT_DOUBLE_EQ(s["defect_precision"].get<double>(), 0.5);  // free_dark failed
  EXPECT_DOUBLE_EQ(s["accuracy"].get<double>(), 0.5);
  EXPECT_NE(r->text.find("the sidecar's test split"), std::string::npos);
  // free_dark's P(MT_Free) is about 0.0044: 0.2456 from the 0.25 written above.
  EXPECT_NE(r->text.find("of the first 2 test images: at most 0.24"), std::string::npos) << r->text;
}

TEST_F(MagneticTileEval, ErrorsNameTheFile) {
  sidecar({{"test_files", {"MT_Free/Imgs/free_a.jpg", "MT_Crack/Imgs/missing.jpg"}}});
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("MT_Crack/Imgs/missing.jpg: a file of the sidecar's test split is missing (1 of 2 are here)"),
            std::string::npos)
      << r.error().message;

  // A folder holding none of the split's files is another (held-out) part: every image is scored.
  sidecar({{"test_files", {"MT_Free/Imgs/elsewhere.jpg", "MT_Crack/Imgs/elsewhere.jpg"}}});
  r = run();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(summary_of(*r)["images"], 6);
  EXPECT_NE(r->text.find("6 images (all: the sidecar's test split is not in this folder)"), std::string::npos) << r->text;

  sidecar({{"test_files", {"Elsewhere/x.jpg"}}});
  r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "test file Elsewhere/x.jpg is in no class folder");

  std::ofstream((dir_ / "data/MT_Free/Imgs/free_a.jpg").string()) << "not a jpeg";
  sidecar({{"test_files", {"MT_Free/Imgs/free_a.jpg"}}});
  r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a JPEG or PNG image"), std::string::npos) << r.error().message;

  EvalOptions o;
  o.data_dir = (dir_ / "data").string();
  Registry registry;
  EXPECT_FALSE(run_magnetic_tile_eval(o, registry).ok());  // no model
}

#ifdef EDGELOOP_TILE_MODEL
// The committed classifier (tools/train/magnetic_tile.py) on the first 10 images of its test
// split, from ../shared/data: what the C++ decode + preprocess + inference computes must be what
// the training script computed (its sidecar's test_p_free_first10), to 1e-4.
TEST(MagneticTileCommittedModel, MatchesTheTrainingScriptOnTheFirstTestImages) {
  const fs::path dir = fs::temp_directory_path() / ("edgeloop-tile-model-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path model(EDGELOOP_TILE_MODEL);
  fs::copy_file(model, dir / "m.onnx", fs::copy_options::overwrite_existing);
  nlohmann::json side = nlohmann::json::parse(std::ifstream(fs::path(model).replace_extension(".json").string()));
  ASSERT_GE(side["test_files"].size(), 10U);
  ASSERT_GE(side["test_p_free_first10"].size(), 10U);
  side["test_files"] = std::vector<std::string>(side["test_files"].begin(), side["test_files"].begin() + 10);
  std::ofstream((dir / "m.json").string()) << side.dump();
  EvalOptions o;
  o.data_dir = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data/magnetic_tile";
  o.model_path = (dir / "m.onnx").string();
  o.report_path = (dir / "report.json").string();
  Registry registry;
  auto r = run_magnetic_tile_eval(o, registry);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(summary_of(*r)["images"], 10);
  const auto report = nlohmann::json::parse(std::ifstream(o.report_path));
  EXPECT_LT(report["reference_p_pass_max_diff"].get<double>(), 1e-4) << r->text;
  fs::remove_all(dir);
}
#endif

}  // namespace
}  // namespace edgeloop::eval
