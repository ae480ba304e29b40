#include "connectors/images/image_source.h"

#include <httplib.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace edgeloop {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxKeyLength = 256;
constexpr int64_t kFolderRetryNs = kNsPerSec;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_image_name(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;  // hidden, or a temporary file being written
  const std::string ext = lower(fs::path(name).extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// What a dead letter shows of a binary payload: its size and first bytes, in hex.
std::string describe_bytes(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = std::to_string(bytes.size()) + " bytes:";
  for (std::size_t i = 0; i < bytes.size() && i < 16; ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    s += ' ';
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

int64_t mtime_ns(const struct stat& st) { return int64_t{st.st_mtim.tv_sec} * kNsPerSec + st.st_mtim.tv_nsec; }

}  // namespace

struct ImageSource::Counters {
  Counter* messages = nullptr;
  Counter* records = nullptr;
  Counter* errors[kReasons] = {};
  Histogram* decode = nullptr;
  Gauge* up = nullptr;
};

const char* ImageSource::reason_name(int reason) {
  switch (reason) {
    case kUndecodable: return "undecodable";
    case kTooLarge: return "too_large";
    case kBadKey: return "bad_key";
    case kKeyLimit: return "key_limit";
    case kIo: return "io";
    default: return "unknown";
  }
}

const OptionTable& image_source_options() {
  static const OptionTable table = [] {
    OptionTable t = {
        {.name = "mode", .type = OptionType::kString, .default_value = "folder",
         .description = "How images arrive: `folder` (a watched folder), `http` (POST <path>/<key> with a JPEG or "
                        "PNG body) or `mqtt` (messages whose payload is a JPEG or PNG).",
         .choices = {"folder", "http", "mqtt"}},
        {.name = "key", .type = OptionType::kString, .default_value = "",
         .description = "The stream key. folder: a constant, or a text with `{name}` (the file name without its "
                        "extension) or `{file}`, e.g. `{name}` for one key per image (its state stays in each "
                        "stage: use it where the reject command must name the part); empty: the source's name. "
                        "mqtt: a topic template (`{topic}`, `{2}`; default `{topic}`). http: the URL's <key>."},
        {.name = "folder", .type = OptionType::kString, .default_value = "",
         .description = "folder mode: the folder to watch. A file is taken when closed after writing or moved in "
                        "(write elsewhere and rename for atomic hand-over); names starting with '.' are skipped."},
        {.name = "done", .type = OptionType::kString, .default_value = "",
         .description = "folder mode: move each processed image into this folder (relative to `folder` unless "
                        "absolute; created). Empty: images stay and are remembered so each is processed once."},
        {.name = "failed", .type = OptionType::kString, .default_value = "",
         .description = "folder mode: move images that could not be used (dead-lettered) here. Empty: they stay "
                        "and are skipped."},
        {.name = "rescan", .type = OptionType::kDuration, .default_value = "1s",
         .description = "folder mode: how often the folder is listed for files that no notification announced "
                        "(files there before the start, or missed).",
         .min = 0.01, .max = 3600},
        {.name = "settle", .type = OptionType::kDuration, .default_value = "200ms",
         .description = "folder mode: a listing (at the start and each rescan) takes a file only when its last write "
                        "is this old (one still being written is left for its close notification).",
         .min = 0, .max = 3600},
        {.name = "listen", .type = OptionType::kString, .default_value = "127.0.0.1",
         .description = "http mode: the address the image server listens on."},
        {.name = "port", .type = OptionType::kInt, .default_value = "8082",
         .description = "http mode: TCP port; 0 picks a free one (logged).", .min = 0, .max = 65535},
        {.name = "path", .type = OptionType::kString, .default_value = "/images",
         .description = "http mode: images are POSTed to <path>/<key>; the answer is 200 with the image's size, "
                        "400 (undecodable), 413 (too large) or 503 (the pipeline is busy: not taken, retry)."},
        {.name = "threads", .type = OptionType::kInt, .default_value = "2",
         .description = "http mode: HTTP workers, each decoding its own images.", .min = 1, .max = 64},
        {.name = "queue", .type = OptionType::kInt, .default_value = "64",
         .description = "http mode: decoded images that may wait for the pipeline.", .min = 1, .max = 100000},
        {.name = "backpressure_timeout", .type = OptionType::kDuration, .default_value = "1s",
         .description = "http mode: how long a request waits for room in the queue before 503.", .min = 0, .max = 3600},
        {.name = "subscribe", .type = OptionType::kList, .default_value = "",
         .description = "mqtt mode: topic filters whose messages are images (`+`, `#` allowed)."},
        {.name = "qos", .type = OptionType::kInt, .default_value = "0",
         .description = "mqtt mode: QoS of the subscriptions (0 or 1).", .min = 0, .max = 1},
        {.name = "sidecar", .type = OptionType::kString, .default_value = "",
         .description = "A model's JSON sidecar with its input size and normalisation (`input_size`/`input_shape`/"
                        "`height`+`width`, `channels`, `mean`, `std`, `scale`, `interpolation`); options set here "
                        "win over it."},
        {.name = "channels", .type = OptionType::kInt, .default_value = "1",
         .description = "1: grayscale; 3: colour (RGB order unless `bgr: true`).", .min = 1, .max = 3},
        {.name = "bgr", .type = OptionType::kBool, .default_value = "false",
         .description = "Colour images in OpenCV's BGR order instead of RGB."},
        {.name = "width", .type = OptionType::kInt, .default_value = "0",
         .description = "The model's input width: images are resized to width x height. 0 (with height 0): the "
                        "image's own size.",
         .min = 0, .max = 8192},
        {.name = "height", .type = OptionType::kInt, .default_value = "0",
         .description = "The model's input height.", .min = 0, .max = 8192},
        {.name = "interpolation", .type = OptionType::kString, .default_value = "linear",
         .description = "Resize method (cv::resize), as the model was trained with.",
         .choices = {"linear", "area", "nearest", "cubic"}},
        {.name = "scale", .type = OptionType::kNumber, .default_value = "0.00392156862745098",
         .description = "Pixel values (0..255) are multiplied by this first (default 1/255)."},
        {.name = "mean", .type = OptionType::kList, .default_value = "0",
         .description = "Subtracted after scaling: one value, or one per channel."},
        {.name = "std", .type = OptionType::kList, .default_value = "1",
         .description = "Divided by after the mean: one value, or one per channel."},
        {.name = "max_bytes", .type = OptionType::kSize, .default_value = "16MiB",
         .description = "Largest encoded image; larger ones are refused (reason too_large; http: 413 unread).",
         .min = 64, .max = 1024.0 * 1024 * 1024},
        {.name = "max_pixels", .type = OptionType::kInt, .default_value = "40000000",
         .description = "Largest width x height (read from the image header before decoding: no decompression "
                        "bombs); larger ones are refused (too_large).",
         .min = 1, .max = 1e9},
    };
    add_mqtt_connect_options(t);
    return t;
  }();
  return table;
}

Result<ImageSourceConfig> image_source_config(const Options& options) {
  ImageSourceConfig c;
  const std::string mode = options.str("mode");
  c.mode = mode == "http" ? ImageMode::kHttp : mode == "mqtt" ? ImageMode::kMqtt : ImageMode::kFolder;
  ImagePreprocessConfig& p = c.preprocess;
  if (options.has("sidecar")) {
    auto s = preprocess_from_sidecar(options.str("sidecar"), p);
    if (!s.ok()) return options.error("sidecar", s.error().message);
    p = *s;
  }
  if (options.has("channels")) p.channels = static_cast<int>(options.integer("channels"));
  if (options.has("width")) p.width = static_cast<int>(options.integer("width"));
  if (options.has("height")) p.height = static_cast<int>(options.integer("height"));
  if (options.has("interpolation")) p.interpolation = options.str("interpolation");
  if (options.has("scale")) p.scale = options.number("scale");
  p.rgb = !options.flag("bgr");
  for (const char* name : {"mean", "std"}) {
    if (!options.has(name)) continue;
    std::vector<double>& v = std::string_view(name) == "mean" ? p.mean : p.std;
    v.clear();
    for (const auto& text : options.list(name)) {
      auto n = parse_number(text);
      if (!n.ok()) return options.error(name, "'" + text + "' is not a number");
      v.push_back(*n);
    }
  }
  p.max_bytes = options.size_bytes("max_bytes");
  p.max_pixels = options.integer("max_pixels");
  if (Status s = validate_preprocess(p); !s.ok()) return options.error("channels", s.error().message);
  c.key = options.str("key");
  switch (c.mode) {
    case ImageMode::kFolder:
      c.folder = options.str("folder");
      if (c.folder.empty()) return options.error("folder", "folder mode needs `folder` (the folder to watch)");
      c.done_dir = options.str("done");
      c.failed_dir = options.str("failed");
      c.rescan_ns = options.duration_ns("rescan");
      c.settle_ns = options.duration_ns("settle");
      break;
    case ImageMode::kHttp:
      c.listen = options.str("listen");
      c.port = static_cast<int>(options.integer("port"));
      c.path = options.str("path");
      if (c.path.empty() || c.path.front() != '/') return options.error("path", "the path must start with '/'");
      while (c.path.size() > 1 && c.path.back() == '/') c.path.pop_back();
      c.threads = static_cast<int>(options.integer("threads"));
      c.queue = static_cast<std::size_t>(options.integer("queue"));
      c.backpressure_timeout_ns = options.duration_ns("backpressure_timeout");
      break;
    case ImageMode::kMqtt: {
      c.subscribe = options.list("subscribe");
      if (c.subscribe.empty()) return options.error("subscribe", "mqtt mode needs at least one topic filter");
      c.qos = static_cast<int>(options.integer("qos"));
      EDGELOOP_ASSIGN_OR_RETURN(c.connect, mqtt_connect_config(options));
      if (c.key.empty()) c.key = "{topic}";
      if (auto k = TopicKey::compile(c.key); !k.ok()) return options.error("key", k.error().message);
      break;
    }
  }
  return c;
}

ImageSource::ImageSource(ImageSourceConfig config)
    : config_(std::move(config)), schema_(std::vector<std::string>{"width", "height", "bytes", "image"}) {}

ImageSource::~ImageSource() { stop(); }

Result<std::unique_ptr<ImageSource>> ImageSource::create(ImageSourceConfig config) {
  EDGELOOP_TRY(validate_preprocess(config.preprocess));
  auto s = std::unique_ptr<ImageSource>(new ImageSource(std::move(config)));
  if (s->config_.mode == ImageMode::kMqtt) {
    if (s->config_.subscribe.empty()) return make_error(Errc::kInvalidArgument, "source.images (mqtt) needs topic filters");
    EDGELOOP_ASSIGN_OR_RETURN(s->topic_key_, TopicKey::compile(s->config_.key.empty() ? "{topic}" : s->config_.key));
  }
  if (s->config_.mode == ImageMode::kFolder && s->config_.folder.empty()) {
    return make_error(Errc::kInvalidArgument, "source.images (folder) needs a folder");
  }
  if (s->config_.mode == ImageMode::kHttp) {
    if (s->config_.threads < 1) return make_error(Errc::kInvalidArgument, "source.images (http) needs at least one thread");
    s->make_intake();
  }
  return s;
}

void ImageSource::make_intake() {
  HttpIntakeConfig c;
  c.listen = config_.listen;
  c.port = config_.port;
  c.path = config_.path;
  c.route_suffix = "/([^/].*)";  // the key
  c.read_timeout_ns = 5 * kNsPerSec;
  c.max_body = config_.preprocess.max_bytes;
  c.threads = config_.threads;
  c.queue_records = config_.queue;
  c.backpressure_timeout_ns = config_.backpressure_timeout_ns;
  c.rebind_max_ns = 30 * kNsPerSec;
  HttpIntakeCallbacks cb;
  cb.handle = [this](const httplib::Request& req, httplib::Response& res) { handle_post(req, res); };
  cb.push = [this](std::vector<Record>& batch) {
    for (Record& r : batch) deliver(std::move(r));  // the router may wait here (back-pressure)
  };
  // httplib refuses a body over max_bytes (413) before the handler runs: count it here.
  cb.on_response = [this](const httplib::Request& req, const httplib::Response& res) {
    if (res.status != 413) return;
    counters_->messages->add();
    reject(kTooLarge,
           "the image has " + req.get_header_value("Content-Length") + " bytes, more than max_bytes (" +
               std::to_string(config_.preprocess.max_bytes) + ")",
           req.path, {}, unix_now_ns());
  };
  cb.on_listening = [this](int port) {
    spdlog::info("source {}: images taken at http://{}:{}{}/<key>", name_, config_.listen, port, config_.path);
  };
  intake_ = std::make_unique<HttpIntake>(std::move(c), std::move(cb));
}

Status ImageSource::start(SourceContext& ctx) {
  if (started_) return make_error(Errc::kInternal, "source " + ctx.name + ": started twice");
  if (!ctx.output || !ctx.keys) return make_error(Errc::kInvalidArgument, "source " + ctx.name + ": no output or key table");
  name_ = ctx.name;
  index_ = ctx.index;
  output_ = ctx.output;
  dead_letters_ = ctx.dead_letters;
  keys_.emplace(*ctx.keys, ctx.index);
  Metrics* m = ctx.metrics;
  if (!m) {
    own_metrics_ = std::make_unique<Metrics>();
    m = own_metrics_.get();
  }
  counters_ = std::make_unique<Counters>();
  const Metrics::Labels src = {{"source", name_}};
  counters_->messages = &m->counter("edgeloop_source_messages_total", "Messages a source received.", src);
  counters_->records = &m->counter("edgeloop_source_records_total", "Records a source decoded and passed on.", src);
  for (int r = 0; r < kReasons; ++r) {
    counters_->errors[r] = &m->counter("edgeloop_source_errors_total", "Messages a source rejected (dead-lettered), by reason.",
                                       {{"source", name_}, {"reason", reason_name(r)}});
  }
  counters_->decode = &m->histogram("edgeloop_image_decode_seconds",
                                    "Decoding and preprocessing of one image (imdecode, resize, normalise).", src);
  counters_->up = &m->gauge("edgeloop_connector_up", "1 while the connector is connected to its peer, else 0.",
                            {{"connector", name_}});
  stopping_.store(false);
  health_.store(Health::kConnecting);
  started_ = true;
  switch (config_.mode) {
    case ImageMode::kFolder: {
      pre_ = std::make_unique<ImagePreprocessor>(config_.preprocess);
      const fs::path base(config_.folder);
      const auto resolve = [&](const std::string& d) {
        if (d.empty()) return std::string();
        const fs::path p(d);
        return (p.is_absolute() ? p : base / p).string();
      };
      done_path_ = resolve(config_.done_dir);
      failed_path_ = resolve(config_.failed_dir);
      stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (stop_fd_ < 0) return make_error(Errc::kIo, std::string("eventfd: ") + std::strerror(errno));
      folder_thread_ = std::thread([this] { folder_loop(); });
      break;
    }
    case ImageMode::kHttp: {
      for (int i = 0; i < config_.threads; ++i) {
        workers_.push_back(std::make_unique<ImagePreprocessor>(config_.preprocess));
        idle_.add(workers_.back().get());
      }
      intake_->start(name_, counters_->up);
      break;
    }
    case ImageMode::kMqtt: {
      pre_ = std::make_unique<ImagePreprocessor>(config_.preprocess);
      MqttClient::Callbacks cb;
      cb.on_message = [this](std::string_view topic, std::string_view payload) {
        const int64_t now = unix_now_ns();  // first: the latency clock starts here
        int missing = -1;
        std::string_view key;
        if (!topic_key_.render(topic, key_buf_, key, missing)) {
          counters_->messages->add();
          reject(kBadKey, "the topic '" + std::string(topic) + "' has no level " + std::to_string(missing) + " for the key",
                 topic, payload, now);
          return;
        }
        const std::string k(key);  // render may point into key_buf_, which handle_image does not touch
        (void)handle_image(*pre_, payload, k, topic, now, now);
      };
      cb.on_connected = [this] {
        counters_->up->set(1);
        health_.store(Health::kConnected);
      };
      cb.on_disconnected = [this] {
        counters_->up->set(0);
        health_.store(Health::kConnecting);
      };
      client_ = std::make_unique<MqttClient>("source " + name_, config_.connect, std::move(cb));
      client_->set_subscriptions(config_.subscribe, config_.qos);
      if (Status s = client_->start(); !s.ok()) {
        client_.reset();
        started_ = false;
        return s;
      }
      break;
    }
  }
  return Status::Ok();
}

void ImageSource::stop() {
  if (!started_) return;
  started_ = false;
  stopping_.store(true);
  switch (config_.mode) {
    case ImageMode::kFolder:
      if (stop_fd_ >= 0) {
        const uint64_t one = 1;
        (void)!write(stop_fd_, &one, sizeof(one));
      }
      if (folder_thread_.joinable()) folder_thread_.join();
      if (stop_fd_ >= 0) close(stop_fd_);
      stop_fd_ = -1;
      break;
    case ImageMode::kHttp:
      intake_->stop();
      break;
    case ImageMode::kMqtt:
      if (client_) client_->stop();
      client_.reset();
      break;
  }
  health_.store(Health::kDown);
  if (counters_) counters_->up->set(0);
}

Health ImageSource::health() const {
  if (config_.mode == ImageMode::kMqtt && client_) return client_->health();
  if (config_.mode == ImageMode::kHttp) return intake_->health();
  return health_.load();
}

void ImageSource::reject(Reason reason, const std::string& message, std::string_view origin, std::string_view bytes,
                         int64_t recv_ns) {
  counters_->errors[reason]->add();
  spdlog::debug("source {}: {} refused: {}", name_, origin, message);
  if (!dead_letters_) return;
  DeadLetter d;
  d.source = name_;
  d.reason = message;
  d.topic = std::string(origin);
  d.payload = describe_bytes(bytes);
  d.recv_ns = recv_ns;
  dead_letters_->write(std::move(d));
}

bool ImageSource::handle_image(ImagePreprocessor& pre, std::string_view bytes, std::string_view key,
                               std::string_view origin, int64_t recv_ns, int64_t ts_ns, std::string* error,
                               Reason* reason) {
  counters_->messages->add();
  const auto fail = [&](Reason r, std::string message) {
    if (error) *error = message;
    if (reason) *reason = r;
    reject(r, message, origin, bytes, recv_ns);
    return false;
  };
  if (key.empty() || key.size() > kMaxKeyLength) {
    return fail(kBadKey, "the key is empty or longer than " + std::to_string(kMaxKeyLength) + " characters");
  }
  auto block = std::make_shared<SampleBlock>();
  ImageInfo info;
  const int64_t t0 = mono_now_ns();
  if (Status s = pre.run(bytes, *block, &info); !s.ok()) {
    return fail(s.error().code == Errc::kTooLarge ? kTooLarge : kUndecodable, s.error().message);
  }
  counters_->decode->record_ns(mono_now_ns() - t0);
  Result<KeyId> id = [&] {
    std::lock_guard lock(keys_mu_);
    return keys_->intern(key, origin);
  }();
  if (!id.ok()) return fail(kKeyLimit, id.error().message);
  Record r;
  r.key = *id;
  r.source = index_;
  r.ts_ns = ts_ns;
  r.recv_ns = recv_ns;
  r.nfields = 4;
  r.f[0] = info.width;
  r.f[1] = info.height;
  r.f[2] = static_cast<double>(bytes.size());
  r.f[3] = static_cast<double>(images_.fetch_add(1, std::memory_order_relaxed) + 1);
  r.block = std::move(block);
  if (config_.mode == ImageMode::kHttp) {
    std::vector<Record> one;
    one.push_back(std::move(r));
    if (!intake_->enqueue(one)) {
      if (error) *error = "the pipeline is busy";
      if (reason) *reason = kReasons;  // not the image's fault: not counted as an error
      return false;
    }
    return true;
  }
  deliver(std::move(r));
  return true;
}

void ImageSource::deliver(Record&& r) {
  output_->push(std::move(r));
  counters_->records->add();
}

// ---- folder mode ----

std::string ImageSource::folder_key(const std::string& name) const {
  if (config_.key.empty()) return name_;
  std::string out;
  const std::string stem = fs::path(name).stem().string();
  std::string_view t = config_.key;
  while (!t.empty()) {
    if (t.starts_with("{name}")) {
      out += stem;
      t.remove_prefix(6);
    } else if (t.starts_with("{file}")) {
      out += name;
      t.remove_prefix(6);
    } else {
      out += t.front();
      t.remove_prefix(1);
    }
  }
  return out;
}

void ImageSource::process_file(const std::string& name, bool notified) {
  if (!is_image_name(name) || seen_.count(name) != 0) return;
  const fs::path path = fs::path(config_.folder) / name;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;  // gone, or not a file
  // A notified file arrived when its inode last changed (the rename into the folder, or its
  // last write): the latency clock starts there, so time spent waiting behind other images
  // counts. Files found by a scan start the clock now.
  const int64_t now = unix_now_ns();
  const int64_t changed = int64_t{st.st_ctim.tv_sec} * kNsPerSec + st.st_ctim.tv_nsec;
  const int64_t recv = notified ? std::min(now, changed) : now;
  std::string error;
  Reason reason = kReasons;
  bool ok = false;
  std::string bytes;
  {
    // Read here rather than in run_file: the dead letter and the error need the bytes too.
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
      counters_->messages->add();
      reject(kIo, "cannot open " + path.string() + ": " + std::strerror(errno), path.string(), {}, recv);
      seen_.insert(name);
      return;
    }
    if (st.st_size > config_.preprocess.max_bytes) {
      std::fclose(f);
      counters_->messages->add();
      reject(kTooLarge, path.string() + " has " + std::to_string(st.st_size) + " bytes, more than max_bytes", path.string(), {},
             recv);
    } else {
      bytes.resize(static_cast<std::size_t>(st.st_size));
      const std::size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
      std::fclose(f);
      bytes.resize(got);
      ok = handle_image(*pre_, bytes, folder_key(name), path.string(), recv, mtime_ns(st), &error, &reason);
    }
  }
  const std::string& dest = ok ? done_path_ : failed_path_;
  if (dest.empty()) {
    seen_.insert(name);
    return;
  }
  std::error_code ec;
  fs::create_directories(dest, ec);
  fs::rename(path, fs::path(dest) / name, ec);
  if (ec) {
    spdlog::warn("source {}: cannot move {} to {}: {}", name_, path.string(), dest, ec.message());
    seen_.insert(name);  // processed once all the same
  }
}

void ImageSource::scan_folder() {
  std::error_code ec;
  std::vector<std::pair<std::string, int64_t>> files;
  for (fs::directory_iterator it(config_.folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!is_image_name(name) || seen_.count(name) != 0) continue;
    struct stat st {};
    if (stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    files.emplace_back(name, mtime_ns(st));
  }
  std::sort(files.begin(), files.end());  // by name: cameras number their images
  const int64_t now = unix_now_ns();
  for (const auto& [name, mtime] : files) {
    if (stopping_.load()) return;
    if (now - mtime < config_.settle_ns) continue;  // still being written: its close event or a later scan
    process_file(name, false);
  }
}

void ImageSource::folder_loop() {
  constexpr std::size_t kEventBuf = 64 * 1024;
  std::vector<char> buf(kEventBuf);
  while (!stopping_.load()) {
    const int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    const int wd = ifd < 0 ? -1 : inotify_add_watch(ifd, config_.folder.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO);
    if (wd < 0) {
      const std::string why = std::strerror(errno);
      if (ifd >= 0) close(ifd);
      if (health_.exchange(Health::kDown) != Health::kDown) {
        spdlog::warn("source {}: cannot watch {}: {}; retrying every second", name_, config_.folder, why);
      }
      counters_->up->set(0);
      pollfd p{stop_fd_, POLLIN, 0};
      (void)poll(&p, 1, static_cast<int>(kFolderRetryNs / kNsPerMs));
      continue;
    }
    health_.store(Health::kConnected);
    counters_->up->set(1);
    spdlog::info("source {}: watching {}", name_, config_.folder);
    // What is there already, settled files only: one still being written gets its close-write
    // event (the watch is set: nothing written from now on is missed) or a later rescan, rather
    // than being read half-written now.
    scan_folder();
    const int rescan_ms = static_cast<int>(std::max<int64_t>(1, config_.rescan_ns / kNsPerMs));
    int64_t next_scan = mono_now_ns() + config_.rescan_ns;
    bool lost = false;
    while (!stopping_.load() && !lost) {
      pollfd p[2] = {{ifd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      const int64_t wait_ms = std::clamp<int64_t>((next_scan - mono_now_ns()) / kNsPerMs, 0, rescan_ms);
      const int n = poll(p, 2, static_cast<int>(wait_ms));
      if (stopping_.load()) break;
      if (n > 0 && (p[0].revents & POLLIN)) {
        std::vector<std::string> names;
        while (true) {
          const ssize_t len = read(ifd, buf.data(), buf.size());
          if (len <= 0) break;
          for (ssize_t off = 0; off < len;) {
            const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) lost = true;
            if (ev->mask & IN_Q_OVERFLOW) next_scan = 0;  // events were lost: list the folder now
            if (ev->len > 0 && !(ev->mask & IN_ISDIR)) names.emplace_back(ev->name);
            off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
          }
        }
        for (const auto& name : names) {
          if (stopping_.load()) break;
          process_file(name, true);
        }
      }
      if (mono_now_ns() >= next_scan) {
        // The folder may have been removed (the watch then ends) or recreated.
        struct stat st {};
        if (stat(config_.folder.c_str(), &st) != 0) lost = true;
        else scan_folder();
        next_scan = mono_now_ns() + config_.rescan_ns;
      }
    }
    close(ifd);
    if (lost && !stopping_.load()) {
      health_.store(Health::kDown);
      counters_->up->set(0);
    }
  }
}

// ---- http mode ----

void ImageSource::handle_post(const httplib::Request& req, httplib::Response& res) {
  const int64_t recv = unix_now_ns();
  const std::string key = req.matches.size() > 1 ? std::string(req.matches[1]) : std::string();
  std::string error;
  Reason reason = kReasons;
  ImagePreprocessor* pre = idle_.checkout();
  const bool ok = handle_image(*pre, req.body, key, req.path, recv, recv, &error, &reason);
  idle_.checkin(pre);
  if (ok) {
    intake_json_response(res, 200, nlohmann::ordered_json{{"accepted", 1}, {"key", key}, {"bytes", req.body.size()}});
    return;
  }
  if (reason == kReasons) {
    res.set_header("Retry-After", "1");
    intake_json_response(res, 503,
                         nlohmann::ordered_json{{"error", "the pipeline is busy: the image was not taken; retry later"}});
    return;
  }
  intake_json_response(res, reason == kTooLarge ? 413 : 400,
                       nlohmann::ordered_json{{"error", error}, {"reason", reason_name(reason)}});
}

}  // namespace edgeloop
