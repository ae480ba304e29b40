// POST /api/v1/config/validate with the app's real check (every builtin plugin registered),
// and the route's JSON shapes with a stub check.
#include "api/config_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "api/http_server.h"
#include "app/builtins.h"
#include "app/serve.h"

namespace edgeloop {
namespace {

constexpr const char* kGood = R"(sources:
  plant:
    type: simulator
    pumps: 1
pipelines:
  vib:
    from: plant
    steps:
      - samples: {size: 64, hop: 32}
      - features: [rms]
runtime:
  shards: 0
)";

// The same with a misspelt option of the window (line 9).
constexpr const char* kBadKey = R"(sources:
  plant:
    type: simulator
    pumps: 1
pipelines:
  vib:
    from: plant
    steps:
      - samples: {size: 64, hopp: 32}
      - features: [rms]
runtime:
  shards: 0
)";

struct ValidateServer {
  Metrics metrics;
  Registry registry;
  ApiServer server;
  explicit ValidateServer(ApiOptions o) : server(std::move(o), metrics, nullptr) {
    register_all(registry);
    register_config_routes(server, config_validator(registry));
  }
  static ApiOptions with_tokens() {
    ApiOptions o;
    o.port = 0;
    o.tokens = {{"r-tok", Role::kRead, ""}, {"a-tok", Role::kAdmin, ""}};
    return o;
  }
};

nlohmann::json post(httplib::Client& cli, const std::string& body, int expect_status = 200) {
  auto res = cli.Post("/api/v1/config/validate", {{"Authorization", "Bearer a-tok"}}, body, "application/yaml");
  EXPECT_TRUE(res);
  if (!res) return nullptr;
  EXPECT_EQ(res->status, expect_status) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  return nlohmann::json::parse(res->body, nullptr, false);
}

TEST(ConfigValidate, GoodAndBadConfigs) {
  ValidateServer s(ValidateServer::with_tokens());
  ASSERT_TRUE(s.server.start().ok());
  httplib::Client cli("127.0.0.1", s.server.port());

  EXPECT_EQ(post(cli, kGood), nlohmann::json({{"ok", true}}));

  const nlohmann::json bad = post(cli, kBadKey);
  ASSERT_EQ(bad.at("ok"), false) << bad.dump();
  ASSERT_EQ(bad.at("errors").size(), 1u);
  const nlohmann::json& err = bad.at("errors")[0];
  const std::string message = err.at("message");
  EXPECT_EQ(message,
            "<request>:9:35: pipelines.vib.steps[0].samples: unknown key 'hopp' (expected one of: size, hop, max_gap)");
  EXPECT_EQ(err.at("line"), 9);
  EXPECT_EQ(err.at("column"), 35);

  // YAML that does not parse: still a 200 with the place.
  const nlohmann::json syntax = post(cli, "sources: [a,\n  b: c\n");
  ASSERT_EQ(syntax.at("ok"), false) << syntax.dump();
  EXPECT_EQ(syntax,
            nlohmann::json::parse(R"({"ok":false,"errors":[{"message":"<request>:3:1: end of sequence flow not found",
                                                  "line":3,"column":1}]})"));

  // ${VAR} does not reach the server's environment; a default does.
  const nlohmann::json env = post(cli, "runtime:\n  shards: ${EDGELOOP_TEST_SHARDS}\n");
  ASSERT_EQ(env.at("ok"), false) << env.dump();
  EXPECT_EQ(env.at("errors")[0].at("message"),
            "<request>:2:11: runtime.shards: environment variable 'EDGELOOP_TEST_SHARDS' is not set (use "
            "${EDGELOOP_TEST_SHARDS:-default} for a default)");
  const std::string with_default =
      std::string(kGood).replace(std::string(kGood).find("shards: 0"), 9, "shards: ${EDGELOOP_TEST_SHARDS:-0}");
  EXPECT_EQ(post(cli, with_default), nlohmann::json({{"ok", true}}));
}

TEST(ConfigValidate, NeedsAdminByDefault) {
  ValidateServer s(ValidateServer::with_tokens());
  ASSERT_TRUE(s.server.start().ok());
  httplib::Client cli("127.0.0.1", s.server.port());
  auto read = cli.Post("/api/v1/config/validate", {{"Authorization", "Bearer r-tok"}}, kGood, "application/yaml");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 403);
  auto none = cli.Post("/api/v1/config/validate", kGood, "application/yaml");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
}

TEST(ConfigValidate, PlaceOnlyWhenTheMessageHasOne) {
  Metrics metrics;
  ApiOptions o;
  o.port = 0;
  ApiServer server(o, metrics, nullptr);
  register_config_routes(server, [](const std::string& yaml) -> Status {
    if (yaml == "placed") return make_error(Errc::kInvalidConfig, "<request>:12:7: runtime.shards: bad");
    if (yaml == "binary") return make_error(Errc::kInvalidConfig, std::string("bad byte \xff here"));
    return make_error(Errc::kInvalidConfig, "no place here");
  });
  ASSERT_TRUE(server.start().ok());
  httplib::Client cli("127.0.0.1", server.port());
  auto placed = cli.Post("/api/v1/config/validate", "placed", "text/plain");
  ASSERT_TRUE(placed);
  EXPECT_EQ(nlohmann::json::parse(placed->body),
            nlohmann::json::parse(
                R"({"ok":false,"errors":[{"message":"<request>:12:7: runtime.shards: bad","line":12,"column":7}]})"));
  auto unplaced = cli.Post("/api/v1/config/validate", "x", "text/plain");
  ASSERT_TRUE(unplaced);
  EXPECT_EQ(nlohmann::json::parse(unplaced->body),
            nlohmann::json::parse(R"({"ok":false,"errors":[{"message":"no place here"}]})"));
  // Not UTF-8: replaced, not a 500.
  auto binary = cli.Post("/api/v1/config/validate", "binary", "text/plain");
  ASSERT_TRUE(binary);
  EXPECT_EQ(binary->status, 200);
  EXPECT_EQ(nlohmann::json::parse(binary->body).at("errors")[0].at("message"), "bad byte \xef\xbf\xbd here");
}

}  // namespace
}  // namespace edgeloop
