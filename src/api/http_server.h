// The HTTP API: GET /metrics (Prometheus, with the components' health gauges), GET /healthz
// and GET /api/v1/components, plus routes that other parts add
// before start (REST under /api/v1/..., an SSE live feed). cpp-httplib underneath; its
// exceptions stop here.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/auth.h"
#include "api/health.h"
#include "core/metrics.h"
#include "core/options.h"
#include "core/result.h"

namespace httplib {
struct Request;
struct Response;
class Server;
}  // namespace httplib

namespace edgeloop {

struct ApiOptions {
  std::string listen = "127.0.0.1";
  int port = 8080;  // 0: a free port, readable from ApiServer::port() after start
  bool enabled = true;
  int64_t read_timeout_ns = 5'000'000'000;
  int threads = 2;
  // Auth: no tokens -> everything open. From `tokens:` and `token_file:` together.
  std::vector<ApiToken> tokens;
  bool metrics_public = false;  // /metrics and /healthz without a token
  // HTTPS when both are set (PEM files, read at start()).
  std::string tls_cert;
  std::string tls_key;
  int live_buffer = 1024;  // messages buffered per live (SSE) client; read by the live feed

  // The options of the `http:` config node.
  static const OptionTable& table();
  static Result<ApiOptions> from(const Options& options);
  // Options::parse with table(), then from(): for a node of the config (null: defaults).
  static Result<ApiOptions> from_node(const ConfigNode& node, const std::string& path);
};

class ApiServer {
 public:
  // Include <httplib.h> to write one. Runs on a server worker thread; may set a chunked
  // content provider (SSE), which must end when stopping() turns true. An exception it
  // throws becomes a 500 response.
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  using HealthFn = std::function<HealthReport()>;

  // `metrics` must outlive the server; `health` is called on a server thread per request.
  ApiServer(ApiOptions options, Metrics& metrics, HealthFn health);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Before start(). `path` is an httplib pattern (a regex: "/api/v1/keys/(.+)", matches in
  // req.matches). /metrics, /healthz, /api/v1/components and /api/v1/whoami come first and
  // cannot be replaced. After start() the route is ignored (a bug of the caller, counted in
  // edgeloop_bugs_total). With tokens configured a caller whose role is below `need` gets
  // 403, one without a known token 401; the handler reads the caller with caller_of(req).
  void add_get(std::string path, Handler handler, Role need = Role::kRead);
  void add_post(std::string path, Handler handler, Role need = Role::kOperate);
  // A GET that needs no token even when tokens are configured: for what holds no data, such
  // as the dashboard's page and scripts (a browser loads them before it knows a token).
  // Its handler must not rely on caller_of().
  void add_public_get(std::string path, Handler handler);

  // Binds and starts listening on its own thread; returns once it accepts connections, or
  // an error naming the address when the bind fails. Does nothing when disabled.
  Status start();
  // Stops listening, waits for requests in progress (an idle keep-alive connection: up to
  // one second) and joins. Idempotent.
  void stop();

  int port() const { return port_; }  // the bound port after start (0 before, or disabled)
  bool tls() const { return !options_.tls_cert.empty(); }
  const std::string& host() const { return options_.listen; }
  bool running() const { return running_.load(std::memory_order_acquire); }
  // For long-lived responses (SSE): true once stop() began.
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

 private:
  struct Route {
    bool post = false;
    std::string path;
    Handler handler;
    Role need = Role::kRead;
    bool open = false;  // no token needed
  };
  void add_route(Route route);
  // `handler` behind the token check for `need`; both compress as api/response_encoding.h says.
  Handler guarded(Handler handler, Role need);
  static Handler encoded(Handler handler);
  Status make_server();
  Status configure_and_bind();

  ApiOptions options_;
  Metrics& metrics_;
  HealthFn health_;
  TokenAuth auth_;
  std::vector<Route> routes_;
  Counter* responses_2xx_;
  Counter* responses_4xx_;
  Counter* responses_5xx_;
  Counter* late_routes_;
  Counter* auth_denied_401_;
  Counter* auth_denied_403_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listen_returned_{false};
  int port_ = 0;
};

}  // namespace edgeloop
