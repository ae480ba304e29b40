#include "connectors/images/image_preprocess.h"

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace edgeloop {

namespace {

int interpolation_flag(const std::string& name) {
  if (name == "linear") return cv::INTER_LINEAR;
  if (name == "area") return cv::INTER_AREA;
  if (name == "nearest") return cv::INTER_NEAREST;
  if (name == "cubic") return cv::INTER_CUBIC;
  return -1;
}

uint32_t be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

double per_channel(const std::vector<double>& v, int c) {
  return v.size() == 1 ? v[0] : v[static_cast<std::size_t>(c)];
}

// A number or a list of numbers from the sidecar.
bool read_numbers(const nlohmann::json& j, std::vector<double>& out) {
  out.clear();
  if (j.is_number()) {
    out.push_back(j.get<double>());
    return true;
  }
  if (!j.is_array() || j.empty()) return false;
  for (const auto& v : j) {
    if (!v.is_number()) return false;
    out.push_back(v.get<double>());
  }
  return true;
}

}  // namespace

Status validate_preprocess(const ImagePreprocessConfig& c) {
  if (c.channels != 1 && c.channels != 3) {
    return make_error(Errc::kInvalidConfig, "channels must be 1 (grayscale) or 3 (colour), not " + std::to_string(c.channels));
  }
  if (c.width < 0 || c.height < 0 || (c.width == 0) != (c.height == 0)) {
    return make_error(Errc::kInvalidConfig, "width and height must both be set (the model's input size) or both be 0");
  }
  if (c.width > 8192 || c.height > 8192) return make_error(Errc::kInvalidConfig, "width and height are at most 8192");
  for (const auto* v : {&c.mean, &c.std}) {
    if (v->size() != 1 && v->size() != static_cast<std::size_t>(c.channels)) {
      return make_error(Errc::kInvalidConfig, std::string(v == &c.mean ? "mean" : "std") +
                                                  " needs one value or one per channel (" + std::to_string(c.channels) + ")");
    }
  }
  for (double s : c.std) {
    if (s == 0) return make_error(Errc::kInvalidConfig, "std cannot be 0");
  }
  if (interpolation_flag(c.interpolation) < 0) {
    return make_error(Errc::kInvalidConfig, "interpolation '" + c.interpolation + "' is not one of linear, area, nearest, cubic");
  }
  if (c.max_bytes <= 0 || c.max_pixels <= 0) return make_error(Errc::kInvalidConfig, "max_bytes and max_pixels must be positive");
  return Status::Ok();
}

Result<ImagePreprocessConfig> preprocess_from_sidecar(const std::string& path, ImagePreprocessConfig base) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::kIo, "cannot read the model sidecar " + path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    return make_error(Errc::kParse, "model sidecar " + path + ": " + e.what());
  }
  if (!j.is_object()) return make_error(Errc::kParse, "model sidecar " + path + ": not a JSON object");
  const auto bad = [&](const std::string& key) {
    return make_error(Errc::kParse, "model sidecar " + path + ": '" + key + "' is not what was expected");
  };
  // The input size, in any of the forms a training script is likely to write.
  const auto read_int = [](const nlohmann::json& v, int& out) {
    if (!v.is_number_integer()) return false;
    out = v.get<int>();
    return true;
  };
  const nlohmann::json* src = &j;
  if (auto it = j.find("input"); it != j.end() && it->is_object()) src = &*it;
  for (const nlohmann::json* o : {static_cast<const nlohmann::json*>(&j), src}) {
    if (auto it = o->find("input_size"); it != o->end()) {
      if (it->is_number_integer()) {
        base.width = base.height = it->get<int>();
      } else if (it->is_array() && it->size() == 2) {
        if (!read_int((*it)[0], base.height) || !read_int((*it)[1], base.width)) return bad("input_size");
      } else {
        return bad("input_size");
      }
    }
    for (const char* key : {"input_shape", "shape"}) {
      auto it = o->find(key);
      if (it == o->end()) continue;
      if (!it->is_array() || it->size() < 3) return bad(key);
      const std::size_t n = it->size();
      int c = 0;
      if (!read_int((*it)[n - 3], c) || !read_int((*it)[n - 2], base.height) || !read_int((*it)[n - 1], base.width)) {
        return bad(key);
      }
      base.channels = c;
    }
    if (auto it = o->find("height"); it != o->end() && !read_int(*it, base.height)) return bad("height");
    if (auto it = o->find("width"); it != o->end() && !read_int(*it, base.width)) return bad("width");
    if (auto it = o->find("channels"); it != o->end() && !read_int(*it, base.channels)) return bad("channels");
    if (auto it = o->find("mean"); it != o->end() && !read_numbers(*it, base.mean)) return bad("mean");
    if (auto it = o->find("std"); it != o->end() && !read_numbers(*it, base.std)) return bad("std");
    if (auto it = o->find("scale"); it != o->end()) {
      if (!it->is_number()) return bad("scale");
      base.scale = it->get<double>();
    }
    // A prose "resize" (e.g. "cv2.resize to width x height, INTER_AREA") names the method.
    if (auto it = o->find("resize"); it != o->end() && it->is_string()) {
      const std::string text = it->get<std::string>();
      for (const char* m : {"AREA", "LINEAR", "NEAREST", "CUBIC"}) {
        if (text.find(std::string("INTER_") + m) == std::string::npos) continue;
        std::string name(m);
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        base.interpolation = name;
        break;
      }
    }
    if (auto it = o->find("interpolation"); it != o->end()) {
      if (!it->is_string()) return bad("interpolation");
      base.interpolation = it->get<std::string>();
    }
  }
  if (Status s = validate_preprocess(base); !s.ok()) {
    return make_error(Errc::kInvalidConfig, "model sidecar " + path + ": " + s.error().message);
  }
  return base;
}

