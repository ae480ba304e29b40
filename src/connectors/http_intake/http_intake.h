// HttpIntake: the HTTP(S) front of a push source (source.http, source.images `mode: http`).
// It owns a cpp-httplib server on its own thread (bound again with back-off when the address
// cannot be bound or the accept loop ends), a bounded queue of record batches and one pusher
// thread that hands them to the pipeline (the single producer the router wants).
//
// The source supplies what differs: `handle` answers one POST to the route (on an HTTP
// worker; it decodes and calls enqueue()), `push` hands one queued batch to the RecordOutput
// (on the pusher thread; the router may wait there), `on_response` sees every answer (counters).
// Nothing accepted is dropped: stop() makes waiting requests fail enqueue() (the source answers
// 503), stops the server, then lets the pusher empty the queue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/record.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace edgeloop {

struct HttpIntakeConfig {
  std::string listen = "127.0.0.1";
  int port = 0;  // 0: a free port (port() once bound)
  // POSTs to `path` (matched literally) followed by `route_suffix` (an httplib regex, e.g.
  // "/([^/].*)" to capture a key) go to `handle`; other paths answer 404.
  std::string path;
  std::string route_suffix;
  std::string cert_file, key_file;  // both set: HTTPS
  int64_t read_timeout_ns = 5'000'000'000;
  int64_t max_body = 4 * 1024 * 1024;  // bytes; larger: httplib answers 413 unread
  int threads = 2;                     // HTTP workers
  std::size_t queue_records = 10'000;  // records waiting for the pipeline
  int64_t backpressure_timeout_ns = 1'000'000'000;
  int64_t rebind_max_ns = 30'000'000'000;  // back-off ceiling (from 100 ms, doubling)
};

struct HttpIntakeCallbacks {
  std::function<void(const httplib::Request&, httplib::Response&)> handle;
  std::function<void(std::vector<Record>& batch)> push;
  std::function<void(const httplib::Request&, const httplib::Response&)> on_response;  // optional
  std::function<void(int port)> on_listening;  // optional: logs where the source listens
};

class HttpIntake {
 public:
  HttpIntake(HttpIntakeConfig config, HttpIntakeCallbacks callbacks);
  ~HttpIntake();
  HttpIntake(const HttpIntake&) = delete;
  HttpIntake& operator=(const HttpIntake&) = delete;

  // Starts the server and pusher threads and waits (up to 5 s) for the first bind, so that
  // port() is known when it returns; a failed bind is logged and retried (health down).
  // `name`: the source's, for logs; `up` (may be null): set to 1 while listening, else 0.
  void start(const std::string& name, Gauge* up);
  // Waiting requests fail enqueue(), the server stops, the queue is pushed, threads joined.
  void stop();

  // Waits up to backpressure_timeout for room for the whole batch (taken, emptied) and queues
  // it; false: no room in time, or stopping (nothing taken). A batch larger than the queue
  // waits for an empty one.
  bool enqueue(std::vector<Record>& batch);

  // connecting (before the first bind), connected (listening), down.
  Health health() const { return health_.load(); }
  int port() const { return port_.load(std::memory_order_acquire); }

 private:
  std::unique_ptr<httplib::Server> make_server(std::string& error);
  void server_loop();
  void pusher_loop();
  void set_up(double v) {
    if (up_) up_->set(v);
  }

  HttpIntakeConfig config_;
  HttpIntakeCallbacks callbacks_;
  std::string name_;
  Gauge* up_ = nullptr;

  std::mutex queue_mu_;
  std::condition_variable room_cv_, work_cv_;
  std::deque<std::vector<Record>> queue_;  // guarded by queue_mu_
  std::size_t queued_records_ = 0;         // guarded by queue_mu_ (includes the batch being pushed)
  bool stopping_ = false;                  // guarded by queue_mu_
  bool pusher_stop_ = false;               // guarded by queue_mu_

  std::mutex server_mu_;
  std::condition_variable server_cv_;
  std::unique_ptr<httplib::Server> server_;  // guarded by server_mu_
  std::atomic<bool> server_stop_{false};
  std::atomic<bool> server_done_{false};

  std::thread pusher_, server_thread_;
  std::atomic<int> port_{0};
  std::atomic<Health> health_{Health::kConnecting};
  bool started_ = false;
};

// Sets a JSON body (one line) and the status; a body that cannot be rendered becomes an error.
void intake_json_response(httplib::Response& res, int status, const nlohmann::ordered_json& body);

}  // namespace edgeloop
