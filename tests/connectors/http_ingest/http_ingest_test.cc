// source.http end to end: a Runtime with a real ingest server on a free loopback port, POSTs
// from an httplib client, the records checked exactly at a pipeline stage.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "codecs/builtins.h"
#include "config/yaml_loader.h"
#include "connectors/http_ingest/builtins.h"
#include "process.h"
#include "runtime/inproc_source.h"
#include "runtime/runtime.h"
#include "test_stages.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int64_t kSec = 1'000'000'000;

class HttpIngest : public ::testing::Test {
 protected:
  void SetUp() override {
    Capture::instance().clear();
    register_codecs(registry_);
    register_runtime(registry_);
    register_http_ingest(registry_);
    register_capture(registry_);
  }
  void TearDown() override {
    Capture::instance().hold(false);
    if (rt_) rt_->stop();
  }

  void start(const std::string& extra = "") {
    port_ = free_port();
    const std::string yaml = R"(
sources:
  web:
    type: http
    port: )" + std::to_string(port_) + R"(
    path: /v1/ingest
    token: ${INGEST_TOKEN}
    tokens: [second-token]
    key: "{site}/{device}"
    max_body: 2KiB
    codec: {timestamp: ts, values: [v]}
)" + extra + R"(
pipelines:
  p: {from: web, steps: [capture: {}]}
runtime: {shards: 0, summary_interval: 0s}
)";
    YamlLoadOptions opts;
    opts.env = [](const std::string& name) -> std::optional<std::string> {
      if (name == "INGEST_TOKEN") return std::string("s3cret");
      return std::nullopt;
    };
    auto root = load_yaml_string(yaml, "test.yaml", opts);
    ASSERT_TRUE(root.ok()) << root.error().message;
    auto cfg = parse_app_config(*root);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    config_ = std::move(*cfg);
    auto rt = Runtime::build(config_, registry_);
    ASSERT_TRUE(rt.ok()) << rt.error().message;
    rt_ = std::move(*rt);
    ASSERT_TRUE(rt_->start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(10, 0);
  }

  httplib::Result post(const std::string& body, const std::string& type = "application/json",
                       const std::string& token = "s3cret") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return client_->Post("/v1/ingest", h, body, type);
  }

  double metric(const std::string& name, const Metrics::Labels& labels) { return rt_->metrics().value(name, labels); }
  // httplib counts a response (its logger) after writing it: the client may be first.
  bool counted(const std::string& code, double n) {
    return wait_until([&] { return responses(code) == n; }, std::chrono::seconds(2));
  }
  double responses(const std::string& code) {
    return metric("edgeloop_http_ingest_requests_total", {{"source", "web"}, {"code", code}});
  }

  Registry registry_;
  AppConfig config_;
  std::unique_ptr<Runtime> rt_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

TEST_F(HttpIngest, SingleArrayAndJsonLinesArriveExactly) {
  start();
  auto r1 = post(R"({"site":"s1","device":"pump-1","ts":1700000000,"v":1.5})");
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200) << r1->body;
  EXPECT_EQ(json::parse(r1->body), json::parse(R"({"accepted":1,"rejected":0,"records":1})"));

  auto r2 = post(R"([{"site":"s1","device":"pump-2","ts":1700000001,"v":2},
                     {"site":"s2","device":7,"ts":1700000002,"v":-3.25}])",
                 "application/json; charset=utf-8");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200) << r2->body;
  EXPECT_EQ(json::parse(r2->body)["accepted"], 2);

  auto r3 = post("{\"site\":\"s1\",\"device\":\"pump-1\",\"ts\":1700000003,\"v\":4}\n"
                 "{\"site\":\"s1\",\"device\":\"pump-1\",\"ts\":1700000004,\"v\":5}\n",
                 "application/x-ndjson", "second-token");
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 200) << r3->body;
  EXPECT_EQ(json::parse(r3->body)["accepted"], 2);

  ASSERT_TRUE(Capture::instance().wait_for(5, 5s));
  const std::vector<Seen> want = {{"s1/pump-1", 1700000000 * kSec, 1.5},
                                  {"s1/pump-2", 1700000001 * kSec, 2},
                                  {"s2/7", 1700000002 * kSec, -3.25},
                                  {"s1/pump-1", 1700000003 * kSec, 4},
                                  {"s1/pump-1", 1700000004 * kSec, 5}};
  EXPECT_EQ(Capture::instance().seen(), want);
  EXPECT_EQ(metric("edgeloop_source_messages_total", {{"source", "web"}}), 5);
  EXPECT_TRUE(wait_until([&] { return metric("edgeloop_source_records_total", {{"source", "web"}}) == 5; }, 2s));
  EXPECT_TRUE(counted("200", 3)) << responses("200");
  EXPECT_EQ(rt_->components().at(0).health, Health::kConnected);
}

