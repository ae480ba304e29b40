#include "api/auth.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/http_server.h"
#include "config/yaml_loader.h"

namespace edgeloop {
namespace {

// A private temporary directory, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgeloop-auth-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

Result<ApiOptions> options_from_yaml(const std::string& yaml) {
  YamlLoadOptions lo;
  lo.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  EDGELOOP_ASSIGN_OR_RETURN(ConfigNode root, load_yaml_string(yaml, "edgeloop.yaml", lo));
  const ConfigNode* http = root.find("http");
  return ApiOptions::from_node(http ? *http : ConfigNode(), "http");
}

TEST(Auth, RolesParseAndOrder) {
  EXPECT_EQ(*parse_role("read"), Role::kRead);
  EXPECT_EQ(*parse_role("operate"), Role::kOperate);
  EXPECT_EQ(*parse_role("admin"), Role::kAdmin);
  auto bad = parse_role("root");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "unknown role 'root' (expected read, operate or admin)");
  EXPECT_STREQ(role_name(Role::kOperate), "operate");
  EXPECT_TRUE(role_allows(Role::kAdmin, Role::kOperate));
  EXPECT_TRUE(role_allows(Role::kOperate, Role::kOperate));
  EXPECT_FALSE(role_allows(Role::kRead, Role::kOperate));
  EXPECT_FALSE(role_allows(Role::kOperate, Role::kAdmin));
}

TEST(Auth, TokensEqual) {
  EXPECT_TRUE(tokens_equal("s3cret", "s3cret"));
  EXPECT_FALSE(tokens_equal("s3cret", "s3creT"));
  EXPECT_FALSE(tokens_equal("s3cret", "s3cre"));
  EXPECT_FALSE(tokens_equal("s3cret", "s3crets3cret"));  // the cyclic fold must not match a repeat
  EXPECT_FALSE(tokens_equal("s3cret", ""));
  EXPECT_FALSE(tokens_equal("", ""));  // an empty secret never matches
}

TEST(Auth, TokenLines) {
  auto t =
      parse_token_lines("# role token name\n\nread  r-tok  grafana\n\toperate o-tok\r\nadmin a-tok alice\n", "t.txt");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].role, Role::kRead);
  EXPECT_EQ((*t)[0].token, "r-tok");
  EXPECT_EQ((*t)[0].name, "grafana");
  EXPECT_EQ((*t)[1].role, Role::kOperate);
  EXPECT_EQ((*t)[1].token, "o-tok");
  EXPECT_EQ((*t)[1].name, "");
  EXPECT_EQ((*t)[2].name, "alice");

  auto bad_role = parse_token_lines("read a\nsuper b\n", "t.txt");
  ASSERT_FALSE(bad_role.ok());
  EXPECT_EQ(bad_role.error().message, "t.txt:2: the first word is not a role (read, operate or admin)");
  auto short_line = parse_token_lines("read\n", "t.txt");
  ASSERT_FALSE(short_line.ok());
  EXPECT_EQ(short_line.error().message, "t.txt:1: expected 'role token [name]', got 1 words");
  auto missing = load_token_file("/nonexistent/tokens");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "cannot read token file /nonexistent/tokens");
}

TEST(Auth, AuthenticateNamesTheCaller) {
  TokenAuth off;
  auto anon = off.authenticate("");
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ(anon->role, Role::kAdmin);
  EXPECT_EQ(anon->name, "anonymous");
  EXPECT_FALSE(anon->authenticated);

  TokenAuth on({{"r-tok", Role::kRead, ""}, {"o-tok", Role::kOperate, "bob"}});
  auto r = on.authenticate("r-tok");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->role, Role::kRead);
  EXPECT_EQ(r->name, "read");  // no name: the role stands in
  EXPECT_TRUE(r->authenticated);
  auto o = on.authenticate("o-tok");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->name, "bob");
  EXPECT_EQ(on.authenticate("").error().message, "missing token (Authorization: Bearer <token>)");
  EXPECT_EQ(on.authenticate("x-tok").error().message, "unknown token");
}

