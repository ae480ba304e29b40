// Images for the tests, made at test time with OpenCV: small gradients whose pixel values are
// known exactly, encoded as PNG (lossless) or JPEG.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

namespace edgeloop::test {

// A grayscale w x h image, pixel (x, y) = (x * 10 + y * 40 + seed) % 256.
inline cv::Mat gray_image(int w, int h, int seed = 0) {
  cv::Mat m(h, w, CV_8UC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) m.at<uint8_t>(y, x) = static_cast<uint8_t>((x * 10 + y * 40 + seed) % 256);
  return m;
}

inline std::string encode(const cv::Mat& m, const std::string& ext) {
  std::vector<uint8_t> buf;
  cv::imencode(ext, m, buf);
  return std::string(buf.begin(), buf.end());
}

}  // namespace edgeloop::test
