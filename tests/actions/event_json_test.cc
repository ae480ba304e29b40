#include "actions/event_json.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

namespace edgeloop {
namespace {

TEST(EventJson, AlertWithIdGatewayAndFields) {
  KeyTable keys(1024);
  const KeyId id = *keys.intern("line1/pump-\"1\"", "t", 0);
  Schema schema{{"score", "temp"}};
  std::string rule = "overheat", pipeline = "vibration";
  Event e;
  e.kind = EventKind::kAlert;
  e.state = AlertState::kRaised;
  e.severity = Severity::kWarning;
  e.key = id;
  e.ts_ns = 1732540000000000123;
  e.nfields = 2;
  e.f[0] = 0.93;
  e.f[1] = std::numeric_limits<double>::quiet_NaN();
  e.schema = &schema;
  e.name = &rule;
  e.pipeline_name = &pipeline;
  std::string out;
  append_event_json(out, e, {&keys, "gw-1", "gw-1:42"});
  EXPECT_EQ(out,
            R"({"id":"gw-1:42","gateway":"gw-1","pipeline":"vibration","stage":"overheat","key":"line1/pump-\"1\"",)"
            R"("kind":"alert","state":"raised","severity":"warning","ts_ns":1732540000000000123,)"
            R"("fields":{"score":0.93,"temp":null}})");
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["key"], "line1/pump-\"1\"");
  EXPECT_EQ(j["ts_ns"].get<int64_t>(), 1732540000000000123);
}

TEST(EventJson, InsightWithoutContext) {
  Event e;
  e.key = 7;
  std::string out = "x";
  append_event_json(out, e, {});
  EXPECT_EQ(out,
            R"(x{"pipeline":"","stage":"","key":"7","kind":"insight","state":"none","severity":"info","ts_ns":0,)"
            R"("fields":{}})");
}

}  // namespace
}  // namespace edgeloop
