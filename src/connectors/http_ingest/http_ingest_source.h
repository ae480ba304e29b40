// source.http: its own HTTP(S) server (cpp-httplib) that takes POSTed JSON (an object, an
// array of objects) or JSON lines, decodes each object with the source's codec, keys it from
// its fields and hands the records to the pipeline through a bounded queue and one pusher
// thread (the single producer the router wants).
//
// A request is all-or-nothing towards the queue: when the queue stays full for
// `backpressure_timeout`, the answer is 503 and nothing of the batch was taken (safe to
// retry). Bad objects are counted and dead-lettered while the good ones of the same batch go
// on; the answer says how many were accepted and rejected and why.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connectors/http_ingest/ingest_decoder.h"
#include "connectors/http_intake/http_intake.h"
#include "connectors/http_intake/worker_pool.h"
#include "core/registry.h"

namespace edgeloop {

struct HttpIngestConfig {
  std::string listen = "127.0.0.1";
  int port = 8081;  // 0: a free port (HttpIngestSource::port() after start)
  std::string path = "/ingest";
  std::vector<std::string> tokens;  // bearer tokens; empty: no authentication
  std::string key = "{key}";
  int64_t max_body = 4 * 1024 * 1024;      // bytes; larger: 413
  int threads = 2;                          // HTTP workers (and codecs)
  std::size_t queue_records = 10'000;       // records waiting for the pipeline
  int64_t backpressure_timeout_ns = 1'000'000'000;
  int64_t read_timeout_ns = 5'000'000'000;
  int64_t rebind_max_ns = 30'000'000'000;   // back-off ceiling when the address cannot be bound
  std::string cert_file, key_file;          // both set: HTTPS
  std::size_t max_errors_reported = 10;     // errors listed in a response
};

const OptionTable& http_ingest_options();
Result<HttpIngestConfig> http_ingest_config(const Options& options);

class HttpIngestSource final : public Source {
 public:
  // One codec per HTTP worker thread (config.threads of them).
  static Result<std::unique_ptr<HttpIngestSource>> create(HttpIngestConfig config,
                                                          std::vector<std::unique_ptr<Codec>> codecs);
  // Builds the codecs from `registry` (option `codec`).
  static Result<std::unique_ptr<HttpIngestSource>> from_options(const Options& options, const Registry& registry);

  ~HttpIngestSource() override;
  const Schema& schema() const override { return workers_.front()->schema(); }
  // Binds (a failure is logged, the source is down and retries with back-off) and serves.
  Status start(SourceContext& ctx) override;
  // Stops serving (waiting requests get 503), pushes what the queue holds, joins.
  void stop() override;
  // connecting (before the first bind), connected, degraded (a 503 for back-pressure in the
  // last 10 s), down (the address cannot be bound).
  Health health() const override;

  int port() const { return intake_->port(); }
  const HttpIngestConfig& config() const { return config_; }

 private:
  struct Counters;
  HttpIngestSource(HttpIngestConfig config, KeyTemplate key, std::vector<std::unique_ptr<IngestDecoder>> workers);

  void handle(const httplib::Request& req, httplib::Response& res);
  bool authorized(const httplib::Request& req) const;
  void dead_letter(const IngestError& e, int64_t recv_ns);

  HttpIngestConfig config_;
  KeyTemplate key_;
  std::vector<std::unique_ptr<IngestDecoder>> workers_;

  std::string name_;
  uint16_t index_ = 0;
  RecordOutput* output_ = nullptr;
  DeadLetterSink* dead_letters_ = nullptr;
  std::unique_ptr<Metrics> own_metrics_;
  std::unique_ptr<Counters> counters_;

  WorkerPool<IngestDecoder> idle_workers_;

  // The server, the bounded queue of batches and the pusher thread (set up by start()).
  std::unique_ptr<HttpIntake> intake_;
  std::atomic<int64_t> last_busy_ns_{0};
  bool started_ = false;
};

}  // namespace edgeloop
