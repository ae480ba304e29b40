#include "connectors/http_intake/http_intake.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace edgeloop {

namespace {

constexpr time_t kKeepAliveTimeoutS = 1;
constexpr int64_t kRebindMinNs = 100 * kNsPerMs;
constexpr int64_t kFirstBindWaitNs = 5 * kNsPerSec;

// The route is an httplib regex: the configured path is matched literally.
std::string regex_escape(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (std::strchr(".^$|()[]{}*+?\\", c) != nullptr) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

void intake_json_response(httplib::Response& res, int status, const nlohmann::ordered_json& body) {
  res.status = status;
  try {
    res.set_content(body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n", "application/json");
  } catch (const std::exception&) {
    res.set_content("{\"error\":\"response could not be rendered\"}\n", "application/json");
  }
}

HttpIntake::HttpIntake(HttpIntakeConfig config, HttpIntakeCallbacks callbacks)
    : config_(std::move(config)), callbacks_(std::move(callbacks)) {}

HttpIntake::~HttpIntake() { stop(); }

void HttpIntake::start(const std::string& name, Gauge* up) {
  if (started_) return;
  name_ = name;
  up_ = up;
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = false;
    pusher_stop_ = false;
  }
  server_stop_.store(false);
  server_done_.store(false);
  health_.store(Health::kConnecting);
  started_ = true;
  pusher_ = std::thread([this] { pusher_loop(); });
  server_thread_ = std::thread([this] { server_loop(); });
  const int64_t deadline = mono_now_ns() + kFirstBindWaitNs;
  while (health_.load() == Health::kConnecting && mono_now_ns() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::unique_ptr<httplib::Server> HttpIntake::make_server(std::string& error) {
  std::unique_ptr<httplib::Server> server;
  if (!config_.cert_file.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(config_.cert_file.c_str(), config_.key_file.c_str());
    if (!ssl->is_valid()) {
      error = "cannot load cert_file " + config_.cert_file + " / key_file " + config_.key_file;
      return nullptr;
    }
    server = std::move(ssl);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *server;
  const int64_t rt = config_.read_timeout_ns;
  s.set_read_timeout(static_cast<time_t>(rt / kNsPerSec), static_cast<time_t>((rt % kNsPerSec) / 1000));
  s.set_keep_alive_timeout(kKeepAliveTimeoutS);
  // Without it a response written in two segments waits for the client's delayed ACK (~40 ms).
  s.set_tcp_nodelay(true);
  s.set_payload_max_length(static_cast<std::size_t>(config_.max_body));
  // No SO_REUSEPORT (httplib's default): a second server must not silently share the port.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const auto threads = static_cast<std::size_t>(config_.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    intake_json_response(res, 500, nlohmann::ordered_json{{"error", "internal error"}});
  });
  if (callbacks_.on_response) {
    s.set_logger([this](const httplib::Request& req, const httplib::Response& res) { callbacks_.on_response(req, res); });
  }
  s.Post(regex_escape(config_.path) + config_.route_suffix,
         [this](const httplib::Request& req, httplib::Response& res) { callbacks_.handle(req, res); });
  errno = 0;
  int bound = -1;
  if (config_.port == 0) {
    bound = s.bind_to_any_port(config_.listen);
  } else if (s.bind_to_port(config_.listen, config_.port)) {
    bound = config_.port;
  }
  if (bound <= 0) {
    const int err = errno;
    error = "cannot listen on " + config_.listen + ":" + std::to_string(config_.port);
    if (err != 0) error += std::string(": ") + std::strerror(err);
    return nullptr;
  }
  port_.store(bound, std::memory_order_release);
  return server;
}

void HttpIntake::server_loop() {
  int64_t backoff = kRebindMinNs;
  while (!server_stop_.load()) {
    std::string error;
    std::unique_ptr<httplib::Server> s;
    try {
      s = make_server(error);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (s) {
      {
        std::lock_guard lock(server_mu_);
        if (server_stop_.load()) break;
        server_ = std::move(s);
      }
      backoff = kRebindMinNs;
      set_up(1);
      health_.store(Health::kConnected);
      if (callbacks_.on_listening) callbacks_.on_listening(port());
      try {
        server_->listen_after_bind();
      } catch (...) {
        // The accept loop ended; below it is started again unless stopping.
      }
      {
        std::lock_guard lock(server_mu_);
        s = std::move(server_);
      }
      s.reset();
      set_up(0);
      if (server_stop_.load()) break;
      error = "the accept loop ended";
    }
    health_.store(Health::kDown);
    set_up(0);
    spdlog::warn("source {}: {}; retrying in {} ms", name_, error, backoff / kNsPerMs);
    std::unique_lock lock(server_mu_);
    server_cv_.wait_for(lock, std::chrono::nanoseconds(backoff), [this] { return server_stop_.load(); });
    backoff = std::min(backoff * 2, config_.rebind_max_ns);
  }
  server_done_.store(true);
}

void HttpIntake::stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;  // requests waiting for room are refused (503)
  }
  room_cv_.notify_all();
  {
    std::lock_guard lock(server_mu_);
    server_stop_.store(true);
  }
  server_cv_.notify_all();
  // httplib's stop() acts only once its accept loop runs: repeat until the loop is over.
  while (!server_done_.load()) {
    {
      std::lock_guard lock(server_mu_);
      if (server_) {
        try {
          server_->stop();
        } catch (...) {
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (server_thread_.joinable()) server_thread_.join();
  {
    std::lock_guard lock(queue_mu_);
    pusher_stop_ = true;  // after what the queue holds: those requests were answered 200
  }
  work_cv_.notify_all();
  if (pusher_.joinable()) pusher_.join();
  health_.store(Health::kDown);
  set_up(0);
}

bool HttpIntake::enqueue(std::vector<Record>& batch) {
  const std::size_t n = batch.size();
  std::unique_lock lock(queue_mu_);
  auto room = [&] { return stopping_ || queued_records_ == 0 || queued_records_ + n <= config_.queue_records; };
  if (!room_cv_.wait_for(lock, std::chrono::nanoseconds(config_.backpressure_timeout_ns), room) || stopping_) return false;
  queue_.push_back(std::move(batch));
  queued_records_ += n;
  lock.unlock();
  work_cv_.notify_one();
  return true;
}

void HttpIntake::pusher_loop() {
  std::unique_lock lock(queue_mu_);
  while (true) {
    work_cv_.wait(lock, [this] { return pusher_stop_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and everything answered 200 went out
    std::vector<Record> batch = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    // The router may wait here (back-pressure); the queue fills and requests see it.
    const std::size_t n = batch.size();
    callbacks_.push(batch);
    lock.lock();
    queued_records_ -= n;
    room_cv_.notify_all();
  }
}

}  // namespace edgeloop
