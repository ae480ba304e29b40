#include "api/http_server.h"

#include "api/response_encoding.h"

#include <httplib.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>

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

void deny(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  if (status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"edgeloop\"");
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

const OptionTable& token_table() {
  // clang-format off
  static const OptionTable table = {
      {.name = "token", .type = OptionType::kString, .description = "The secret.", .required = true},
      {.name = "role",
       .type = OptionType::kString,
       .default_value = "read",
       .description = "read, operate or admin.",
       .choices = {"read", "operate", "admin"}},
      {.name = "name", .type = OptionType::kString, .default_value = "", .description = "Who holds it."},
  };
  // clang-format on
  return table;
}

const OptionTable& tls_table() {
  // clang-format off
  static const OptionTable table = {
      {.name = "cert", .type = OptionType::kString, .description = "PEM certificate (chain) file.", .required = true},
      {.name = "key", .type = OptionType::kString, .description = "PEM private key file.", .required = true},
  };
  // clang-format on
  return table;
}

Result<std::vector<ApiToken>> tokens_from(const Options& options) {
  std::vector<ApiToken> tokens;
  if (const ConfigNode* list = options.node("tokens"); list != nullptr && !list->is_null()) {
    if (!list->is_sequence()) return options.error("tokens", "expected a list of {token, role, name}");
    for (std::size_t i = 0; i < list->items().size(); ++i) {
      const std::string path = options.path() + ".tokens[" + std::to_string(i) + "]";
      EDGELOOP_ASSIGN_OR_RETURN(Options t, Options::parse(token_table(), list->items()[i], path));
      if (t.str("token").empty()) return t.error("token", "the token is empty");
      EDGELOOP_ASSIGN_OR_RETURN(Role role, parse_role(t.str("role")));
      tokens.push_back(ApiToken{t.str("token"), role, t.str("name")});
    }
  }
  if (options.has("token_file")) {
    auto from_file = load_token_file(options.str("token_file"));
    if (!from_file.ok()) return options.error("token_file", from_file.error().message);
    for (auto& t : *from_file) tokens.push_back(std::move(t));
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    for (std::size_t j = i + 1; j < tokens.size(); ++j) {
      if (tokens[i].token == tokens[j].token) {
        return options.error(
            options.has("token_file") ? "token_file" : "tokens",
            "the same token is configured twice (for '" + tokens[i].name + "' and '" + tokens[j].name + "')");
      }
    }
  }
  return tokens;
}

Status check_readable(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(Errc::kInvalidConfig,
                      "http.tls: cannot read the " + what + " file " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace

const OptionTable& ApiOptions::table() {
  // clang-format off
  static const OptionTable table = {
      {.name = "listen", .type = OptionType::kString, .default_value = "127.0.0.1",
       .description = "Address to listen on (0.0.0.0 for every interface: configure tokens, and tls, first)."},
      {.name = "port", .type = OptionType::kInt, .default_value = "8080",
       .description = "TCP port; 0 picks a free one (logged at start).", .min = 0, .max = 65535},
      {.name = "enabled", .type = OptionType::kBool, .default_value = "true",
       .description = "Serve the HTTP API (metrics, health, REST, live feed)."},
      {.name = "read_timeout", .type = OptionType::kDuration, .default_value = "5s",
       .description = "How long a connection may take to send its request.", .min = 0.001, .max = 3600},
      {.name = "threads", .type = OptionType::kInt, .default_value = "2",
       .description = "Worker threads serving requests (each open live feed holds one).", .min = 1, .max = 64},
      {.name = "tokens", .type = OptionType::kAny, .default_value = "",
       .description = "API tokens: a list of {token, role: read|operate|admin (default read), name}. None (and "
                      "no token_file): every route is open. Sent as `Authorization: Bearer T` or `?token=T`."},
      {.name = "token_file", .type = OptionType::kString, .default_value = "",
       .description = "A file of more tokens, one `role token [name]` per line (# comments), read at startup."},
      {.name = "metrics_public", .type = OptionType::kBool, .default_value = "false",
       .description = "Serve /metrics and /healthz without a token (otherwise they need the read role)."},
      {.name = "tls", .type = OptionType::kMap, .default_value = "",
       .description = "HTTPS: {cert: PEM certificate file, key: PEM private key file}; unset: plain HTTP."},
      {.name = "live_buffer", .type = OptionType::kInt, .default_value = "1024",
       .description = "Messages buffered per live-feed (SSE) client; when full the oldest are dropped and counted.",
       .min = 1, .max = 1000000},
  };
  // clang-format on
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
  o.metrics_public = options.flag("metrics_public");
  o.live_buffer = static_cast<int>(options.integer("live_buffer"));
  EDGELOOP_ASSIGN_OR_RETURN(o.tokens, tokens_from(options));
  if (const ConfigNode* tls = options.node("tls"); tls != nullptr && !tls->is_null()) {
    EDGELOOP_ASSIGN_OR_RETURN(Options t, Options::parse(tls_table(), *tls, options.path() + ".tls"));
    o.tls_cert = t.str("cert");
    o.tls_key = t.str("key");
    if (o.tls_cert.empty()) return t.error("cert", "the certificate file is empty");
    if (o.tls_key.empty()) return t.error("key", "the key file is empty");
  }
  return o;
}

Result<ApiOptions> ApiOptions::from_node(const ConfigNode& node, const std::string& path) {
  EDGELOOP_ASSIGN_OR_RETURN(Options options, Options::parse(table(), node, path));
  return from(options);
}

ApiServer::ApiServer(ApiOptions options, Metrics& metrics, HealthFn health)
    : options_(std::move(options)), metrics_(metrics), health_(std::move(health)), auth_(options_.tokens) {
  const std::string help = "HTTP API responses by status class.";
  responses_2xx_ = &metrics_.counter("edgeloop_http_responses_total", help, {{"code", "2xx"}});
  responses_4xx_ = &metrics_.counter("edgeloop_http_responses_total", help, {{"code", "4xx"}});
  responses_5xx_ = &metrics_.counter("edgeloop_http_responses_total", help, {{"code", "5xx"}});
  late_routes_ = &metrics_.counter("edgeloop_bugs_total", "Invariant violations (bugs), by place.",
                                   {{"where", "api.route_after_start"}});
  const std::string denied_help = "HTTP API requests refused: 401 without a known token, 403 with too low a role.";
  auth_denied_401_ = &metrics_.counter("edgeloop_api_auth_denied_total", denied_help, {{"code", "401"}});
  auth_denied_403_ = &metrics_.counter("edgeloop_api_auth_denied_total", denied_help, {{"code", "403"}});
}

ApiServer::~ApiServer() {
  stop();
}

void ApiServer::add_get(std::string path, Handler handler, Role need) {
  add_route(Route{false, std::move(path), std::move(handler), need, false});
}
void ApiServer::add_post(std::string path, Handler handler, Role need) {
  add_route(Route{true, std::move(path), std::move(handler), need, false});
}
void ApiServer::add_public_get(std::string path, Handler handler) {
  add_route(Route{false, std::move(path), std::move(handler), Role::kRead, true});
}

ApiServer::Handler ApiServer::guarded(Handler handler, Role need) {
  return [this, handler = std::move(handler), need](const httplib::Request& req, httplib::Response& res) {
    auto caller = auth_.authenticate(request_token(req));
    if (!caller.ok()) {
      auth_denied_401_->add();
      deny(res, 401, caller.error().message);
      return;
    }
    if (!role_allows(caller->role, need)) {
      auth_denied_403_->add();
      deny(res, 403,
           std::string("this needs the ") + role_name(need) + " role; the token has " + role_name(caller->role));
      return;
    }
    CallerScope scope(req, std::move(*caller));
    handler(req, res);
    encode_response(req, res);
  };
}

ApiServer::Handler ApiServer::encoded(Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    handler(req, res);
    encode_response(req, res);
  };
}

void ApiServer::add_route(Route route) {
  // httplib's route tables are not guarded: adding one while it serves would race.
  if (server_ != nullptr) {
    assert(false && "ApiServer: routes are added before start()");
    late_routes_->add();
    return;
  }
  routes_.push_back(std::move(route));
}

Status ApiServer::make_server() {
  if (options_.tls_cert.empty() && options_.tls_key.empty()) {
    server_ = std::make_unique<httplib::Server>();
    return Status::Ok();
  }
  if (options_.tls_cert.empty() || options_.tls_key.empty()) {
    return make_error(Errc::kInvalidConfig, "http.tls: both cert and key are needed");
  }
  EDGELOOP_TRY(check_readable("certificate", options_.tls_cert));
  EDGELOOP_TRY(check_readable("key", options_.tls_key));
  ERR_clear_error();
  auto ssl = std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
  if (!ssl->is_valid()) {
    std::string msg = "http.tls: cannot use certificate " + options_.tls_cert + " with key " + options_.tls_key +
                      " (PEM files; the key must match the certificate)";
    const std::string detail = openssl_errors();
    if (!detail.empty()) msg += ": " + detail;
    return make_error(Errc::kInvalidConfig, msg);
  }
  server_ = std::move(ssl);
  return Status::Ok();
}

Status ApiServer::configure_and_bind() {
  EDGELOOP_TRY(make_server());
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
    if (res.status >= 500)
      responses_5xx_->add();
    else if (res.status >= 400)
      responses_4xx_->add();
    else
      responses_2xx_->add();
  });

  // Prometheus can send a bearer token; metrics_public lets a scraper (and a load
  // balancer's health check) in without one.
  auto probe = [this](Handler h) { return options_.metrics_public ? encoded(std::move(h)) : guarded(std::move(h), Role::kRead); };
  s.Get("/metrics", probe([this](const httplib::Request&, httplib::Response& res) {
          if (health_) export_health_metrics(health_(), metrics_);  // the components' health, as of this scrape
          res.set_content(metrics_.render_prometheus(), kPrometheusContentType);
        }));
  s.Get("/healthz", probe([this](const httplib::Request&, httplib::Response& res) {
          HealthReport report;
          if (health_) report = health_();
          res.status = health_http_status(report.status);
          res.set_content(health_json(report), "application/json");
        }));
  s.Get("/api/v1/components", guarded(
                                  [this](const httplib::Request&, httplib::Response& res) {
                                    HealthReport report;
                                    if (health_) report = health_();
                                    res.set_content(components_json(report), "application/json");
                                  },
                                  Role::kRead));
  s.Get("/api/v1/whoami",
        guarded(
            [](const httplib::Request& req, httplib::Response& res) {
              const Caller& c = caller_of(req);
              nlohmann::json j = {{"role", role_name(c.role)}, {"name", c.name}, {"authenticated", c.authenticated}};
              res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
            },
            Role::kRead));
  for (auto& route : routes_) {
    // The exception handler above turns a throwing handler into a 500.
    Handler h = route.open ? encoded(route.handler) : guarded(route.handler, route.need);
    if (route.post)
      s.Post(route.path, std::move(h));
    else
      s.Get(route.path, std::move(h));
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
    return make_error(Errc::kInternal,
                      "http: the accept loop on " + options_.listen + ":" + std::to_string(port_) + " did not start");
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