TEST(Auth, OptionsFromTokensAndTokenFile) {
  TempDir dir;
  const std::string file = dir.write("tokens", "operate file-tok carol\n");
  auto o = options_from_yaml(
      "http:\n  tokens:\n    - {token: r-tok, role: read, name: grafana}\n"
      "    - token: a-tok\n      role: admin\n  token_file: " +
      file + "\n  metrics_public: true\n");
  ASSERT_TRUE(o.ok()) << o.error().message;
  ASSERT_EQ(o->tokens.size(), 3u);
  EXPECT_EQ(o->tokens[0].token, "r-tok");
  EXPECT_EQ(o->tokens[0].name, "grafana");
  EXPECT_EQ(o->tokens[1].role, Role::kAdmin);
  EXPECT_EQ(o->tokens[1].name, "");
  EXPECT_EQ(o->tokens[2].token, "file-tok");
  EXPECT_EQ(o->tokens[2].role, Role::kOperate);
  EXPECT_EQ(o->tokens[2].name, "carol");
  EXPECT_TRUE(o->metrics_public);
  EXPECT_EQ(o->live_buffer, 1024);

  auto bad_role = options_from_yaml("http:\n  tokens:\n    - {token: t, role: root}\n");
  ASSERT_FALSE(bad_role.ok());
  EXPECT_EQ(bad_role.error().message,
            "edgeloop.yaml:3:24: http.tokens[0].role: 'root' is not one of: read, operate, admin");
  auto typo = options_from_yaml("http:\n  tokens:\n    - {tokn: t}\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().message,
            "edgeloop.yaml:3:14: http.tokens[0]: unknown key 'tokn' (expected one of: token, role, name)");
  auto dup = options_from_yaml("http:\n  tokens: [{token: t, name: a}, {token: t, name: b}]\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message,
            "edgeloop.yaml:2:11: http.tokens: the same token is configured twice (for 'a' and 'b')");
  auto not_list = options_from_yaml("http:\n  tokens: abc\n");
  ASSERT_FALSE(not_list.ok());
  EXPECT_EQ(not_list.error().message, "edgeloop.yaml:2:11: http.tokens: expected a list of {token, role, name}");
  auto no_file = options_from_yaml("http:\n  token_file: /nonexistent/tokens\n");
  ASSERT_FALSE(no_file.ok());
  EXPECT_EQ(no_file.error().message, "edgeloop.yaml:2:15: http.token_file: cannot read token file /nonexistent/tokens");
}

// A server with one route per role, the tokens below, and /metrics behind the read role.
struct AuthServer {
  Metrics metrics;
  ApiServer server;
  explicit AuthServer(bool metrics_public = false) : server(options(metrics_public), metrics, nullptr) {
    auto echo = [](const httplib::Request& req, httplib::Response& res) {
      const Caller& c = caller_of(req);
      res.set_content(c.name + "/" + role_name(c.role), "text/plain");
    };
    server.add_get("/api/v1/thing", echo);
    server.add_post("/api/v1/act", echo);
    server.add_post("/api/v1/admin-only", echo, Role::kAdmin);
    server.add_get("/api/v1/admin-read", echo, Role::kAdmin);
  }
  static ApiOptions options(bool metrics_public) {
    ApiOptions o;
    o.port = 0;
    o.metrics_public = metrics_public;
    o.tokens = {{"r-tok", Role::kRead, "grafana"}, {"o-tok", Role::kOperate, ""}, {"a-tok", Role::kAdmin, "alice"}};
    return o;
  }
  double denied(const char* code) { return metrics.value("edgeloop_api_auth_denied_total", {{"code", code}}); }
};

httplib::Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

TEST(AuthServer, RolesGateRoutes) {
  AuthServer s;
  ASSERT_TRUE(s.server.start().ok());
  httplib::Client cli("127.0.0.1", s.server.port());

  auto none = cli.Get("/api/v1/thing");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer realm=\"edgeloop\"");
  EXPECT_EQ(none->body, R"j({"error":"missing token (Authorization: Bearer <token>)"})j");
  auto unknown = cli.Get("/api/v1/thing", bearer("nope"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 401);
  EXPECT_EQ(unknown->body, R"({"error":"unknown token"})");

  auto read = cli.Get("/api/v1/thing", bearer("r-tok"));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200);
  EXPECT_EQ(read->body, "grafana/read");
  auto read_post = cli.Post("/api/v1/act", bearer("r-tok"), "", "application/json");
  ASSERT_TRUE(read_post);
  EXPECT_EQ(read_post->status, 403);
  EXPECT_EQ(read_post->body, R"({"error":"this needs the operate role; the token has read"})");

  auto operate = cli.Post("/api/v1/act", bearer("o-tok"), "", "application/json");
  ASSERT_TRUE(operate);
  EXPECT_EQ(operate->status, 200);
  EXPECT_EQ(operate->body, "operate/operate");  // no name: the role
  auto operate_admin = cli.Post("/api/v1/admin-only", bearer("o-tok"), "", "application/json");
  ASSERT_TRUE(operate_admin);
  EXPECT_EQ(operate_admin->status, 403);
  EXPECT_EQ(operate_admin->body, R"({"error":"this needs the admin role; the token has operate"})");
  auto operate_admin_get = cli.Get("/api/v1/admin-read", bearer("o-tok"));
  ASSERT_TRUE(operate_admin_get);
  EXPECT_EQ(operate_admin_get->status, 403);

  auto admin = cli.Post("/api/v1/admin-only", bearer("a-tok"), "", "application/json");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 200);
  EXPECT_EQ(admin->body, "alice/admin");
  auto admin_read = cli.Get("/api/v1/thing", bearer("a-tok"));  // higher roles pass lower gates
  ASSERT_TRUE(admin_read);
  EXPECT_EQ(admin_read->body, "alice/admin");

  // EventSource cannot set headers: ?token= does the same.
  auto by_query = cli.Get("/api/v1/thing?token=r-tok");
  ASSERT_TRUE(by_query);
  EXPECT_EQ(by_query->status, 200);
  EXPECT_EQ(by_query->body, "grafana/read");
  auto lower_scheme = cli.Get("/api/v1/thing", {{"Authorization", "bearer r-tok"}});
  ASSERT_TRUE(lower_scheme);
  EXPECT_EQ(lower_scheme->status, 200);
  auto basic = cli.Get("/api/v1/thing", {{"Authorization", "Basic r-tok"}});  // not a bearer token
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 401);

  EXPECT_EQ(s.denied("401"), 3.0);
  EXPECT_EQ(s.denied("403"), 3.0);
}

