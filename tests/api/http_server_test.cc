#include "api/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <httplib.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace edgeloop {
namespace {

ApiOptions on_free_port() {
  ApiOptions o;
  o.port = 0;
  return o;
}

// The health the fake runtime reports; tests change it between requests.
struct FakeHealth {
  std::mutex mu;
  HealthReport report;
  void set(HealthReport r) {
    std::lock_guard lock(mu);
    report = std::move(r);
  }
  ApiServer::HealthFn fn() {
    return [this] {
      std::lock_guard lock(mu);
      return report;
    };
  }
};

bool wait_for(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(ApiServer, ServesMetricsInPrometheusFormat) {
  Metrics metrics;
  metrics.counter("demo_readings_total", "Readings seen.", {{"source", "plant"}}).add(42);
  FakeHealth health;
  ApiServer server(on_free_port(), metrics, health.fn());
  ASSERT_TRUE(server.start().ok());
  ASSERT_GT(server.port(), 0);
  EXPECT_TRUE(server.running());

  httplib::Client cli("127.0.0.1", server.port());
  auto res = cli.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_NE(res->body.find("# TYPE demo_readings_total counter\n"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("demo_readings_total{source=\"plant\"} 42\n"), std::string::npos) << res->body;

  // Responses are counted (the logger runs after the response went out).
  ASSERT_TRUE(wait_for([&] { return metrics.value("edgeloop_http_responses_total", {{"code", "2xx"}}) == 1.0; }));
  auto missing = cli.Get("/nothing-here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  ASSERT_TRUE(wait_for([&] { return metrics.value("edgeloop_http_responses_total", {{"code", "4xx"}}) == 1.0; }));
  server.stop();
  EXPECT_FALSE(server.running());
}

TEST(ApiServer, HealthzReportsStatusAndComponents) {
  Metrics metrics;
  FakeHealth health;
  ApiServer server(on_free_port(), metrics, health.fn());
  ASSERT_TRUE(server.start().ok());
  httplib::Client cli("127.0.0.1", server.port());

  struct Case {
    std::string status;
    int http;
  };
  for (const Case& c : {Case{"ok", 200}, Case{"degraded", 200}, Case{"down", 503}}) {
    health.set(HealthReport{.status = c.status,
                            .components = {{.name = "plant", .kind = "source", .state = "connected"},
                                           {.name = "slow_down", .kind = "action", .state = "down"}}});
    auto res = cli.Get("/healthz");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.http) << c.status;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    const auto j = nlohmann::json::parse(res->body);
    EXPECT_EQ(j.at("status"), c.status);
    ASSERT_EQ(j.at("components").size(), 2u);
    EXPECT_EQ(j["components"][0]["name"], "plant");
    EXPECT_EQ(j["components"][0]["kind"], "source");
    EXPECT_EQ(j["components"][0]["state"], "connected");
    EXPECT_EQ(j["components"][1]["name"], "slow_down");
    EXPECT_EQ(j["components"][1]["state"], "down");
  }
  health.set(HealthReport{});
  auto res = cli.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"status":"ok","components":[]})");
}

TEST(ApiServer, HealthJsonEscapesAndMapsStatusToHttp) {
  EXPECT_EQ(health_json({.status = "degraded", .components = {{.name = "a\"b", .kind = "source", .state = "down"}}}),
            R"({"status":"degraded","components":[{"name":"a\"b","kind":"source","state":"down"}]})");
  EXPECT_EQ(health_http_status("ok"), 200);
  EXPECT_EQ(health_http_status("degraded"), 200);
  EXPECT_EQ(health_http_status("down"), 503);
  EXPECT_EQ(health_http_status("confused"), 503);
}

