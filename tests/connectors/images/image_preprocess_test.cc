// ImagePreprocessor on images encoded at test time: exact tensor values, shapes, colour order,
// resizing, the size bounds, headers and corrupt data.
#include "connectors/images/image_preprocess.h"

#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgproc.hpp>

#include "process.h"
#include "test_images.h"

namespace edgeloop::test {
namespace {

TEST(ImagePreprocess, GrayscalePngKeepsExactValuesNormalised) {
  ImagePreprocessConfig c;
  c.scale = 1.0 / 255;
  c.mean = {0.5};
  c.std = {0.25};
  ImagePreprocessor pre(c);
  const cv::Mat img = gray_image(4, 3);
  SampleBlock out;
  ImageInfo info;
  ASSERT_TRUE(pre.run(encode(img, ".png"), out, &info).ok());
  EXPECT_EQ(info.width, 4);
  EXPECT_EQ(info.height, 3);
  ASSERT_EQ(out.shape, (std::vector<int32_t>{1, 3, 4}));
  ASSERT_EQ(out.samples.size(), 12U);
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 4; ++x) {
      const double px = (x * 10 + y * 40) % 256;
      EXPECT_NEAR(out.samples[static_cast<std::size_t>(y * 4 + x)], (px / 255 - 0.5) / 0.25, 1e-6) << x << "," << y;
    }
  }
}

TEST(ImagePreprocess, ColourIsPlanarRgbWithPerChannelMeanAndStd) {
  cv::Mat bgr(2, 2, CV_8UC3, cv::Scalar(10, 20, 30));  // B=10 G=20 R=30
  ImagePreprocessConfig c;
  c.channels = 3;
  c.scale = 1.0;
  c.mean = {1, 2, 3};
  c.std = {1, 2, 3};
  ImagePreprocessor pre(c);
  SampleBlock out;
  ASSERT_TRUE(pre.run(encode(bgr, ".png"), out).ok());
  ASSERT_EQ(out.shape, (std::vector<int32_t>{3, 2, 2}));
  const float want[3] = {(30.0f - 1) / 1, (20.0f - 2) / 2, (10.0f - 3) / 3};  // R, G, B planes
  for (int c2 = 0; c2 < 3; ++c2)
    for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(out.samples[static_cast<std::size_t>(c2 * 4 + i)], want[c2]);
  ImagePreprocessConfig b = c;
  b.rgb = false;
  ImagePreprocessor pre_bgr(b);
  ASSERT_TRUE(pre_bgr.run(encode(bgr, ".png"), out).ok());
  EXPECT_FLOAT_EQ(out.samples[0], (10.0f - 1) / 1);  // B first
}

TEST(ImagePreprocess, ResizesToTheModelInputLikeCvResize) {
  const cv::Mat img = gray_image(40, 30, 7);
  ImagePreprocessConfig c;
  c.width = 8;
  c.height = 6;
  c.scale = 1.0;
  ImagePreprocessor pre(c);
  SampleBlock out;
  ASSERT_TRUE(pre.run(encode(img, ".png"), out).ok());
  ASSERT_EQ(out.shape, (std::vector<int32_t>{1, 6, 8}));
  cv::Mat want;
  cv::resize(img, want, cv::Size(8, 6), 0, 0, cv::INTER_LINEAR);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x) EXPECT_FLOAT_EQ(out.samples[static_cast<std::size_t>(y * 8 + x)], want.at<uint8_t>(y, x));
  EXPECT_EQ(pre.tensor_size(), 48U);
}

TEST(ImagePreprocess, JpegGivesExactlyWhatOpenCvDecodes) {
  const cv::Mat img = gray_image(64, 48);
  const std::string jpg = encode(img, ".jpg");
  ImagePreprocessConfig c;
  c.scale = 1.0;
  ImagePreprocessor pre(c);
  SampleBlock out;
  ASSERT_TRUE(pre.run(jpg, out).ok());
  ASSERT_EQ(out.shape, (std::vector<int32_t>{1, 48, 64}));
  std::vector<uint8_t> buf(jpg.begin(), jpg.end());
  const cv::Mat want = cv::imdecode(buf, cv::IMREAD_GRAYSCALE);
  ASSERT_EQ(want.cols, 64);
  int differ = 0;
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) differ += out.samples[static_cast<std::size_t>(y * 64 + x)] != want.at<uint8_t>(y, x);
  EXPECT_EQ(differ, 0);
}