TEST(AuthServer, WhoamiAndProbes) {
  AuthServer s;
  ASSERT_TRUE(s.server.start().ok());
  httplib::Client cli("127.0.0.1", s.server.port());
  auto who = cli.Get("/api/v1/whoami", bearer("o-tok"));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->status, 200);
  EXPECT_EQ(nlohmann::json::parse(who->body),
            nlohmann::json({{"role", "operate"}, {"name", "operate"}, {"authenticated", true}}));
  auto who_none = cli.Get("/api/v1/whoami");
  ASSERT_TRUE(who_none);
  EXPECT_EQ(who_none->status, 401);

  for (const char* path : {"/metrics", "/healthz", "/api/v1/components"}) {
    auto no = cli.Get(path);
    ASSERT_TRUE(no) << path;
    EXPECT_EQ(no->status, 401) << path;
    auto yes = cli.Get(path, bearer("r-tok"));
    ASSERT_TRUE(yes) << path;
    EXPECT_EQ(yes->status, 200) << path;
  }
}

TEST(AuthServer, MetricsPublic) {
  AuthServer s(/*metrics_public=*/true);
  ASSERT_TRUE(s.server.start().ok());
  httplib::Client cli("127.0.0.1", s.server.port());
  auto metrics = cli.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  auto health = cli.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto components = cli.Get("/api/v1/components");  // not a probe: still needs a token
  ASSERT_TRUE(components);
  EXPECT_EQ(components->status, 401);
  auto thing = cli.Get("/api/v1/thing");
  ASSERT_TRUE(thing);
  EXPECT_EQ(thing->status, 401);
}

TEST(AuthServer, PublicGetNeedsNoToken) {
  AuthServer s;
  s.server.add_public_get("/app.js", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(caller_of(req).name, "text/javascript");  // not authenticated: anonymous
  });
  ASSERT_TRUE(s.server.start().ok());
  httplib::Client cli("127.0.0.1", s.server.port());
  auto js = cli.Get("/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->body, "anonymous");
  auto post = cli.Post("/app.js", "", "text/plain");  // only the GET is public
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 404);
}

TEST(AuthServer, OpenWithoutTokens) {
  Metrics metrics;
  ApiOptions o;
  o.port = 0;
  ApiServer server(o, metrics, nullptr);
  server.add_post(
      "/api/v1/act",
      [](const httplib::Request& req, httplib::Response& res) { res.set_content(caller_of(req).name, "text/plain"); },
      Role::kAdmin);
  ASSERT_TRUE(server.start().ok());
  httplib::Client cli("127.0.0.1", server.port());
  auto act = cli.Post("/api/v1/act", "", "application/json");
  ASSERT_TRUE(act);
  EXPECT_EQ(act->status, 200);
  EXPECT_EQ(act->body, "anonymous");
  auto who = cli.Get("/api/v1/whoami");
  ASSERT_TRUE(who);
  EXPECT_EQ(nlohmann::json::parse(who->body),
            nlohmann::json({{"role", "admin"}, {"name", "anonymous"}, {"authenticated", false}}));
}

}  // namespace
}  // namespace edgeloop
