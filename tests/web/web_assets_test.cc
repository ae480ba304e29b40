#include "api/web_assets.h"

#include <gtest/gtest.h>

#include <httplib.h>
#include <set>
#include <string>

#include "api/http_server.h"

namespace edgeloop {
namespace {

ApiOptions on_free_port() {
  ApiOptions o;
  o.port = 0;
  return o;
}

TEST(WebAssets, EmbedsThePageUplotAndOurModules) {
  std::set<std::string> paths;
  for (const WebAsset& a : web_assets()) {
    paths.insert(std::string(a.path));
    EXPECT_FALSE(a.body.empty()) << a.path;
    EXPECT_EQ(a.etag.size(), 18U) << a.path;  // '"' + 16 hex + '"'
  }
  for (const char* p : {"/", "/index.html", "/app.js", "/app.css", "/api.js", "/uplot.iife.min.js", "/uplot.min.css"}) {
    EXPECT_EQ(paths.count(p), 1U) << p;
  }
  const WebAsset* root = find_web_asset("/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  // "/" is index.html with everything inlined: uPlot, the styles and the modules.
  EXPECT_NE(root->body.find("var uPlot"), std::string_view::npos);
  EXPECT_NE(root->body.find("function render_overview("), std::string_view::npos);
  EXPECT_NE(root->body.find(".uplot"), std::string_view::npos);
  EXPECT_EQ(root->body.find("src=\"/app.js\""), std::string_view::npos);
  EXPECT_EQ(root->body.find("\nimport "), std::string_view::npos);
  EXPECT_EQ(root->body.find("\nexport "), std::string_view::npos);
  EXPECT_EQ(find_web_asset("/app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(find_web_asset("/nope.js"), nullptr);
}

TEST(WebAssets, ServesWithEtagRevalidationAndCompression) {
  Metrics metrics;
  ApiServer server(on_free_port(), metrics, nullptr);
  register_dashboard_routes(server);
  ASSERT_TRUE(server.start().ok());
  httplib::Client cli("127.0.0.1", server.port());

  auto res = cli.Get("/");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, std::string(find_web_asset("/")->body));
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-cache");
  const std::string etag = res->get_header_value("ETag");
  EXPECT_EQ(etag, std::string(find_web_asset("/")->etag));

  auto again = cli.Get("/", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  auto stale = cli.Get("/", {{"If-None-Match", "\"0000000000000000\""}});
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 200);

  auto js = cli.Get("/uplot.iife.min.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->body, std::string(find_web_asset("/uplot.iife.min.js")->body));

  // Sent compressed to a client that accepts gzip (httplib's client decompresses it).
  httplib::Client gz("127.0.0.1", server.port());
  gz.set_decompress(false);
  auto packed = gz.Get("/", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(packed);
  EXPECT_EQ(packed->status, 200);
  EXPECT_EQ(packed->get_header_value("Content-Encoding"), "gzip");
  EXPECT_LT(packed->body.size(), find_web_asset("/")->body.size() / 2);

  // As a browser asks (br first): the build's gzip, never brotli made per request.
  auto browser = gz.Get("/", {{"Accept-Encoding", "br, gzip, deflate"}});
  ASSERT_TRUE(browser);
  EXPECT_EQ(browser->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(browser->body, std::string(find_web_asset("/")->gzip));
  EXPECT_EQ(browser->get_header_value("Vary"), "Accept-Encoding");
  for (const char* accept : {"br", "identity", "gzip;q=0, br"}) {
    auto plain = gz.Get("/app.js", {{"Accept-Encoding", accept}});
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->status, 200);
    EXPECT_FALSE(plain->has_header("Content-Encoding")) << accept;
    EXPECT_EQ(plain->body, std::string(find_web_asset("/app.js")->body)) << accept;
  }

  auto missing = cli.Get("/nope.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  server.stop();
}

TEST(WebAssets, ThePageIsPublicTheDataNeedsAToken) {
  Metrics metrics;
  ApiOptions o = on_free_port();
  o.tokens = {ApiToken{"s3cret", Role::kRead, "viewer"}};
  ApiServer server(o, metrics, nullptr);
  register_dashboard_routes(server);
  ASSERT_TRUE(server.start().ok());
  httplib::Client cli("127.0.0.1", server.port());
  // The page holds no data: it loads without a token and then asks for one (its API calls
  // answer 401 until it has one).
  auto anonymous = cli.Get("/");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 200);
  auto whoami = cli.Get("/api/v1/whoami");
  ASSERT_TRUE(whoami);
  EXPECT_EQ(whoami->status, 401);
  // The way a browser opens it: ?token= on the page, which the page keeps for its API calls.
  auto page = cli.Get("/?token=s3cret");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, std::string(find_web_asset("/")->body));
  server.stop();
}

}  // namespace
}  // namespace edgeloop
