#include "models/infer/opencv_model.h"

#include <cstring>
#include <mutex>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "models/infer/threads.h"

namespace edgeloop::models {
namespace {

// OpenCV's messages span lines ("> Node [...] parse error: ...\n>   expected ..."): one line.
std::string cv_message(const cv::Exception& e) {
  std::string out;
  bool line_start = true;
  bool space = false;
  for (char c : e.err) {
    if (c == '\n') {
      line_start = true;
      space = !out.empty();
      continue;
    }
    if ((line_start && c == '>') || c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    line_start = false;
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

int64_t per_sample(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

class OpenCvModel final : public TensorModel {
 public:
  OpenCvModel(cv::dnn::Net net, std::vector<TensorInfo> inputs, std::vector<TensorInfo> outputs)
      : net_(std::move(net)), inputs_(std::move(inputs)), outputs_(std::move(outputs)) {
    for (const auto& o : outputs_) out_names_.push_back(o.name);
    in_per_sample_ = per_sample(inputs_[0].shape);
  }

  const std::vector<TensorInfo>& inputs() const override { return inputs_; }
  const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  const std::string& backend() const override { return backend_; }

  Status run(std::span<const float> input, int batch, std::vector<std::vector<float>>& outputs) override {
    if (batch < 1 || static_cast<int64_t>(input.size()) != batch * in_per_sample_) {
      return make_error(Errc::kInvalidArgument, "model input '" + inputs_[0].name + "' wants " +
                                                    std::to_string(batch * in_per_sample_) + " values for a batch of " +
                                                    std::to_string(batch) + ", got " + std::to_string(input.size()));
    }
    const int64_t fixed_batch = inputs_[0].shape[0];
    if (fixed_batch > 0 && fixed_batch != batch) {
      return make_error(Errc::kInvalidArgument, "model input '" + inputs_[0].name + "' has a fixed batch of " +
                                                    std::to_string(fixed_batch) + ", got " + std::to_string(batch));
    }
    try {
      sizes_.assign(1, batch);
      for (std::size_t i = 1; i < inputs_[0].shape.size(); ++i) sizes_.push_back(static_cast<int>(inputs_[0].shape[i]));
      if (blob_.dims != static_cast<int>(sizes_.size()) || blob_.size[0] != batch) {
        blob_.create(static_cast<int>(sizes_.size()), sizes_.data(), CV_32F);
      }
      std::memcpy(blob_.ptr<float>(), input.data(), input.size() * sizeof(float));
      net_.setInput(blob_);
      net_.forward(outs_, out_names_);
    } catch (const cv::Exception& e) {
      return make_error(Errc::kInternal, "OpenCV DNN: " + cv_message(e));
    } catch (const std::exception& e) {
      return make_error(Errc::kInternal, std::string("OpenCV DNN: ") + e.what());
    }
    outputs.resize(outs_.size());
    for (std::size_t i = 0; i < outs_.size(); ++i) {
      const cv::Mat& m = outs_[i];
      if (m.type() != CV_32F || !m.isContinuous()) {
        return make_error(Errc::kInternal, "OpenCV DNN: output '" + out_names_[i] + "' is not a dense float tensor");
      }
      const int64_t want = batch * per_sample(outputs_[i].shape);
      if (static_cast<int64_t>(m.total()) != want) {
        return make_error(Errc::kInternal, "OpenCV DNN: output '" + out_names_[i] + "' has " +
                                               std::to_string(m.total()) + " values, expected " + std::to_string(want));
      }
      const float* p = m.ptr<float>();
      outputs[i].assign(p, p + m.total());
    }
    return Status::Ok();
  }

  // Fills open output dims from a run on zeros.
  Status probe(const std::string& path) {
    std::vector<float> zeros(static_cast<std::size_t>(in_per_sample_), 0.0f);
    try {
      sizes_.assign(1, 1);
      for (std::size_t i = 1; i < inputs_[0].shape.size(); ++i) sizes_.push_back(static_cast<int>(inputs_[0].shape[i]));
      blob_.create(static_cast<int>(sizes_.size()), sizes_.data(), CV_32F);
      blob_.setTo(0);
      net_.setInput(blob_);
      net_.forward(outs_, out_names_);
    } catch (const cv::Exception& e) {
      return make_error(Errc::kInvalidArgument, "model '" + path + "': OpenCV DNN 4.6 cannot run the graph: " + cv_message(e));
    }
    if (outs_.size() != outputs_.size()) {
      return make_error(Errc::kInvalidArgument, "model '" + path + "': OpenCV DNN returned " +
                                                    std::to_string(outs_.size()) + " outputs, the graph declares " +
                                                    std::to_string(outputs_.size()));
    }
    for (std::size_t i = 0; i < outs_.size(); ++i) {
      std::vector<int64_t> got{-1};
      for (int d = 1; d < outs_[i].dims; ++d) got.push_back(outs_[i].size[d]);
      if (outs_[i].dims == 1) got.push_back(outs_[i].size[0]);  // a 1-D result of one sample
      auto& declared = outputs_[i].shape;
      bool open = declared.size() < 2;
      for (std::size_t d = 1; d < declared.size(); ++d) open = open || declared[d] < 0;
      const int64_t n = static_cast<int64_t>(outs_[i].total());
      if (open) {
        declared = got;
      } else if (per_sample(declared) != n) {
        return make_error(Errc::kInvalidArgument, "model '" + path + "': output '" + outputs_[i].name +
                                                      "' is declared " + shape_string(declared) + " but OpenCV DNN gives " +
                                                      std::to_string(n) + " values per sample");
      }
      if (!declared.empty()) declared[0] = -1;
    }
    return Status::Ok();
  }

 private:
  cv::dnn::Net net_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::vector<cv::String> out_names_;
  std::string backend_ = "opencv-dnn";
  int64_t in_per_sample_ = 0;
  std::vector<int> sizes_;
  cv::Mat blob_;
  std::vector<cv::Mat> outs_;
};

}  // namespace

Result<std::unique_ptr<TensorModel>> load_opencv_model(const OnnxGraphInfo& graph, const std::string& path) {
  static std::once_flag threads_once;
  std::call_once(threads_once, [] { cv::setNumThreads(inference_threads()); });
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(path);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  } catch (const cv::Exception& e) {
    return make_error(Errc::kInvalidArgument, "model '" + path + "': OpenCV DNN 4.6 cannot import the graph: " + cv_message(e));
  } catch (const std::exception& e) {
    return make_error(Errc::kInvalidArgument, "model '" + path + "': OpenCV DNN 4.6 cannot import the graph: " + e.what());
  }
  if (net.empty()) return make_error(Errc::kInvalidArgument, "model '" + path + "': OpenCV DNN imported an empty network");
  auto model = std::make_unique<OpenCvModel>(std::move(net), graph.inputs, graph.outputs);
  EDGELOOP_TRY(model->probe(path));
  return std::unique_ptr<TensorModel>(std::move(model));
}

}  // namespace edgeloop::models