TEST_F(HttpIngest, TokenMissingOrWrongIs401) {
  start();
  const std::string body = R"({"site":"s","device":"d","ts":1,"v":1})";
  auto none = post(body, "application/json", "");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer realm=\"edgeloop\"");
  auto wrong = post(body, "application/json", "s3cres");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto longer = post(body, "application/json", "s3cret0");
  ASSERT_TRUE(longer);
  EXPECT_EQ(longer->status, 401);
  httplib::Headers basic = {{"Authorization", "Basic czNjcmV0"}};
  auto b = client_->Post("/v1/ingest", basic, body, "application/json");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 401);
  EXPECT_TRUE(counted("401", 4)) << responses("401");
  std::this_thread::sleep_for(50ms);  // a record, if one got through, would arrive within this
  EXPECT_TRUE(Capture::instance().seen().empty());
}

TEST_F(HttpIngest, OversizeIs413WrongTypeIs415OtherPathIs404) {
  start();
  std::string big = "[";
  for (int i = 0; i < 60; ++i) big += std::string(i ? "," : "") + R"({"site":"s","device":"d","ts":1,"v":1})";
  big += "]";
  ASSERT_GT(big.size(), 2048u);
  auto r = post(big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  auto t = post(R"({"site":"s","device":"d","ts":1,"v":1})", "text/plain");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, 415);
  auto e = post("  ");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400);
  auto p = client_->Post("/v1/other", R"({})", "application/json");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 404);
  EXPECT_TRUE(counted("413", 1)) << responses("413");
  EXPECT_TRUE(counted("415", 1)) << responses("415");
  EXPECT_TRUE(counted("404", 1)) << responses("404");
  EXPECT_EQ(metric("edgeloop_source_messages_total", {{"source", "web"}}), 0);
}

