// Component health through the API: /api/v1/components, the edgeloop_component_* gauges in
// /metrics and /healthz follow an MQTT source whose broker stops and comes back.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "api/http_server.h"
#include "codecs/builtins.h"
#include "config/yaml_loader.h"
#include "connectors/http_ingest/builtins.h"
#include "connectors/mqtt/builtins.h"
#include "mosquitto_broker.h"
#include "process.h"
#include "runtime/runtime.h"
#include "test_stages.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

HealthReport report_of(Runtime& rt) {  // as app/serve.cc builds it
  HealthReport h;
  h.status = rt.status();
  for (const auto& c : rt.components()) h.components.push_back({c.name, c.kind, health_name(c.health)});
  return h;
}

class ComponentHealth : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!mosquitto_available()) GTEST_FAIL() << "mosquitto is not installed (/usr/sbin/mosquitto)";
    Capture::instance().clear();
    register_codecs(registry_);
    register_mqtt(registry_);
    register_http_ingest(registry_);
    register_capture(registry_);
    ASSERT_TRUE(broker_.start().ok());
  }
  void TearDown() override {
    if (api_) api_->stop();
    if (rt_) rt_->stop();
    broker_.stop();
  }
  void start(bool with_http) {
    std::string yaml = "sources:\n  plant:\n    type: mqtt\n    port: " + std::to_string(broker_.port()) +
                       "\n    subscribe: [t/#]\n    reconnect_min: 1s\n    reconnect_max: 1s\n";
    if (with_http) yaml += "  web: {type: http, port: 0, key: k}\n";
    yaml += "pipelines:\n  p: {from: plant, steps: [capture: {}]}\nruntime: {shards: 0, summary_interval: 0s}\n";
    auto root = load_yaml_string(yaml, "t.yaml");
    ASSERT_TRUE(root.ok()) << root.error().message;
    auto cfg = parse_app_config(*root);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    config_ = std::move(*cfg);
    auto rt = Runtime::build(config_, registry_);
    ASSERT_TRUE(rt.ok()) << rt.error().message;
    rt_ = std::move(*rt);
    ApiOptions o;
    o.port = 0;
    api_ = std::make_unique<ApiServer>(o, rt_->metrics(), [this] { return report_of(*rt_); });
    ASSERT_TRUE(api_->start().ok());
    ASSERT_TRUE(rt_->start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", api_->port());
  }
  json components() {
    auto r = client_->Get("/api/v1/components");
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200);
    return json::parse(r->body);
  }
  std::string metrics_text() {
    auto r = client_->Get("/metrics");
    EXPECT_TRUE(r);
    return r ? r->body : std::string();
  }
  bool has_line(const std::string& line) { return metrics_text().find("\n" + line + "\n") != std::string::npos; }

  Registry registry_;
  MosquittoBroker broker_;
  AppConfig config_;
  std::unique_ptr<Runtime> rt_;
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ComponentHealth, FollowsABrokerThatStopsAndComesBack) {
  start(true);
  ASSERT_TRUE(wait_until([&] { return rt_->status() == "ok"; }, 10s)) << rt_->status();
  EXPECT_EQ(components(), json::parse(R"({"status":"ok","components":[
      {"name":"plant","type":"source","health":"connected"},
      {"name":"web","type":"source","health":"connected"}]})"));
  EXPECT_TRUE(has_line(R"(edgeloop_component_up{name="plant",type="source"} 1)")) << metrics_text();
  EXPECT_TRUE(has_line(R"(edgeloop_component_health{name="plant",type="source",state="connected"} 1)"));
  EXPECT_TRUE(has_line(R"(edgeloop_component_health{name="plant",type="source",state="down"} 0)"));
  EXPECT_TRUE(has_line(R"(edgeloop_component_up{name="web",type="source"} 1)"));

  broker_.stop();
  ASSERT_TRUE(wait_until([&] { return rt_->components().at(0).health != Health::kConnected; }, 10s));
  const json c = components();
  EXPECT_EQ(c["status"], "degraded");
  const std::string h = c["components"][0]["health"];
  EXPECT_TRUE(h == "down" || h == "connecting") << h;
  EXPECT_EQ(c["components"][1]["health"], "connected");
  EXPECT_TRUE(has_line(R"(edgeloop_component_up{name="plant",type="source"} 0)"));
  EXPECT_TRUE(has_line(R"(edgeloop_component_health{name="plant",type="source",state="connected"} 0)"));
  EXPECT_TRUE(has_line(R"(edgeloop_component_health{name="plant",type="source",state=")" + h + R"("} 1)"));
  auto hz = client_->Get("/healthz");
  ASSERT_TRUE(hz);
  EXPECT_EQ(hz->status, 200);  // degraded still serves
  EXPECT_EQ(json::parse(hz->body)["status"], "degraded");

  ASSERT_TRUE(broker_.restart().ok());
  ASSERT_TRUE(wait_until([&] { return rt_->status() == "ok"; }, 15s)) << rt_->status();
  EXPECT_TRUE(has_line(R"(edgeloop_component_up{name="plant",type="source"} 1)"));
  EXPECT_EQ(components()["status"], "ok");
}

TEST_F(ComponentHealth, OnlySourceDownIs503) {
  start(false);
  ASSERT_TRUE(wait_until([&] { return rt_->status() == "ok"; }, 10s));
  broker_.stop();
  ASSERT_TRUE(wait_until([&] { return rt_->status() == "down"; }, 10s)) << rt_->status();
  auto hz = client_->Get("/healthz");
  ASSERT_TRUE(hz);
  EXPECT_EQ(hz->status, 503);
  EXPECT_EQ(json::parse(hz->body)["status"], "down");
  EXPECT_TRUE(has_line(R"(edgeloop_component_up{name="plant",type="source"} 0)"));
}

}  // namespace
}  // namespace edgeloop::test