TEST(ApiServer, BindErrorNamesTheAddress) {
  Metrics metrics;
  FakeHealth health;
  ApiServer first(on_free_port(), metrics, health.fn());
  ASSERT_TRUE(first.start().ok());
  ApiOptions same;
  same.port = first.port();
  ApiServer second(same, metrics, health.fn());
  auto st = second.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::kIo);
  EXPECT_EQ(st.error().message,
            "http: cannot listen on 127.0.0.1:" + std::to_string(first.port()) + ": Address already in use");
  EXPECT_FALSE(second.running());
  second.stop();  // harmless
  // The first one still serves alone.
  httplib::Client cli("127.0.0.1", first.port());
  auto res = cli.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(ApiServer, AddedRoutesAreServed) {
  Metrics metrics;
  FakeHealth health;
  ApiServer server(on_free_port(), metrics, health.fn());
  server.add_get(R"(/api/v1/keys/([\w/-]+))", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("key=" + req.matches[1].str(), "text/plain");
  });
  server.add_post("/api/v1/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_content(req.body, "application/json");
  });
  server.add_get("/api/v1/boom", [](const httplib::Request&, httplib::Response&) {
    throw std::runtime_error("boom");
  });
  server.add_get("/api/v1/stream", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/event-stream", [](size_t, httplib::DataSink& sink) {
      const std::string event = "data: {\"n\":1}\n\n";
      sink.write(event.data(), event.size());
      sink.done();
      return true;
    });
  });
  ASSERT_TRUE(server.start().ok());
  httplib::Client cli("127.0.0.1", server.port());

  auto get = cli.Get("/api/v1/keys/line1/pump-1");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "key=line1/pump-1");
  auto post = cli.Post("/api/v1/echo", R"({"cmd":"stop"})", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 201);
  EXPECT_EQ(post->body, R"({"cmd":"stop"})");
  auto boom = cli.Get("/api/v1/boom");
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  EXPECT_EQ(boom->body, "internal error: boom\n");
  auto stream = cli.Get("/api/v1/stream");
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->status, 200);
  EXPECT_EQ(stream->get_header_value("Content-Type"), "text/event-stream");
  EXPECT_EQ(stream->body, "data: {\"n\":1}\n\n");
  // The built-in routes are still there.
  auto metrics_res = cli.Get("/metrics");
  ASSERT_TRUE(metrics_res);
  EXPECT_EQ(metrics_res->status, 200);
}

// Browsers accept br: httplib (built with brotli) would spend seconds of CPU per large JSON at
// quality 11. Large textual bodies go out gzip (level 1), small ones and non-accepting clients plain.
TEST(ApiServer, LargeJsonIsGzippedNeverBrotliSmallIsPlain) {
  Metrics metrics;
  FakeHealth health;
  ApiServer server(on_free_port(), metrics, health.fn());
  std::string big = "[";
  for (int i = 0; i < 2000; ++i) big += (i ? "," : "") + std::to_string(i);
  big += "]";
  server.add_get("/api/v1/big", [big](const httplib::Request&, httplib::Response& res) {
    res.set_content(big, "application/json");
  });
  server.add_get("/api/v1/small", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"ok\":true}", "application/json");
  });
  ASSERT_TRUE(server.start().ok());
  httplib::Client cli("127.0.0.1", server.port());
  cli.set_decompress(true);
  auto gz = cli.Get("/api/v1/big", {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->status, 200);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(gz->body, big);  // decompressed by the client
  auto br_only = cli.Get("/api/v1/big", {{"Accept-Encoding", "br"}});
  ASSERT_TRUE(br_only);
  EXPECT_EQ(br_only->get_header_value("Content-Encoding"), "");
  EXPECT_EQ(br_only->body, big);
  auto small = cli.Get("/api/v1/small", {{"Accept-Encoding", "gzip, br"}});
  ASSERT_TRUE(small);
  EXPECT_EQ(small->get_header_value("Content-Encoding"), "");
  EXPECT_EQ(small->body, "{\"ok\":true}");
  server.stop();
}

