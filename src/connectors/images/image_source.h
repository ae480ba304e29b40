// source.images: images in, one Record per image out, with the preprocessed tensor [C,H,W] in
// its SampleBlock (ready for a `model.onnx` stage with `input: block`). Three ways in:
//   folder: a watched folder (inotify: a file is taken when it is closed after writing or moved
//           in; files already there at start, and any missed, are found by a periodic rescan);
//           each .jpg/.jpeg/.png is processed once, then optionally moved to `done`.
//   http:   its own HTTP server, POST <path>/<key> with a JPEG/PNG body (decoded on the HTTP
//           worker, so the answer says whether the image was good).
//   mqtt:   topics whose payloads are JPEG/PNG (MqttClient; decoded on its thread).
// An image that cannot be decoded, or is over the size bounds, is counted and dead-lettered;
// the source goes on. Fields: the encoded image's `width`, `height` and `bytes`, and `image`,
// its number at this source (1, 2, ...: the part a reject command names). recv_ns starts the
// latency clock: when the request or message arrived, or when a notified file arrived in the
// folder (its inode change time: the rename or last write, at the kernel's clock-tick
// granularity); ts_ns is the capture time (a file's modification time; else the receive time).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "connectors/http_intake/http_intake.h"
#include "connectors/http_intake/worker_pool.h"
#include "connectors/images/image_preprocess.h"
#include "connectors/mqtt/mqtt_client.h"
#include "connectors/mqtt/topic_key.h"
#include "core/registry.h"

namespace edgeloop {

enum class ImageMode { kFolder, kHttp, kMqtt };

struct ImageSourceConfig {
  ImageMode mode = ImageMode::kFolder;
  ImagePreprocessConfig preprocess;
  // folder: a constant key, or a text with {name} (the file name without extension) / {file};
  // empty: the source's name. mqtt: a topic template ({topic}, {2}, ...). http: unused (the URL).
  std::string key;
  // folder
  std::string folder;
  std::string done_dir;    // processed images are moved here (relative to `folder` unless absolute); empty: left
  std::string failed_dir;  // images that could not be used are moved here; empty: left (and skipped)
  int64_t rescan_ns = 1'000'000'000;
  int64_t settle_ns = 200'000'000;  // a rescan takes a file only when it was last written this long ago
  // http
  std::string listen = "127.0.0.1";
  int port = 8082;  // 0: a free one (port() after start)
  std::string path = "/images";
  int threads = 2;
  std::size_t queue = 64;  // decoded images waiting for the pipeline
  int64_t backpressure_timeout_ns = 1'000'000'000;
  // mqtt
  MqttConnectConfig connect;
  std::vector<std::string> subscribe;
  int qos = 0;
};

const OptionTable& image_source_options();
Result<ImageSourceConfig> image_source_config(const Options& options);

class ImageSource final : public Source {
 public:
  // Why an image was refused: the `reason` label of edgeloop_source_errors_total.
  enum Reason { kUndecodable, kTooLarge, kBadKey, kKeyLimit, kIo, kReasons };
  static const char* reason_name(int reason);

  static Result<std::unique_ptr<ImageSource>> create(ImageSourceConfig config);
  ~ImageSource() override;

  const Schema& schema() const override { return schema_; }
  Status start(SourceContext& ctx) override;
  void stop() override;
  Health health() const override;

  int port() const { return intake_ ? intake_->port() : 0; }  // http mode
  const ImageSourceConfig& config() const { return config_; }

  // One image in (the path every mode takes; public for tests and benchmarks). Decodes with
  // `pre`, keys, and pushes (or, for http, queues) the record. False: refused (counted and
  // dead-lettered with `origin` as topic); `error` says why.
  bool handle_image(ImagePreprocessor& pre, std::string_view bytes, std::string_view key, std::string_view origin,
                    int64_t recv_ns, int64_t ts_ns, std::string* error = nullptr, Reason* reason = nullptr);

 private:
  struct Counters;
  explicit ImageSource(ImageSourceConfig config);

  void reject(Reason reason, const std::string& message, std::string_view origin, std::string_view bytes, int64_t recv_ns);
  void deliver(Record&& r);
  // folder mode
  void folder_loop();
  void scan_folder();  // settled image files not yet taken, by name
  void process_file(const std::string& name, bool notified);
  std::string folder_key(const std::string& name) const;
  // http mode
  void make_intake();
  void handle_post(const httplib::Request& req, httplib::Response& res);

  ImageSourceConfig config_;
  Schema schema_;
  TopicKey topic_key_;

  std::string name_;
  uint16_t index_ = 0;
  RecordOutput* output_ = nullptr;
  DeadLetterSink* dead_letters_ = nullptr;
  std::optional<KeyCache> keys_;  // guarded by keys_mu_ (http workers share it)
  std::mutex keys_mu_;
  std::unique_ptr<Metrics> own_metrics_;
  std::unique_ptr<Counters> counters_;
  std::atomic<Health> health_{Health::kConnecting};
  std::atomic<uint64_t> images_{0};  // good images so far: the `image` field
  bool started_ = false;

  // folder and mqtt: one preprocessor on the one thread that pushes
  std::unique_ptr<ImagePreprocessor> pre_;
  std::thread folder_thread_;
  int stop_fd_ = -1;  // eventfd that wakes the folder thread for stop()
  std::atomic<bool> stopping_{false};
  std::set<std::string> seen_;  // folder thread only: names processed and left in place
  std::string done_path_, failed_path_;

  // http
  std::vector<std::unique_ptr<ImagePreprocessor>> workers_;
  WorkerPool<ImagePreprocessor> idle_;
  std::unique_ptr<HttpIntake> intake_;  // the server, the bounded queue and the pusher thread

  // mqtt
  std::unique_ptr<MqttClient> client_;
  std::string key_buf_;
};

}  // namespace edgeloop
