// The live routes end to end: a real ApiServer on a free loopback port, a real LiveHub thread
// and real HTTP clients (httplib::Client, and a raw socket that never reads).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/http_server.h"
#include "api/live_hub.h"
#include "api/live_routes.h"

namespace edgeloop {
namespace {

using nlohmann::json;

bool wait_for(const std::function<bool()>& pred, int seconds = 10) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

struct LiveServer {
  Metrics metrics;
  LiveBus bus;
  KeyTable keys;
  std::shared_ptr<LiveChannel> channel = std::make_shared<LiveChannel>(1024);
  std::unique_ptr<LiveHub> hub;
  std::unique_ptr<ApiServer> api;
  Schema alert_schema{{"rms"}};
  std::string rule = "bearing", pipeline = "vib";

  explicit LiveServer(std::size_t client_buffer = 1024, std::vector<std::string> fields = {"rms", "peak"},
                      std::vector<ApiToken> tokens = {}) {
    channel->pipeline = "vib";
    channel->stage = "features";
    channel->fields = std::move(fields);
    channel->keys = &keys;
    bus.add(channel);
    LiveHubOptions o;
    o.client_buffer = client_buffer;
    o.idle_wait_ns = 1'000'000;
    hub = std::make_unique<LiveHub>(o, metrics, bus);
    ApiOptions ao;
    ao.port = 0;
    ao.threads = 4;
    ao.tokens = std::move(tokens);
    api = std::make_unique<ApiServer>(ao, metrics, nullptr);
    register_live_routes(*api, *hub, 1, {{"vib", "bearing", "rms", ">", 1.0, "when"}});
    hub->start();
    EXPECT_TRUE(api->start().ok());
  }
  ~LiveServer() {
    hub->stop();
    api->stop();
  }
  // Hands a reading over as op.live would, waiting while the ring is full.
  void push(const std::string& key, int64_t ts, double rms, double peak = 0) {
    LiveReading r;
    r.key = *keys.intern(key, "t", 0);
    r.ts_ns = ts;
    r.nfields = 2;
    r.f[0] = rms;
    r.f[1] = peak;
    while (!channel->ring.try_push(r)) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  void alert(AlertState state, const std::string& key, int64_t ts, double rms) {
    Event e;
    e.kind = EventKind::kAlert;
    e.state = state;
    e.key = *keys.intern(key, "t", 0);
    e.ts_ns = ts;
    e.nfields = 1;
    e.f[0] = rms;
    e.schema = &alert_schema;
    e.name = &rule;
    e.pipeline_name = &pipeline;
    hub->on_event(e, &keys);
  }
  httplib::Client client() {
    httplib::Client c("127.0.0.1", api->port());
    c.set_read_timeout(10, 0);
    return c;
  }
};

// Reads an SSE feed on its own thread until `done(text so far)` or the deadline.
struct FeedReader {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::string text;
  std::thread thread;
  // done(text, from): whether the text (new since `from`, with some overlap) holds the end.
  FeedReader(int port, std::string path, std::function<bool(const std::string&, std::size_t)> done) {
    thread = std::thread([this, port, path, done] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(10, 0);
      c.Get(path.c_str(), [&](const char* data, size_t n) {
        std::lock_guard lock(mu);
        const std::size_t from = text.size() > 256 ? text.size() - 256 : 0;
        text.append(data, n);
        return !stop.load() && !done(text, from);
      });
    });
  }
  std::string get() {
    std::lock_guard lock(mu);
    return text;
  }
  ~FeedReader() {
    stop = true;
    thread.join();
  }
};

TEST(LiveHttp, SseDeliversReadingsAndAlertsAndKeyFilters) {
  LiveServer s;
  auto has_end = [](const std::string& t, std::size_t from = 0) { return t.find("\"ts_ns\":99,", from) != std::string::npos; };
  FeedReader all(s.api->port(), "/api/v1/live", has_end);
  FeedReader pump2(s.api->port(), "/api/v1/live?keys=line1/pump-2,x", has_end);
  ASSERT_TRUE(wait_for([&] { return s.hub->clients() == 2; }));
  s.push("line1/pump-1", 1, 0.25, 2);
  s.alert(AlertState::kRaised, "line1/pump-1", 2, 1.5);
  s.push("line1/pump-2", 99, 0.5);
  ASSERT_TRUE(wait_for([&] { return has_end(all.get()) && has_end(pump2.get()); }));
  const std::string a = all.get();
  EXPECT_EQ(a.substr(0, 13), "retry: 2000\n\n");
  EXPECT_NE(a.find("event: reading\ndata: {\"key\":\"line1/pump-1\",\"pipeline\":\"vib\",\"stage\":\"features\",\"ts_ns\":1,"
                   "\"values\":{\"rms\":0.25,\"peak\":2}}\n\n"),
            std::string::npos)
      << a;
  EXPECT_NE(a.find("event: alert\ndata: {\"acked_by\":\"\",\"acked_ns\":0,\"cleared_ns\":0,\"comments\":[],\"id\":\"1\","
                   "\"key\":\"line1/pump-1\",\"name\":\"bearing\",\"pipeline\":\"vib\",\"raised_ns\":2,"
                   "\"severity\":\"info\",\"state\":\"raised\",\"values\":{\"rms\":1.5}}\n\n"),
            std::string::npos)
      << a;
  const std::string p2 = pump2.get();
  EXPECT_EQ(p2.find("line1/pump-1\",\"pipeline\""), std::string::npos) << p2;  // filtered out
  EXPECT_NE(p2.find("event: alert"), std::string::npos);                       // alerts go to every feed
}

TEST(LiveHttp, StreamsHistoryAndOverview) {
  LiveServer s;
  for (int i = 0; i < 5; ++i) s.push("line1/pump-1", 10 + i, 0.1 * i, 1);
  s.push("line1/pump-2", 20, 0.9);
  auto c = s.client();
  ASSERT_TRUE(wait_for([&] {
    auto r = c.Get("/api/v1/streams");
    return r && json::parse(r->body).size() == 2;
  }));
  auto streams = json::parse(c.Get("/api/v1/streams")->body);
  EXPECT_EQ(streams[0], json::parse(R"({"key":"line1/pump-1","pipeline":"vib","stage":"features","fields":["rms","peak"],
                                        "last":{"ts_ns":14,"values":{"rms":0.4,"peak":1}}})"));
  ASSERT_TRUE(wait_for([&] {
    auto r = c.Get("/api/v1/streams/history?key=line1/pump-1&pipeline=vib&points=3");
    return r && r->status == 200 && json::parse(r->body)["series"][0]["ts_ns"].size() == 3;
  }));
  auto h = json::parse(c.Get("/api/v1/streams/history?key=line1/pump-1&pipeline=vib&points=3")->body);
  EXPECT_EQ(h["series"][0]["ts_ns"], json::parse("[12,13,14]"));
  EXPECT_EQ(h["series"][0]["values"]["peak"], json::parse("[1,1,1]"));
  EXPECT_EQ(h["series"][0]["stage"], "features");
  EXPECT_EQ(c.Get("/api/v1/streams/history?key=nope&pipeline=vib")->status, 404);
  EXPECT_EQ(c.Get("/api/v1/streams/history?key=line1/pump-1")->status, 400);
  EXPECT_EQ(c.Get("/api/v1/streams/history?key=line1/pump-1&pipeline=vib&points=x")->status, 400);

  s.alert(AlertState::kRaised, "line1/pump-1", 30, 1.2);
  ASSERT_TRUE(wait_for([&] { return json::parse(c.Get("/api/v1/alerts?state=open")->body).size() == 1; }));
  auto o = json::parse(c.Get("/api/v1/overview")->body);
  EXPECT_EQ(o["pipelines"], 1);
  EXPECT_EQ(o["events_total"], 1);
  ASSERT_EQ(o["assets"].size(), 2u);
  EXPECT_EQ(o["assets"][0]["key"], "line1/pump-1");
  EXPECT_EQ(o["assets"][0]["health"], "alert");
  EXPECT_EQ(o["assets"][0]["open_alerts"], 1);
  EXPECT_EQ(o["assets"][0]["pipelines"], json::parse(R"(["vib"])"));
  EXPECT_EQ(o["assets"][0]["last_ts_ns"], 14);
  EXPECT_EQ(o["assets"][1]["health"], "warning");  // rms 0.9 > 80% of the `when` threshold 1.0
  EXPECT_EQ(o["assets"][1]["values"]["rms"], 0.9);
}

TEST(LiveHttp, AlertRaisedAckedWithCommentThenCleared) {
  LiveServer s;
  auto c = s.client();
  s.alert(AlertState::kRaised, "line1/pump-1", 100, 1.5);
  ASSERT_TRUE(wait_for([&] { return json::parse(c.Get("/api/v1/alerts?state=open")->body).size() == 1; }));
  const std::string id = json::parse(c.Get("/api/v1/alerts")->body)[0]["id"];

  auto ack = c.Post(("/api/v1/alerts/" + id + "/ack").c_str(), R"({"comment":"on my way"})", "application/json");
  ASSERT_TRUE(ack);
  ASSERT_EQ(ack->status, 200) << ack->body;
  auto a = json::parse(ack->body);
  EXPECT_EQ(a["state"], "acknowledged");
  EXPECT_EQ(a["acked_by"], "anonymous");  // no tokens configured
  EXPECT_GT(a["acked_ns"].get<int64_t>(), 0);
  ASSERT_EQ(a["comments"].size(), 1u);
  EXPECT_EQ(a["comments"][0]["text"], "on my way");

  auto cm = c.Post(("/api/v1/alerts/" + id + "/comments").c_str(), R"({"text":"bearing replaced"})", "application/json");
  ASSERT_EQ(cm->status, 200) << cm->body;
  EXPECT_EQ(json::parse(cm->body)["comments"].size(), 2u);
  EXPECT_EQ(c.Post(("/api/v1/alerts/" + id + "/comments").c_str(), R"({"text":""})", "application/json")->status, 400);
  EXPECT_EQ(c.Post(("/api/v1/alerts/" + id + "/ack").c_str(), "not json", "application/json")->status, 400);

  s.alert(AlertState::kCleared, "line1/pump-1", 200, 0.4);
  ASSERT_TRUE(wait_for([&] { return json::parse(c.Get("/api/v1/alerts?state=open")->body).empty(); }));
  auto all = json::parse(c.Get("/api/v1/alerts?state=all")->body);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["state"], "cleared");
  EXPECT_EQ(all[0]["raised_ns"], 100);
  EXPECT_EQ(all[0]["cleared_ns"], 200);
  EXPECT_EQ(all[0]["values"]["rms"], 0.4);
  EXPECT_EQ(c.Get("/api/v1/alerts?state=bogus")->status, 400);
}

TEST(LiveHttp, AckNeedsOperateAndNamesTheTokenHolder) {
  LiveServer s(1024, {"rms", "peak"}, {{"rtoken", Role::kRead, "viewer"}, {"otoken", Role::kOperate, "alice"}});
  s.alert(AlertState::kRaised, "line1/pump-1", 100, 1.5);
  auto c = s.client();
  const httplib::Headers reader = {{"Authorization", "Bearer rtoken"}};
  const httplib::Headers op = {{"Authorization", "Bearer otoken"}};
  ASSERT_TRUE(wait_for([&] {
    auto r = c.Get("/api/v1/alerts?state=open", reader);
    return r && r->status == 200 && json::parse(r->body).size() == 1;
  }));
  EXPECT_EQ(c.Get("/api/v1/alerts")->status, 401);
  EXPECT_EQ(c.Post("/api/v1/alerts/1/ack", reader, "{}", "application/json")->status, 403);
  EXPECT_EQ(c.Post("/api/v1/alerts/1/comments", reader, R"({"text":"x"})", "application/json")->status, 403);
  auto r = c.Post("/api/v1/alerts/1/ack", op, R"({"comment":"mine"})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["acked_by"], "alice");
  EXPECT_EQ(json::parse(r->body)["comments"][0]["by"], "alice");
}

TEST(LiveHttp, UnknownAlertIs404) {
  LiveServer s;
  auto c = s.client();
  auto r = c.Post("/api/v1/alerts/12345/ack", "", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"], "no alert with id '12345'");
  EXPECT_EQ(c.Post("/api/v1/alerts/abc/comments", R"({"text":"x"})", "application/json")->status, 404);
}

TEST(LiveHttp, ASlowClientThatNeverReadsDoesNotStopTheFastOne) {
  // Long field names: each message is ~600 bytes, so the slow socket's buffers fill quickly.
  std::vector<std::string> fields;
  for (int i = 0; i < 16; ++i) fields.push_back("a_rather_long_feature_name_" + std::to_string(i));
  LiveServer s(64, fields);

  // The slow client: asks for the feed with a tiny receive buffer and never reads.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  int small = 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(s.api->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string req = "GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  ASSERT_TRUE(wait_for([&] { return s.hub->clients() == 1; }));

  const int kLast = 20000;
  const std::string end = "\"ts_ns\":" + std::to_string(kLast) + ",";
  FeedReader fast(s.api->port(), "/api/v1/live", [&](const std::string& t, std::size_t from) {
    return t.find(end, from) != std::string::npos;
  });
  ASSERT_TRUE(wait_for([&] { return s.hub->clients() == 2; }));
  for (int i = 1; i <= kLast; ++i) {
    LiveReading r;
    r.key = *s.keys.intern("k", "t", 0);
    r.ts_ns = i;
    r.nfields = 16;
    r.f.fill(0.123456789);
    while (!s.channel->ring.try_push(r)) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  EXPECT_TRUE(wait_for([&] {
    const std::string t = fast.get();
    return t.find(end, t.size() > 4096 ? t.size() - 4096 : 0) != std::string::npos;
  }, 20));
  // The slow one lost messages (counted) instead of holding anything up.
  EXPECT_GT(s.metrics.value("edgeloop_api_live_dropped_total"), 0);
  ::close(fd);
}

}  // namespace
}  // namespace edgeloop
