#include "connectors/http_ingest/http_ingest_source.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace edgeloop {

namespace {

constexpr int64_t kDegradedAfterBusyNs = 10 * kNsPerSec;
// The response codes counted in edgeloop_http_ingest_requests_total{code}; others are "other".
constexpr const char* kCodes[] = {"200", "400", "401", "404", "413", "415", "503", "other"};
constexpr std::size_t kCodeCount = sizeof(kCodes) / sizeof(kCodes[0]);

std::size_t code_index(int status) {
  const std::string s = std::to_string(status);
  for (std::size_t i = 0; i + 1 < kCodeCount; ++i)
    if (s == kCodes[i]) return i;
  return kCodeCount - 1;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Compares in time independent of where the first difference is (the length is the client's).
bool same_secret(std::string_view given, std::string_view secret) {
  unsigned diff = given.size() == secret.size() ? 0U : 1U;
  for (std::size_t i = 0; i < given.size(); ++i) {
    const unsigned char s = i < secret.size() ? static_cast<unsigned char>(secret[i]) : 0;
    diff |= static_cast<unsigned>(static_cast<unsigned char>(given[i]) ^ s);
  }
  return diff == 0;
}

void error_response(httplib::Response& res, int status, const std::string& message) {
  intake_json_response(res, status, nlohmann::ordered_json{{"error", message}});
}

}  // namespace

struct HttpIngestSource::Counters {
  Counter* items = nullptr;
  Counter* records = nullptr;
  Counter* errors[static_cast<int>(IngestReason::kCount)] = {};
  Counter* responses[kCodeCount] = {};
  Gauge* up = nullptr;
};

const OptionTable& http_ingest_options() {
  static const OptionTable table = {
      {.name = "listen", .type = OptionType::kString, .default_value = "127.0.0.1",
       .description = "Address the ingest server listens on (0.0.0.0 for every interface: set `token`)."},
      {.name = "port", .type = OptionType::kInt, .default_value = "8081",
       .description = "TCP port of the ingest server; 0 picks a free one (logged at start).", .min = 0, .max = 65535},
      {.name = "path", .type = OptionType::kString, .default_value = "/ingest",
       .description = "The path that takes `POST`s (matched literally; other paths answer 404)."},
      {.name = "token", .type = OptionType::kString, .default_value = "",
       .description = "A bearer token the client must send (`Authorization: Bearer TOKEN`), else 401; write "
                      "`${INGEST_TOKEN}` to keep it out of the file. Unset with `tokens` unset: no authentication."},
      {.name = "tokens", .type = OptionType::kList, .default_value = "",
       .description = "More accepted bearer tokens (e.g. one per client, or the old and the new one while rotating)."},
      {.name = "key", .type = OptionType::kString, .default_value = "{key}",
       .description = "The stream key of each object, from its fields: `{device}` is the field `device` (a string "
                      "or a number), `{site}/{device}` joins two, `line1/{meta.id}` adds text; paths are dotted or "
                      "JSON pointers; a text without `{}` is one key for everything. An object without the field is "
                      "rejected (reason `bad_key`)."},
      {.name = "codec", .type = OptionType::kAny, .default_value = "json",
       .description = "How each object is decoded: a codec name (`json`) or a map with `type` (default `json`) and "
                      "the codec's options (`timestamp`, `values`, ...)."},
      {.name = "max_body", .type = OptionType::kSize, .default_value = "4MiB",
       .description = "Largest request body; a larger one is refused with 413 before it is read into memory.",
       .min = 64, .max = 1024.0 * 1024 * 1024},
      {.name = "threads", .type = OptionType::kInt, .default_value = "2",
       .description = "HTTP worker threads, each with its own codec: requests decoded in parallel.", .min = 1, .max = 64},
      {.name = "queue", .type = OptionType::kInt, .default_value = "10000",
       .description = "Records that may wait between the HTTP workers and the pipeline; a batch larger than this "
                      "waits for an empty queue.",
       .min = 1, .max = 100'000'000},
      {.name = "backpressure_timeout", .type = OptionType::kDuration, .default_value = "1s",
       .description = "How long a request waits for room in the queue when the pipeline is behind; then 503 with "
                      "`Retry-After` and nothing of the batch taken (counted).",
       .min = 0, .max = 3600},
      {.name = "read_timeout", .type = OptionType::kDuration, .default_value = "5s",
       .description = "How long a client may take to send its request.", .min = 0.001, .max = 3600},
      {.name = "rebind_max", .type = OptionType::kDuration, .default_value = "30s",
       .description = "Back-off ceiling while the address cannot be bound (the source is `down` meanwhile; retries "
                      "start at 100ms and double).",
       .min = 0.1, .max = 3600},
      {.name = "cert_file", .type = OptionType::kString, .default_value = "",
       .description = "PEM certificate (chain): with `key_file`, the server speaks HTTPS."},
      {.name = "key_file", .type = OptionType::kString, .default_value = "",
       .description = "PEM private key of `cert_file`."},
  };
  return table;
}

Result<HttpIngestConfig> http_ingest_config(const Options& options) {
  HttpIngestConfig c;
  c.listen = options.str("listen");
  if (c.listen.empty()) return options.error("listen", "the listen address is empty");
  c.port = static_cast<int>(options.integer("port"));
  c.path = options.str("path");
  if (c.path.empty() || c.path.front() != '/') return options.error("path", "the path must start with '/'");
  if (options.has("token")) {
    if (options.str("token").empty()) return options.error("token", "the token is empty (an unset variable?)");
    c.tokens.push_back(options.str("token"));
  }
  for (const auto& t : options.list("tokens")) {
    if (t.empty()) return options.error("tokens", "a token is empty");
    c.tokens.push_back(t);
  }
  c.key = options.str("key");
  if (auto k = KeyTemplate::compile(c.key); !k.ok()) return options.error("key", k.error().message);
  c.max_body = options.size_bytes("max_body");
  c.threads = static_cast<int>(options.integer("threads"));
  c.queue_records = static_cast<std::size_t>(options.integer("queue"));
  c.backpressure_timeout_ns = options.duration_ns("backpressure_timeout");
  c.read_timeout_ns = options.duration_ns("read_timeout");
  c.rebind_max_ns = options.duration_ns("rebind_max");
  c.cert_file = options.str("cert_file");
  c.key_file = options.str("key_file");
  if (c.cert_file.empty() != c.key_file.empty()) {
    return options.error(c.cert_file.empty() ? "cert_file" : "key_file", "HTTPS needs both cert_file and key_file");
  }
  return c;
}

HttpIngestSource::HttpIngestSource(HttpIngestConfig config, KeyTemplate key,
                                   std::vector<std::unique_ptr<IngestDecoder>> workers)
    : config_(std::move(config)), key_(std::move(key)), workers_(std::move(workers)) {
  HttpIntakeConfig c;
  c.listen = config_.listen;
  c.port = config_.port;
  c.path = config_.path;
  c.cert_file = config_.cert_file;
  c.key_file = config_.key_file;
  c.read_timeout_ns = config_.read_timeout_ns;
  c.max_body = config_.max_body;
  c.threads = config_.threads;
  c.queue_records = config_.queue_records;
  c.backpressure_timeout_ns = config_.backpressure_timeout_ns;
  c.rebind_max_ns = config_.rebind_max_ns;
  HttpIntakeCallbacks cb;
  cb.handle = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  cb.push = [this](std::vector<Record>& batch) {
    for (Record& r : batch) output_->push(std::move(r));
    counters_->records->add(batch.size());
  };
  cb.on_response = [this](const httplib::Request&, const httplib::Response& res) {
    counters_->responses[code_index(res.status)]->add();
  };
  cb.on_listening = [this](int port) {
    spdlog::info("source {}: listening on {}://{}:{}{}", name_, config_.cert_file.empty() ? "http" : "https",
                 config_.listen, port, config_.path);
  };
  intake_ = std::make_unique<HttpIntake>(std::move(c), std::move(cb));
}

HttpIngestSource::~HttpIngestSource() { stop(); }

Result<std::unique_ptr<HttpIngestSource>> HttpIngestSource::create(HttpIngestConfig config,
                                                                   std::vector<std::unique_ptr<Codec>> codecs) {
  if (config.threads < 1) return make_error(Errc::kInvalidArgument, "source.http needs at least one thread");
  if (codecs.size() != static_cast<std::size_t>(config.threads)) {
    return make_error(Errc::kInvalidArgument, "source.http needs one codec per thread");
  }
  EDGELOOP_ASSIGN_OR_RETURN(KeyTemplate key, KeyTemplate::compile(config.key));
  std::vector<std::unique_ptr<IngestDecoder>> workers;
  for (auto& codec : codecs) {
    if (!codec) return make_error(Errc::kInvalidArgument, "source.http: a codec is missing");
    workers.push_back(std::make_unique<IngestDecoder>(std::move(codec), key));
  }
  return std::unique_ptr<HttpIngestSource>(new HttpIngestSource(std::move(config), std::move(key), std::move(workers)));
}

Result<std::unique_ptr<HttpIngestSource>> HttpIngestSource::from_options(const Options& options, const Registry& registry) {
  EDGELOOP_ASSIGN_OR_RETURN(HttpIngestConfig config, http_ingest_config(options));
  const ConfigNode* node = options.node("codec");
  ConfigNode typed;
  if (node && node->is_map() && !node->find("type")) {
    typed = *node;  // `codec: {values: [t]}` means the default codec, json
    typed.set("type", ConfigNode::scalar("json", node->mark()));
    node = &typed;
  }
  if (!node) return options.error("codec", "missing codec");
  const std::string codec_path = options.path().empty() ? "codec" : options.path() + ".codec";
  std::vector<std::unique_ptr<Codec>> codecs;
  for (int i = 0; i < config.threads; ++i) {
    EDGELOOP_ASSIGN_OR_RETURN(std::unique_ptr<Codec> codec, registry.make_codec(*node, codec_path));
    codecs.push_back(std::move(codec));
  }
  return create(std::move(config), std::move(codecs));
}

Status HttpIngestSource::start(SourceContext& ctx) {
  if (started_) return make_error(Errc::kInternal, "source " + ctx.name + ": started twice");
  if (!ctx.output || !ctx.keys) return make_error(Errc::kInvalidArgument, "source " + ctx.name + ": no output or key table");
  name_ = ctx.name;
  index_ = ctx.index;
  output_ = ctx.output;
  dead_letters_ = ctx.dead_letters;
  Metrics* m = ctx.metrics;
  if (!m) {
    own_metrics_ = std::make_unique<Metrics>();
    m = own_metrics_.get();
  }
  counters_ = std::make_unique<Counters>();
  const Metrics::Labels src = {{"source", name_}};
  counters_->items = &m->counter("edgeloop_source_messages_total", "Messages a source received.", src);
  counters_->records = &m->counter("edgeloop_source_records_total", "Records a source decoded and passed on.", src);
  for (int r = 0; r < static_cast<int>(IngestReason::kCount); ++r) {
    counters_->errors[r] = &m->counter("edgeloop_source_errors_total", "Messages a source rejected (dead-lettered), by reason.",
                                       {{"source", name_}, {"reason", ingest_reason_name(static_cast<IngestReason>(r))}});
  }
  for (std::size_t i = 0; i < kCodeCount; ++i) {
    counters_->responses[i] = &m->counter("edgeloop_http_ingest_requests_total",
                                          "Requests to an HTTP ingest source, by response code (503: the pipeline was "
                                          "busy and nothing of the batch was taken).",
                                          {{"source", name_}, {"code", kCodes[i]}});
  }
  counters_->up = &m->gauge("edgeloop_connector_up", "1 while the connector is connected to its peer, else 0.",
                            {{"connector", name_}});
  for (auto& w : workers_) {
    w->bind(*ctx.keys, index_, config_.path);
    idle_workers_.add(w.get());
  }
  started_ = true;
  intake_->start(name_, counters_->up);
  return Status::Ok();
}

void HttpIngestSource::stop() {
  if (!started_) return;
  started_ = false;
  intake_->stop();
}

Health HttpIngestSource::health() const {
  const Health h = intake_->health();
  if (h == Health::kConnected) {
    const int64_t busy = last_busy_ns_.load(std::memory_order_relaxed);
    if (busy != 0 && mono_now_ns() - busy < kDegradedAfterBusyNs) return Health::kDegraded;
  }
  return h;
}

bool HttpIngestSource::authorized(const httplib::Request& req) const {
  if (config_.tokens.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() || lower(header.substr(0, kScheme.size())) != kScheme) return false;
  const std::string token = trimmed(std::string_view(header).substr(kScheme.size()));
  bool ok = false;
  for (const auto& t : config_.tokens) ok = same_secret(token, t) || ok;  // no early exit
  return ok;
}

void HttpIngestSource::dead_letter(const IngestError& e, int64_t recv_ns) {
  counters_->errors[static_cast<int>(e.reason)]->add();
  if (!dead_letters_) return;
  DeadLetter d;
  d.source = name_;
  d.reason = e.message;
  d.topic = config_.path;
  d.payload = e.payload;  // the sink truncates to its bound
  d.recv_ns = recv_ns;
  dead_letters_->write(std::move(d));
}

void HttpIngestSource::handle(const httplib::Request& req, httplib::Response& res) {
  const int64_t recv_ns = unix_now_ns();
  if (!authorized(req)) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"edgeloop\"");
    return error_response(res, 401, "a valid bearer token is required (Authorization: Bearer TOKEN)");
  }
  std::string type = req.get_header_value("Content-Type");
  type = lower(trimmed(std::string_view(type).substr(0, type.find(';'))));
  BodyFormat format;
  if (type == "application/json") {
    format = BodyFormat::kJson;
  } else if (type == "application/x-ndjson" || type == "application/jsonl") {
    format = BodyFormat::kJsonLines;
  } else {
    return error_response(res, 415,
                          "Content-Type '" + type + "' is not taken: application/json (an object or an array of "
                          "objects) or application/x-ndjson (JSON lines)");
  }
  if (trimmed(req.body).empty()) return error_response(res, 400, "the body is empty");