TEST_F(HttpIngest, MalformedLinesAreDeadLetteredGoodOnesAccepted) {
  start();
  auto r = post("{\"site\":\"s\",\"device\":\"a\",\"ts\":10,\"v\":1}\n"
                "{\"site\":\"s\",\"device\":\"b\",\"ts\":11,\n"
                "{\"site\":\"s\",\"ts\":12,\"v\":3}\n"
                "{\"site\":\"s\",\"device\":\"c\",\"ts\":13,\"v\":\"x\"}\n"
                "{\"site\":\"s\",\"device\":\"a\",\"ts\":14,\"v\":5}\n",
                "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["accepted"], 2);
  EXPECT_EQ(j["rejected"], 3);
  ASSERT_EQ(j["errors"].size(), 3u);
  EXPECT_EQ(j["errors"][0]["line"], 2);
  EXPECT_EQ(j["errors"][0]["reason"], "malformed");
  EXPECT_EQ(j["errors"][1]["line"], 3);
  EXPECT_EQ(j["errors"][1]["reason"], "bad_key");
  EXPECT_EQ(j["errors"][2]["line"], 4);
  EXPECT_EQ(j["errors"][2]["reason"], "wrong_type");

  ASSERT_TRUE(Capture::instance().wait_for(2, 5s));
  const std::vector<Seen> want = {{"s/a", 10 * kSec, 1}, {"s/a", 14 * kSec, 5}};
  EXPECT_EQ(Capture::instance().seen(), want);
  const Metrics::Labels web = {{"source", "web"}};
  EXPECT_EQ(metric("edgeloop_source_errors_total", {{"source", "web"}, {"reason", "malformed"}}), 1);
  EXPECT_EQ(metric("edgeloop_source_errors_total", {{"source", "web"}, {"reason", "bad_key"}}), 1);
  EXPECT_EQ(metric("edgeloop_source_errors_total", {{"source", "web"}, {"reason", "wrong_type"}}), 1);
  ASSERT_TRUE(wait_until([&] { return rt_->dead_letters().recent().size() == 3; }, 5s));
  const auto letters = rt_->dead_letters().recent();
  EXPECT_EQ(letters[0].source, "web");
  EXPECT_EQ(letters[0].topic, "/v1/ingest");
  EXPECT_EQ(letters[0].payload, "{\"site\":\"s\",\"device\":\"b\",\"ts\":11,");
  EXPECT_EQ(letters[1].reason, "missing key field '/device' (key '{site}/{device}')");
  EXPECT_EQ(letters[2].payload, "{\"site\":\"s\",\"device\":\"c\",\"ts\":13,\"v\":\"x\"}");

  // Everything bad: 400, still dead-lettered.
  auto all_bad = post("[1, {\"ts\":1}]");
  ASSERT_TRUE(all_bad);
  EXPECT_EQ(all_bad->status, 400);
  EXPECT_EQ(json::parse(all_bad->body)["rejected"], 2);
  EXPECT_EQ(json::parse(all_bad->body)["errors"][0]["element"], 0);
  EXPECT_TRUE(wait_until([&] { return rt_->dead_letters().recent().size() == 5; }, 5s));
}

TEST_F(HttpIngest, FullPipelineWaitsThen503AndDropsNothing) {
  start("    queue: 2\n    backpressure_timeout: 200ms\n");
  Capture::instance().hold(true);  // the pipeline stops taking records
  auto first = post(R"([{"site":"s","device":"d","ts":1,"v":1},{"site":"s","device":"d","ts":2,"v":2}])");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  auto busy = post(R"({"site":"s","device":"d","ts":3,"v":3})");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503) << busy->body;
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  EXPECT_TRUE(counted("503", 1)) << responses("503");
  EXPECT_EQ(rt_->components().at(0).health, Health::kDegraded);
  Capture::instance().hold(false);
  auto retry = post(R"({"site":"s","device":"d","ts":3,"v":3})");
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, 200);
  ASSERT_TRUE(Capture::instance().wait_for(3, 5s));
  const std::vector<Seen> want = {{"s/d", 1 * kSec, 1}, {"s/d", 2 * kSec, 2}, {"s/d", 3 * kSec, 3}};
  EXPECT_EQ(Capture::instance().seen(), want);
}

TEST_F(HttpIngest, PortInUseIsDownThenRecovers) {
  // Someone else holds the port: the source is down (not fatal) and binds once it is free.
  const int port = free_port();
  const int blocker = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(blocker, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(blocker, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(blocker, 1), 0);
  const std::string yaml = "sources:\n  web: {type: http, port: " + std::to_string(port) +
                           ", rebind_max: 200ms, key: k}\npipelines:\n  p: {from: web, steps: [capture: {}]}\n"
                           "runtime: {shards: 0, summary_interval: 0s}\n";
  auto root = load_yaml_string(yaml, "t.yaml");
  ASSERT_TRUE(root.ok());
  auto cfg = parse_app_config(*root);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  config_ = std::move(*cfg);
  auto rt = Runtime::build(config_, registry_);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  rt_ = std::move(*rt);
  ASSERT_TRUE(rt_->start().ok());
  EXPECT_EQ(rt_->components().at(0).health, Health::kDown);
  EXPECT_EQ(rt_->status(), "down");
  close(blocker);  // frees the port
  ASSERT_TRUE(wait_until([&] { return rt_->components().at(0).health == Health::kConnected; }, 5s));
  httplib::Client c("127.0.0.1", port);
  auto r = c.Post("/ingest", R"({"ts":5,"v":6})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(Capture::instance().wait_for(1, 5s));
  EXPECT_EQ(Capture::instance().seen().at(0), (Seen{"k", 5 * kSec, 6}));
}

}  // namespace
}  // namespace edgeloop::test
