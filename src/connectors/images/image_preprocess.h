// Decoding and preprocessing of one encoded image (JPEG or PNG) into the float tensor a model
// takes: [channels, height, width], row-major, (pixel * scale - mean[c]) / std[c]. OpenCV
// (imgcodecs, imgproc) stays behind this header. Shared by source.images and the magnetic
// tile evaluation, so both feed a model exactly the same values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.h"
#include "core/result.h"

namespace edgeloop {

struct ImagePreprocessConfig {
  int channels = 1;        // 1: grayscale; 3: colour
  bool rgb = true;         // colour channel order: RGB (true) or OpenCV's BGR
  int width = 0;           // the model's input size; both 0: keep the image's own size
  int height = 0;
  std::string interpolation = "linear";  // linear, area, nearest, cubic (cv::resize)
  double scale = 1.0 / 255.0;
  std::vector<double> mean = {0.0};  // one value, or one per channel
  std::vector<double> std = {1.0};
  int64_t max_bytes = 16 * 1024 * 1024;  // a larger encoded image is refused (kTooLarge)
  int64_t max_pixels = 40'000'000;       // width x height from the file's header, checked before decoding
};

// Checks the config (channels 1 or 3, sizes, mean/std lengths, std != 0, interpolation name).
Status validate_preprocess(const ImagePreprocessConfig& c);

// Reads the preprocessing fields of a model's JSON sidecar over `base`: `input` {channels,
// height, width} or `input_size` ([H, W] or one number) / `input_shape` ([N,]C,H,W); `channels`,
// `mean`, `std` (numbers or lists), `scale`, `interpolation` (or a `resize` text naming
// cv2's INTER_AREA/LINEAR/NEAREST/CUBIC); top level or under `input`; absent keys keep `base`.
Result<ImagePreprocessConfig> preprocess_from_sidecar(const std::string& path, ImagePreprocessConfig base);

// Width and height from a PNG or JPEG header without decoding; false when neither is found.
bool peek_image_size(std::string_view bytes, int& width, int& height);

struct ImageInfo {
  int width = 0;   // of the encoded image
  int height = 0;
};

// Not thread-safe (scratch buffers): one per thread.
class ImagePreprocessor {
 public:
  explicit ImagePreprocessor(ImagePreprocessConfig config);
  ~ImagePreprocessor();
  ImagePreprocessor(const ImagePreprocessor&) = delete;
  ImagePreprocessor& operator=(const ImagePreprocessor&) = delete;

  // Decodes `bytes` and writes the tensor into `out` (samples and shape replaced). Errors:
  // kTooLarge (bytes or pixels over the bounds), kParse (not a decodable JPEG/PNG). Never throws.
  Status run(std::string_view bytes, SampleBlock& out, ImageInfo* info = nullptr);
  // The same from a file (read whole; kIo when it cannot be read).
  Status run_file(const std::string& path, SampleBlock& out, ImageInfo* info = nullptr);

  const ImagePreprocessConfig& config() const { return config_; }
  // Values per image: channels x height x width (0 when the size is the image's own).
  std::size_t tensor_size() const;

 private:
  struct Scratch;
  ImagePreprocessConfig config_;
  std::unique_ptr<Scratch> scratch_;
  std::string file_buf_;
};

}  // namespace edgeloop
