// examples/inspection.yaml end to end, with real components: the binary's registry, a Runtime,
// the watched folder (images written at test time), the model.onnx stage on the tiny test model
// (bright tiles pass, dark ones fail: tests/eval/magnetic_tile_data), op.inspect, and the reject
// commands published to a real mosquitto broker; a corrupt image is dead-lettered.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "app/builtins.h"
#include "config/app_config.h"
#include "config/yaml_loader.h"
#include "mosquitto_broker.h"
#include "process.h"
#include "runtime/inproc_source.h"
#include "runtime/runtime.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

void write_tile(const std::string& path, int value) {
  const cv::Mat img(40, 60, CV_8UC1, cv::Scalar(value));
  const std::string tmp = fs::path(path).parent_path() / ("." + fs::path(path).filename().string());
  ASSERT_TRUE(cv::imwrite(tmp + ".jpg", img));
  fs::rename(tmp + ".jpg", path);  // atomic hand-over, as a camera should
}

TEST(InspectionExample, DefectiveTilesGetRejectCommandsOverMqtt) {
  if (!mosquitto_available()) GTEST_SKIP() << "no " << kMosquittoPath;
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start().ok());
  auto dir = make_temp_dir("edgeloop-inspection-");
  ASSERT_TRUE(dir.ok());
  const std::string src = EDGELOOP_SOURCE_DIR;
  const std::map<std::string, std::string> env = {
      {"INSPECTION_DIR", *dir + "/in"},
      {"INSPECTION_MODEL", src + "/tests/eval/magnetic_tile_data/tiny_tile.onnx"},
      {"INSPECTION_SIDECAR", src + "/tests/eval/magnetic_tile_data/tiny_tile.json"},
      // One inference thread: this test also runs under TSan, which cannot follow OpenMP's pool
      // (the two-thread runs are checked in dnnl_model_test and model_stage_test).
      {"INSPECTION_THREADS", "1"},
      {"MQTT_PORT", std::to_string(broker.port())},
      {"EDGELOOP_DEAD_LETTERS", *dir + "/dead.jsonl"},
  };
  fs::create_directories(*dir + "/in");
  YamlLoadOptions load;
  load.env = [&](const std::string& name) -> std::optional<std::string> {
    if (auto it = env.find(name); it != env.end()) return it->second;
    return std::nullopt;
  };
  auto root = load_yaml_file(src + "/examples/inspection.yaml", load);
  ASSERT_TRUE(root.ok()) << root.error().message;
  auto cfg = parse_app_config(*root);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  Registry registry;
  register_all(registry);
  register_runtime(registry);
  auto rt = Runtime::build(*cfg, registry);
  ASSERT_TRUE(rt.ok()) << rt.error().message;

  MqttTestClient line;
  ASSERT_TRUE(line.connect(broker.host(), broker.port()).ok());
  ASSERT_TRUE(line.subscribe("line1/reject/cmd", 1).ok());
  ASSERT_TRUE((*rt)->start().ok());

  write_tile(*dir + "/in/tile_001.jpg", 200);  // pass
  write_tile(*dir + "/in/tile_002.jpg", 30);   // defect
  write_tile(*dir + "/in/tile_003.jpg", 25);   // defect, right after the other
  write_tile(*dir + "/in/tile_004.jpg", 210);  // pass
  {
    std::ofstream f(*dir + "/in/.tile_005.jpg");
    f << "\xFF\xD8\xFF\xE0 not really a jpeg";
  }
  fs::rename(*dir + "/in/.tile_005.jpg", *dir + "/in/tile_005.jpg");
  ASSERT_TRUE(line.wait_for_count(2, 20s)) << "reject commands: " << line.count();
  auto& m = (*rt)->metrics();
  ASSERT_TRUE(wait_until(
      [&] {
        return m.value("edgeloop_inspection_images_total", {{"pipeline", "inspection"}, {"result", "pass"}}) == 2 &&
               m.value("edgeloop_source_errors_total", {{"source", "camera"}, {"reason", "undecodable"}}) == 1;
      },
      10s));
  std::this_thread::sleep_for(100ms);  // nothing more comes
  const auto msgs = line.messages();
  ASSERT_EQ(msgs.size(), 2U);
  const auto first = nlohmann::json::parse(msgs[0].payload);
  const auto second = nlohmann::json::parse(msgs[1].payload);
  EXPECT_EQ(first["cmd"], "reject");
  EXPECT_EQ(first["image"], 2);  // the second good image of the source
  EXPECT_EQ(second["image"], 3);
  EXPECT_GT(first["p_defect"].get<double>(), 0.9);
  EXPECT_GE(first["latency_ms"].get<double>(), 0);
  EXPECT_EQ(m.value("edgeloop_inspection_images_total", {{"pipeline", "inspection"}, {"result", "fail"}}), 2);
  EXPECT_TRUE(fs::exists(*dir + "/in/done/tile_004.jpg"));
  EXPECT_TRUE(fs::exists(*dir + "/in/failed/tile_005.jpg"));
  (*rt)->stop();
  line.disconnect();
  broker.stop();
  remove_tree(*dir);
}

}  // namespace
}  // namespace edgeloop::test
