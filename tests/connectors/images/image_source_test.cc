// source.images with real components: a watched folder (files written at test time, before and
// after the start, renamed in or written in place), a real HTTP server (httplib client), a real
// mosquitto broker; corrupt images are dead-lettered and counted, never a crash.
#include "connectors/images/image_source.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "core/clock.h"
#include "fakes.h"
#include "mosquitto_broker.h"
#include "process.h"
#include "test_images.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class ImageSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = make_temp_dir("edgeloop-images-");
    ASSERT_TRUE(d.ok());
    dir_ = *d;
  }
  void TearDown() override {
    if (source_) source_->stop();
    remove_tree(dir_);
  }

  void start(ImageSourceConfig c) {
    c.preprocess.width = 16;
    c.preprocess.height = 8;
    auto s = ImageSource::create(std::move(c));
    ASSERT_TRUE(s.ok()) << s.error().message;
    source_ = std::move(*s);
    ctx_.name = "cam";
    ctx_.index = 3;
    ctx_.keys = &keys_;
    ctx_.output = &out_;
    ctx_.dead_letters = &dead_;
    ctx_.metrics = &metrics_;
    ASSERT_TRUE(source_->start(ctx_).ok());
  }
  double errors(const std::string& reason) {
    return metrics_.value("edgeloop_source_errors_total", {{"source", "cam"}, {"reason", reason}});
  }
  std::string key_of(const Record& r) { return keys_.name(r.key); }

  std::string dir_;
  KeyTable keys_;
  Metrics metrics_;
  CollectingOutput out_;
  CollectingDeadLetters dead_;
  SourceContext ctx_;
  std::unique_ptr<ImageSource> source_;
};

void expect_image_record(const Record& r, int width, int height, uint16_t source) {
  EXPECT_EQ(r.source, source);
  ASSERT_EQ(r.nfields, 4);
  EXPECT_EQ(r.f[0], width);
  EXPECT_EQ(r.f[1], height);
  EXPECT_GT(r.f[2], 0);
  ASSERT_TRUE(r.block);
  EXPECT_EQ(r.block->shape, (std::vector<int32_t>{1, 8, 16}));
  EXPECT_EQ(r.block->samples.size(), 128U);
  EXPECT_GT(r.recv_ns, 0);
}

TEST_F(ImageSourceTest, FolderTakesExistingAndNewImagesOnceAndMovesThemToDone) {
  write_file(dir_ + "/a_001.png", encode(gray_image(40, 20), ".png"));
  write_file(dir_ + "/a_002.jpg", encode(gray_image(30, 10), ".jpg"));
  write_file(dir_ + "/notes.txt", "not an image");
  ImageSourceConfig c;
  c.mode = ImageMode::kFolder;
  c.folder = dir_;
  c.key = "line1/{name}";
  c.done_dir = "done";
  c.failed_dir = dir_ + "/failed";
  c.rescan_ns = 50 * kNsPerMs;
  start(c);
  ASSERT_TRUE(out_.wait_for_count(2, 10s));
  auto recs = out_.records();
  ASSERT_EQ(recs.size(), 2U);
  EXPECT_EQ(key_of(recs[0]), "line1/a_001");  // by name order
  EXPECT_EQ(recs[0].f[3], 1);  // the image's number
  EXPECT_EQ(recs[1].f[3], 2);
  EXPECT_EQ(key_of(recs[1]), "line1/a_002");
  expect_image_record(recs[0], 40, 20, 3);
  expect_image_record(recs[1], 30, 10, 3);
  struct stat st {};
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir_ + "/done/a_002.jpg"); }, 5s));
  EXPECT_FALSE(fs::exists(dir_ + "/a_001.png"));
  EXPECT_TRUE(fs::exists(dir_ + "/notes.txt"));

  // Written elsewhere and renamed in (IN_MOVED_TO), and written in place (IN_CLOSE_WRITE).
  write_file(dir_ + "/.tmp_b", encode(gray_image(50, 25), ".png"));
  ASSERT_EQ(stat((dir_ + "/.tmp_b").c_str(), &st), 0);
  fs::rename(dir_ + "/.tmp_b", dir_ + "/b_003.png");
  write_file(dir_ + "/c_004.png", encode(gray_image(60, 30), ".png"));
  ASSERT_TRUE(out_.wait_for_count(4, 10s));
  recs = out_.records();
  EXPECT_EQ(key_of(recs[2]), "line1/b_003");
  EXPECT_EQ(key_of(recs[3]), "line1/c_004");
  expect_image_record(recs[3], 60, 30, 3);

  // A corrupt image: dead letter, counter, moved to failed/; the source goes on.
  write_file(dir_ + "/d_005.jpg", std::string("\xFF\xD8\xFF\xE0garbage", 11));
  write_file(dir_ + "/e_006.png", encode(gray_image(20, 20), ".png"));
  ASSERT_TRUE(out_.wait_for_count(5, 10s));
  ASSERT_TRUE(dead_.wait_for_count(1, 5s));
  EXPECT_EQ(key_of(out_.records()[4]), "line1/e_006");
  const auto letters = dead_.letters();
  EXPECT_EQ(letters[0].source, "cam");
  EXPECT_EQ(letters[0].topic, dir_ + "/d_005.jpg");
  EXPECT_EQ(letters[0].payload, "11 bytes: ff d8 ff e0 67 61 72 62 61 67 65");
  EXPECT_EQ(errors("undecodable"), 1);
  EXPECT_TRUE(wait_until([&] { return fs::exists(dir_ + "/failed/d_005.jpg"); }, 5s));
  EXPECT_EQ(metrics_.value("edgeloop_source_messages_total", {{"source", "cam"}}), 6);
  // Counted just after the push that the output saw.
  EXPECT_TRUE(wait_until([&] { return metrics_.value("edgeloop_source_records_total", {{"source", "cam"}}) == 5; }, 2s));
  EXPECT_EQ(source_->health(), Health::kConnected);
  std::this_thread::sleep_for(150ms);  // rescans find nothing new
  EXPECT_EQ(out_.count(), 5U);
}