  DecodedBatch batch;
  IngestDecoder* worker = idle_workers_.checkout();
  worker->decode(req.body, format, recv_ns, batch);
  idle_workers_.checkin(worker);

  const std::size_t rejected = batch.errors.size();
  const std::size_t accepted = batch.items - rejected;
  const std::size_t records = batch.records.size();
  if (records > 0 && !intake_->enqueue(batch.records)) {
    last_busy_ns_.store(mono_now_ns(), std::memory_order_relaxed);
    res.set_header("Retry-After", "1");
    return error_response(res, 503, "the pipeline is busy: nothing of this batch was taken; retry later");
  }
  counters_->items->add(batch.items);
  nlohmann::ordered_json errors = nlohmann::ordered_json::array();
  for (const IngestError& e : batch.errors) {
    dead_letter(e, recv_ns);
    if (errors.size() >= config_.max_errors_reported) continue;
    nlohmann::ordered_json j;
    if (!e.whole_body) j[format == BodyFormat::kJsonLines ? "line" : "element"] = e.item;
    j["reason"] = ingest_reason_name(e.reason);
    j["error"] = e.message;
    errors.push_back(std::move(j));
  }
  nlohmann::ordered_json body = {{"accepted", accepted}, {"rejected", rejected}, {"records", records}};
  if (!errors.empty()) body["errors"] = std::move(errors);
  intake_json_response(res, accepted == 0 && rejected > 0 ? 400 : 200, body);
}

}  // namespace edgeloop
