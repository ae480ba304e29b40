// GET /api/v1/readings and /api/v1/events on a real server (a free loopback port).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "store/store_routes.h"
#include "store_test_util.h"

namespace edgeloop::store {
namespace {

using namespace testing;

class StoreRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open_shared(settings_at(dir_.file("api.db")));
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = *s;
    auto rq = store_->add_reading_queue(Schema({"temp"}), &keys_, 256, nullptr);
    auto eq = store_->add_event_queue(&keys_, 16, "gw-1", nullptr);
    const KeyId k = *keys_.intern("line1/pump-1", "", 0);
    for (int i = 0; i < 90; ++i) rq->push(record(k, kT0 + i * kSec, {static_cast<double>(i)}));
    Event e;
    e.kind = EventKind::kAlert;
    e.state = AlertState::kRaised;
    e.key = k;
    e.ts_ns = kT0 + 5 * kSec;
    e.nfields = 1;
    e.f[0] = 5;
    e.schema = &event_schema_;
    e.name = &rule_;
    e.pipeline_name = &pipeline_;
    eq->push(e);
    e.kind = EventKind::kInsight;
    e.state = AlertState::kNone;
    e.ts_ns += kSec;
    eq->push(e);
    rq.reset();  // detaching commits
    eq.reset();
    ApiOptions o;
    o.port = 0;
    server_ = std::make_unique<ApiServer>(o, metrics_, [] { return HealthReport{}; });
    register_store_routes(*server_, {store_});
    ASSERT_TRUE(server_->start().ok());
  }
  void TearDown() override { server_->stop(); }

  httplib::Result get(const std::string& path) {
    httplib::Client cli("127.0.0.1", server_->port());
    return cli.Get(path);
  }

  TempDir dir_;
  KeyTable keys_;
  Metrics metrics_;
  const Schema event_schema_{{"score"}};
  const std::string rule_ = "hot", pipeline_ = "vib";
  std::shared_ptr<Store> store_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(StoreRoutes, RawReadings) {
  auto res = get("/api/v1/readings?key=line1/pump-1&from=2024-11-25T12:00:10Z&limit=2");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body, R"([{"key":"line1/pump-1","ts_ns":1732536010000000000,"fields":{"temp":10.0}},)"
                       R"({"key":"line1/pump-1","ts_ns":1732536011000000000,"fields":{"temp":11.0}}])");
}

TEST_F(StoreRoutes, Rollups) {
  auto res = get("/api/v1/readings?key=line1%2Fpump-1&rollup=1m&order=desc");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto j = nlohmann::json::parse(res->body);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["ts_ns"], kT0 + 60 * kSec);
  EXPECT_EQ(j[0]["count"], 30);
  EXPECT_EQ(j[0]["min"], 60.0);
  EXPECT_EQ(j[0]["max"], 89.0);
  EXPECT_EQ(j[0]["mean"], 74.5);
  EXPECT_EQ(j[1]["count"], 60);
  EXPECT_EQ(j[1]["mean"], 29.5);
}

TEST_F(StoreRoutes, Events) {
  auto res = get("/api/v1/events?kind=alert");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"([{"gateway":"gw-1","pipeline":"vib","stage":"hot","key":"line1/pump-1","kind":"alert",)"
                       R"("state":"raised","severity":"info","ts_ns":1732536005000000000,"fields":{"score":5}}])");
  res = get("/api/v1/events?key=line1/pump-1&from=1732536005500ms");
  ASSERT_TRUE(res);
  auto j = nlohmann::json::parse(res->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["kind"], "insight");
  res = get("/api/v1/events?key=other");
  EXPECT_EQ(res->body, "[]");
}

TEST_F(StoreRoutes, BadQueriesAre400WithTheReason) {
  auto res = get("/api/v1/readings?from=-1h");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->body, R"({"error":"parameter 'key': required: the stream key whose readings to return"})");
  res = get("/api/v1/readings?key=k&rollup=5m");
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->body, R"x({"error":"parameter 'rollup': this store keeps no 5m rollup (kept: 1m)"})x");
  res = get("/api/v1/events?kind=alarm");
  EXPECT_EQ(res->status, 400);
  res = get("/api/v1/events?db=/elsewhere.db");
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body, R"({"error":"no store open at '/elsewhere.db'"})");
  res = get("/api/v1/events?db=" + store_->path() + "&limit=1");
  EXPECT_EQ(res->status, 200);
  // httplib counts a response after the client has it: wait (bounded) for the last one.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (metrics_.value("edgeloop_http_responses_total", {{"code", "4xx"}}) < 4 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(metrics_.value("edgeloop_http_responses_total", {{"code", "4xx"}}), 4);
}

}  // namespace
}  // namespace edgeloop::store