TEST_F(ImageSourceTest, FolderWithoutDoneProcessesEachImageOnceAndKeysBySourceName) {
  write_file(dir_ + "/x.png", encode(gray_image(16, 8), ".png"));
  ImageSourceConfig c;
  c.folder = dir_;
  c.rescan_ns = 20 * kNsPerMs;
  c.settle_ns = 0;
  start(c);
  ASSERT_TRUE(out_.wait_for_count(1, 10s));
  std::this_thread::sleep_for(100ms);  // several rescans
  EXPECT_EQ(out_.count(), 1U);
  EXPECT_EQ(key_of(out_.records()[0]), "cam");
  EXPECT_TRUE(fs::exists(dir_ + "/x.png"));
}

TEST_F(ImageSourceTest, FolderThatDoesNotExistYetIsWatchedOnceCreated) {
  ImageSourceConfig c;
  c.folder = dir_ + "/later";
  start(c);
  ASSERT_TRUE(wait_until([&] { return source_->health() == Health::kDown; }, 5s));
  fs::create_directories(dir_ + "/later");
  ASSERT_TRUE(wait_until([&] { return source_->health() == Health::kConnected; }, 5s));
  write_file(dir_ + "/later/y.png", encode(gray_image(16, 8), ".png"));
  ASSERT_TRUE(out_.wait_for_count(1, 10s));
}

TEST_F(ImageSourceTest, HttpTakesPostedImagesAndAnswersBadOnes) {
  ImageSourceConfig c;
  c.mode = ImageMode::kHttp;
  c.port = 0;
  c.path = "/v1/images";
  c.preprocess.max_bytes = 4096;
  start(c);
  ASSERT_GT(source_->port(), 0);
  httplib::Client client("127.0.0.1", source_->port());
  client.set_read_timeout(10, 0);
  const std::string png = encode(gray_image(40, 20), ".png");
  auto r = client.Post("/v1/images/press-1", png, "image/png");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "{\"accepted\":1,\"key\":\"press-1\",\"bytes\":" + std::to_string(png.size()) + "}\n");
  r = client.Post("/v1/images/line2/cam-b", encode(gray_image(30, 10), ".jpg"), "image/jpeg");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(out_.wait_for_count(2, 10s));
  auto recs = out_.records();
  EXPECT_EQ(key_of(recs[0]), "press-1");
  EXPECT_EQ(key_of(recs[1]), "line2/cam-b");
  expect_image_record(recs[0], 40, 20, 3);
  expect_image_record(recs[1], 30, 10, 3);

  r = client.Post("/v1/images/press-1", "corrupt bytes", "image/jpeg");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "{\"error\":\"not a JPEG or PNG image (no readable header)\",\"reason\":\"undecodable\"}\n");
  r = client.Post("/v1/images/press-1", std::string(5000, 'x'), "image/jpeg");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  r = client.Post("/v1/images/", png, "image/png");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  // httplib answers 413 before reading the body; its logger counts it afterwards.
  ASSERT_TRUE(dead_.wait_for_count(2, 5s));
  const auto letters = dead_.letters();
  EXPECT_EQ(letters[0].topic, "/v1/images/press-1");
  EXPECT_EQ(letters[1].reason, "the image has 5000 bytes, more than max_bytes (4096)");
  EXPECT_EQ(errors("undecodable"), 1);
  EXPECT_EQ(errors("too_large"), 1);
  EXPECT_EQ(out_.count(), 2U);
}

TEST_F(ImageSourceTest, MqttPayloadsAreImagesKeyedFromTheTopic) {
  if (!mosquitto_available()) GTEST_SKIP() << "no " << kMosquittoPath;
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start().ok());
  ImageSourceConfig c;
  c.mode = ImageMode::kMqtt;
  c.connect.host = broker.host();
  c.connect.port = broker.port();
  c.subscribe = {"plant/+/image"};
  c.key = "{1}";
  start(c);
  ASSERT_TRUE(wait_until([&] { return source_->health() == Health::kConnected; }, 10s));
  MqttTestClient pub;
  ASSERT_TRUE(pub.connect(broker.host(), broker.port()).ok());
  ASSERT_TRUE(pub.publish("plant/cam-7/image", encode(gray_image(40, 20), ".png")).ok());
  ASSERT_TRUE(pub.publish("plant/cam-8/image", "no image at all").ok());
  ASSERT_TRUE(pub.publish("plant/cam-8/image", encode(gray_image(24, 12), ".jpg")).ok());
  ASSERT_TRUE(pub.wait_published());
  ASSERT_TRUE(out_.wait_for_count(2, 10s));
  auto recs = out_.records();
  EXPECT_EQ(key_of(recs[0]), "cam-7");
  EXPECT_EQ(key_of(recs[1]), "cam-8");
  expect_image_record(recs[0], 40, 20, 3);
  expect_image_record(recs[1], 24, 12, 3);
  ASSERT_TRUE(dead_.wait_for_count(1, 5s));
  EXPECT_EQ(dead_.letters()[0].topic, "plant/cam-8/image");
  EXPECT_EQ(errors("undecodable"), 1);
  pub.disconnect();
  source_->stop();
  broker.stop();
}

}  // namespace
}  // namespace edgeloop::test