TEST(ImagePreprocess, PeeksSizesFromPngAndJpegHeaders) {
  int w = 0, h = 0;
  ASSERT_TRUE(peek_image_size(encode(gray_image(123, 45), ".png"), w, h));
  EXPECT_EQ(w, 123);
  EXPECT_EQ(h, 45);
  ASSERT_TRUE(peek_image_size(encode(gray_image(321, 17), ".jpg"), w, h));
  EXPECT_EQ(w, 321);
  EXPECT_EQ(h, 17);
  EXPECT_FALSE(peek_image_size("GIF89a......", w, h));
  EXPECT_FALSE(peek_image_size("", w, h));
  EXPECT_FALSE(peek_image_size(std::string("\xFF\xD8\xFF", 3), w, h));
}

TEST(ImagePreprocess, RefusesCorruptTruncatedAndOversizedImages) {
  ImagePreprocessConfig c;
  c.max_bytes = 100000;
  c.max_pixels = 10000;
  ImagePreprocessor pre(c);
  SampleBlock out;
  auto s = pre.run("this is not an image", out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kParse);
  EXPECT_EQ(s.error().message, "not a JPEG or PNG image (no readable header)");

  const std::string jpg = encode(gray_image(50, 50), ".jpg");
  s = pre.run(std::string_view(jpg).substr(0, 200), out);  // header intact, data cut
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kParse) << s.error().message;

  s = pre.run(encode(gray_image(200, 60), ".png"), out);  // 12000 pixels
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kTooLarge);
  EXPECT_EQ(s.error().message, "the image is 200x60, more pixels than max_pixels (10000)");

  ImagePreprocessConfig small = c;
  small.max_bytes = 64;
  ImagePreprocessor pre_small(small);
  s = pre_small.run(jpg, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kTooLarge);

  s = pre.run("", out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "the image is empty (0 bytes)");
}

TEST(ImagePreprocess, ValidatesTheConfig) {
  ImagePreprocessConfig c;
  c.channels = 2;
  EXPECT_FALSE(validate_preprocess(c).ok());
  c.channels = 3;
  c.mean = {1, 2};
  EXPECT_EQ(validate_preprocess(c).error().message, "mean needs one value or one per channel (3)");
  c.mean = {0};
  c.std = {0};
  EXPECT_EQ(validate_preprocess(c).error().message, "std cannot be 0");
  c.std = {1};
  c.width = 10;
  EXPECT_FALSE(validate_preprocess(c).ok());
  c.height = 10;
  EXPECT_TRUE(validate_preprocess(c).ok());
  c.interpolation = "lanczos";
  EXPECT_FALSE(validate_preprocess(c).ok());
}

TEST(ImagePreprocess, ReadsTheModelSidecar) {
  auto dir = make_temp_dir();
  ASSERT_TRUE(dir.ok());
  const std::string path = *dir + "/model.json";
  {
    std::ofstream f(path);
    f << R"({"classes":["MT_Free","MT_Blowhole"],"input":{"channels":1,"height":64,"width":96,)"
         R"("resize":"cv2.resize to width x height, INTER_AREA"},"mean":0.4,"std":[0.2]})";
  }
  auto c = preprocess_from_sidecar(path, {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->width, 96);
  EXPECT_EQ(c->height, 64);
  EXPECT_EQ(c->channels, 1);
  EXPECT_EQ(c->mean, std::vector<double>{0.4});
  EXPECT_EQ(c->std, std::vector<double>{0.2});
  EXPECT_EQ(c->interpolation, "area");
  {
    std::ofstream f(path);
    f << R"({"input_shape":[1,1,32,48],"scale":1.0})";
  }
  c = preprocess_from_sidecar(path, {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->width, 48);
  EXPECT_EQ(c->height, 32);
  EXPECT_EQ(c->scale, 1.0);
  {
    std::ofstream f(path);
    f << R"({"input_size":"big"})";
  }
  c = preprocess_from_sidecar(path, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "model sidecar " + path + ": 'input_size' is not what was expected");
  EXPECT_FALSE(preprocess_from_sidecar(*dir + "/missing.json", {}).ok());
  remove_tree(*dir);
}

}  // namespace
}  // namespace edgeloop::test