bool peek_image_size(std::string_view bytes, int& width, int& height) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  static constexpr unsigned char kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (n >= 24 && std::equal(kPng, kPng + 8, p) && std::string_view(bytes.data() + 12, 4) == "IHDR") {
    width = static_cast<int>(std::min<uint32_t>(be32(p + 16), INT32_MAX));
    height = static_cast<int>(std::min<uint32_t>(be32(p + 20), INT32_MAX));
    return true;
  }
  if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) return false;
  std::size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) return false;
    const unsigned char marker = p[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      i += 2;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) return false;  // end, or scan data before any frame header
    const uint32_t len = be16(p + i + 2);
    if (len < 2) return false;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (i + 9 > n) return false;
      height = static_cast<int>(be16(p + i + 5));
      width = static_cast<int>(be16(p + i + 7));
      return true;
    }
    i += 2 + len;
  }
  return false;
}

struct ImagePreprocessor::Scratch {
  cv::Mat decoded;
  cv::Mat colour;
  cv::Mat resized;
  std::vector<cv::Mat> planes;
};

ImagePreprocessor::ImagePreprocessor(ImagePreprocessConfig config)
    : config_(std::move(config)), scratch_(std::make_unique<Scratch>()) {}

ImagePreprocessor::~ImagePreprocessor() = default;

std::size_t ImagePreprocessor::tensor_size() const {
  return static_cast<std::size_t>(config_.channels) * static_cast<std::size_t>(config_.width) *
         static_cast<std::size_t>(config_.height);
}

Status ImagePreprocessor::run(std::string_view bytes, SampleBlock& out, ImageInfo* info) {
  if (bytes.empty()) return make_error(Errc::kParse, "the image is empty (0 bytes)");
  if (static_cast<int64_t>(bytes.size()) > config_.max_bytes) {
    return make_error(Errc::kTooLarge, "the image has " + std::to_string(bytes.size()) + " bytes, more than max_bytes (" +
                                           std::to_string(config_.max_bytes) + ")");
  }
  int w = 0;
  int h = 0;
  if (!peek_image_size(bytes, w, h)) return make_error(Errc::kParse, "not a JPEG or PNG image (no readable header)");
  if (w <= 0 || h <= 0) return make_error(Errc::kParse, "the image header gives a size of 0");
  if (int64_t{w} * h > config_.max_pixels) {
    return make_error(Errc::kTooLarge, "the image is " + std::to_string(w) + "x" + std::to_string(h) +
                                           ", more pixels than max_pixels (" + std::to_string(config_.max_pixels) + ")");
  }
  Scratch& s = *scratch_;
  try {
    // imdecode does not modify the buffer; the Mat header just needs a non-const pointer.
    const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
    s.decoded = cv::imdecode(raw, config_.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
    if (s.decoded.empty()) return make_error(Errc::kParse, "the image could not be decoded (corrupt or truncated JPEG/PNG)");
    if (info) {
      info->width = s.decoded.cols;
      info->height = s.decoded.rows;
    }
    const cv::Mat* img = &s.decoded;
    if (config_.channels == 3 && config_.rgb) {
      cv::cvtColor(s.decoded, s.colour, cv::COLOR_BGR2RGB);
      img = &s.colour;
    }
    const int ow = config_.width > 0 ? config_.width : img->cols;
    const int oh = config_.height > 0 ? config_.height : img->rows;
    if (ow != img->cols || oh != img->rows) {
      cv::resize(*img, s.resized, cv::Size(ow, oh), 0, 0, interpolation_flag(config_.interpolation));
      img = &s.resized;
    }
    const std::size_t plane = static_cast<std::size_t>(ow) * static_cast<std::size_t>(oh);
    out.sample_rate_hz = 0;
    out.samples.resize(plane * static_cast<std::size_t>(config_.channels));
    out.shape = {config_.channels, oh, ow};
    if (config_.channels == 1) {
      const double sd = per_channel(config_.std, 0);
      cv::Mat dst(oh, ow, CV_32F, out.samples.data());
      img->convertTo(dst, CV_32F, config_.scale / sd, -per_channel(config_.mean, 0) / sd);
    } else {
      cv::split(*img, s.planes);
      for (int c = 0; c < 3; ++c) {
        const double sd = per_channel(config_.std, c);
        cv::Mat dst(oh, ow, CV_32F, out.samples.data() + plane * static_cast<std::size_t>(c));
        s.planes[static_cast<std::size_t>(c)].convertTo(dst, CV_32F, config_.scale / sd, -per_channel(config_.mean, c) / sd);
      }
    }
  } catch (const cv::Exception& e) {
    return make_error(Errc::kParse, std::string("the image could not be decoded: ") + e.what());
  } catch (const std::exception& e) {
    return make_error(Errc::kInternal, std::string("image preprocessing failed: ") + e.what());
  }
  return Status::Ok();
}

Status ImagePreprocessor::run_file(const std::string& path, SampleBlock& out, ImageInfo* info) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::kIo, "cannot open " + path);
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return make_error(Errc::kIo, "cannot read " + path);
  if (size > config_.max_bytes) {
    return make_error(Errc::kTooLarge, path + " has " + std::to_string(size) + " bytes, more than max_bytes (" +
                                           std::to_string(config_.max_bytes) + ")");
  }
  in.seekg(0);
  file_buf_.resize(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(file_buf_.data(), size)) return make_error(Errc::kIo, "cannot read " + path);
  return run(file_buf_, out, info);
}

}  // namespace edgeloop
