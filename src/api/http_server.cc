#include "api/http_server.h"

#include <sys/socket.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <httplib.h>

namespace edgeloop {

namespace {

constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4";
// An idle keep-alive connection holds a worker (and stop()) this long at most.
constexpr time_t kKeepAliveTimeoutS = 1;

std::string what_of(std::exception_ptr ep) {
  try {
    if (ep) std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "unknown exception";
}

}  // namespace

const OptionTable& ApiOptions::table() {
  static const OptionTable table = {
      {.name = "listen", .type = OptionType::kString, .default_value = "127.0.0.1",
       .description = "Address to listen on (0.0.0.0 for every interface: the API has no authentication)."},
      {.name = "port", .type = OptionType::kInt, .default_value = "8080",
       .description = "TCP port; 0 picks a free one (logged at start).", .min = 0, .max = 65535},
      {.name = "enabled", .type = OptionType::kBool, .default_value = "true",
       .description = "Serve the HTTP API (metrics, health, REST, live feed)."},
      {.name = "read_timeout", .type = OptionType::kDuration, .default_value = "5s",
       .description = "How long a connection may take to send its request.", .min = 0.001, .max = 3600},
      {.name = "threads", .type = OptionType::kInt, .default_value = "2",
       .description = "Worker threads serving requests (each open live feed holds one).", .min = 1, .max = 64},
  };
  return table;
}

Result<ApiOptions> ApiOptions::from(const Options& options) {
  ApiOptions o;
  o.listen = options.str("listen");
  if (o.listen.empty()) return options.error("listen", "the listen address is empty");
  o.port = static_cast<int>(options.integer("port"));
  o.enabled = options.flag("enabled");
  o.read_timeout_ns = options.duration_ns("read_timeout");
  o.threads = static_cast<int>(options.integer("threads"));
  return o;
}

Result<ApiOptions> ApiOptions::from_node(const ConfigNode& node, const std::string& path) {
  EDGELOOP_ASSIGN_OR_RETURN(Options options, Options::parse(table(), node, path));
  return from(options);
}

ApiServer::ApiServer(ApiOptions options, Metrics& metrics, HealthFn health)
    : options_(std::move(options)), metrics_(metrics), health_(std::move(health)) {
  const std::string help = "HTTP API responses by status class.";
  responses_2xx_ = &metrics_.counter("edgeloop_http_responses_total", help, {{"code", "2xx"}});
  responses_4xx_ = &metrics_.counter("edgeloop_http_responses_total", help, {{"code", "4xx"}});
  responses_5xx_ = &metrics_.counter("edgeloop_http_responses_total", help, {{"code", "5xx"}});
  late_routes_ = &metrics_.counter("edgeloop_bugs_total", "Invariant violations (bugs), by place.",
                                   {{"where", "api.route_after_start"}});
}

ApiServer::~ApiServer() { stop(); }

void ApiServer::add_get(std::string path, Handler handler) { add_route(false, std::move(path), std::move(handler)); }
void ApiServer::add_post(std::string path, Handler handler) { add_route(true, std::move(path), std::move(handler)); }

void ApiServer::add_route(bool post, std::string path, Handler handler) {
  // httplib's route tables are not guarded: adding one while it serves would race.
  if (server_ != nullptr) {
    assert(false && "ApiServer: routes are added before start()");
    late_routes_->add();
    return;
  }
  routes_.push_back(Route{post, std::move(path), std::move(handler)});
}

Status ApiServer::configure_and_bind() {
  server_ = std::make_unique<httplib::Server>();
  httplib::Server& s = *server_;
  const int64_t rt = options_.read_timeout_ns;
  s.set_read_timeout(static_cast<time_t>(rt / 1'000'000'000), static_cast<time_t>((rt % 1'000'000'000) / 1000));
  s.set_keep_alive_timeout(kKeepAliveTimeoutS);
  // httplib's default sets SO_REUSEPORT, which lets a second server bind a port already in
  // use and silently share it. SO_REUSEADDR alone allows a quick restart and still fails
  // when someone listens there.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const auto threads = static_cast<std::size_t>(options_.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    res.status = 500;
    res.set_content("internal error: " + what_of(ep) + "\n", "text/plain");
  });
  s.set_logger([this](const httplib::Request&, const httplib::Response& res) {
    if (res.status >= 500) responses_5xx_->add();
    else if (res.status >= 400) responses_4xx_->add();
    else responses_2xx_->add();
  });

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    if (health_) export_health_metrics(health_(), metrics_);  // the components' health, as of this scrape
    res.set_content(metrics_.render_prometheus(), kPrometheusContentType);
  });
  s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    HealthReport report;
    if (health_) report = health_();
    res.status = health_http_status(report.status);
    res.set_content(health_json(report), "application/json");
  });
  s.Get("/api/v1/components", [this](const httplib::Request&, httplib::Response& res) {
    HealthReport report;
    if (health_) report = health_();
    res.set_content(components_json(report), "application/json");
  });
  for (auto& route : routes_) {
    // The exception handler above turns a throwing handler into a 500.
    if (route.post) s.Post(route.path, route.handler);
    else s.Get(route.path, route.handler);
  }

  errno = 0;
  int bound = -1;
  if (options_.port == 0) {
    bound = s.bind_to_any_port(options_.listen);
  } else if (s.bind_to_port(options_.listen, options_.port)) {
    bound = options_.port;
  }
  if (bound <= 0) {
    const int err = errno;  // httplib reports only a bool; bind's errno survives its cleanup
    std::string msg = "http: cannot listen on " + options_.listen + ":" + std::to_string(options_.port);
    if (err != 0) msg += std::string(": ") + std::strerror(err);
    server_.reset();
    return make_error(Errc::kIo, msg);
  }
  port_ = bound;
  return Status::Ok();
}

Status ApiServer::start() {
  if (!options_.enabled) return Status::Ok();
  if (server_ != nullptr) return make_error(Errc::kInvalidArgument, "http: the API server was already started");
  stopping_.store(false);
  listen_returned_.store(false);
  try {
    EDGELOOP_TRY(configure_and_bind());
  } catch (const std::exception& e) {
    server_.reset();
    return make_error(Errc::kInternal, std::string("http: cannot start the API server: ") + e.what());
  }
  thread_ = std::thread([this] {
    try {
      server_->listen_after_bind();
    } catch (...) {
      // The accept loop ended; stop() still joins.
    }
    listen_returned_.store(true, std::memory_order_release);
  });
  // The socket already listens (connections queue), but httplib's stop() only acts once its
  // accept loop runs: wait for that, so a stop() right after start() cannot be lost.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && !listen_returned_.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    stop();
    return make_error(Errc::kInternal, "http: the accept loop on " + options_.listen + ":" + std::to_string(port_) +
                                           " did not start");
  }
  running_.store(true, std::memory_order_release);
  return Status::Ok();
}

void ApiServer::stop() {
  stopping_.store(true, std::memory_order_release);
  if (server_ == nullptr) return;
  try {
    server_->stop();
  } catch (...) {
  }
  if (thread_.joinable()) thread_.join();
  running_.store(false, std::memory_order_release);
  server_.reset();
}

}  // namespace edgeloop