#ifdef NDEBUG
TEST(ApiServer, ARouteAddedAfterStartIsIgnoredAndCounted) {
  Metrics metrics;
  FakeHealth health;
  ApiServer server(on_free_port(), metrics, health.fn());
  ASSERT_TRUE(server.start().ok());
  server.add_get("/late", [](const httplib::Request&, httplib::Response& res) { res.set_content("x", "text/plain"); });
  EXPECT_EQ(metrics.value("edgeloop_bugs_total", {{"where", "api.route_after_start"}}), 1.0);
  httplib::Client cli("127.0.0.1", server.port());
  auto res = cli.Get("/late");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}
#endif

int connect_idle(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(ApiServer, StopReturnsPromptlyEvenWithAnIdleConnection) {
  Metrics metrics;
  FakeHealth health;
  auto server = std::make_unique<ApiServer>(on_free_port(), metrics, health.fn());
  ASSERT_TRUE(server->start().ok());
  const int port = server->port();
  const int idle = connect_idle(port);  // holds a worker, sends nothing
  ASSERT_GE(idle, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto t0 = std::chrono::steady_clock::now();
  server->stop();
  // httplib's default keep-alive wait is 5 s; ours is 1 s.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(3000));
  EXPECT_FALSE(server->running());
  EXPECT_TRUE(server->stopping());
  ::close(idle);
  // Nothing listens any more.
  const int after = connect_idle(port);
  EXPECT_EQ(after, -1);
  if (after >= 0) ::close(after);
  server->stop();  // idempotent
  server.reset();  // the destructor after stop
}

TEST(ApiServer, StopRightAfterStartIsNotLost) {
  Metrics metrics;
  FakeHealth health;
  for (int i = 0; i < 20; ++i) {
    ApiServer server(on_free_port(), metrics, health.fn());
    ASSERT_TRUE(server.start().ok());
    server.stop();
  }
}

TEST(ApiServer, DisabledDoesNothing) {
  Metrics metrics;
  FakeHealth health;
  ApiOptions o = on_free_port();
  o.enabled = false;
  ApiServer server(o, metrics, health.fn());
  ASSERT_TRUE(server.start().ok());
  EXPECT_FALSE(server.running());
  EXPECT_EQ(server.port(), 0);
  server.stop();
}

Mark at(int line) { return Mark{std::make_shared<std::string>("edgeloop.yaml"), line, 3}; }

TEST(ApiOptions, DefaultsAndValidation) {
  auto d = ApiOptions::from_node(ConfigNode(), "http");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->listen, "127.0.0.1");
  EXPECT_EQ(d->port, 8080);
  EXPECT_TRUE(d->enabled);
  EXPECT_EQ(d->read_timeout_ns, 5'000'000'000);
  EXPECT_EQ(d->threads, 2);

  ConfigNode node = ConfigNode::map(at(1));
  node.set("listen", ConfigNode::scalar("0.0.0.0", at(2)));
  node.set("port", ConfigNode::scalar("9000", at(3)));
  node.set("enabled", ConfigNode::scalar("false", at(4)));
  node.set("read_timeout", ConfigNode::scalar("250ms", at(5)));
  node.set("threads", ConfigNode::scalar("4", at(6)));
  auto o = ApiOptions::from_node(node, "http");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->listen, "0.0.0.0");
  EXPECT_EQ(o->port, 9000);
  EXPECT_FALSE(o->enabled);
  EXPECT_EQ(o->read_timeout_ns, 250'000'000);
  EXPECT_EQ(o->threads, 4);

  ConfigNode bad = ConfigNode::map(at(1));
  bad.set("port", ConfigNode::scalar("70000", at(7)));
  auto e = ApiOptions::from_node(bad, "http");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "edgeloop.yaml:7:3: http.port: '70000' out of range: must be between 0 and 65535");
  ConfigNode typo = ConfigNode::map(at(1));
  typo.set("prot", ConfigNode::scalar("1", at(8)));
  auto t = ApiOptions::from_node(typo, "http");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message,
            "edgeloop.yaml:8:3: http: unknown key 'prot' (expected one of: listen, port, enabled, read_timeout, threads, "
            "tokens, token_file, metrics_public, tls, live_buffer)");
}

}  // namespace
}  // namespace edgeloop
