// The web dashboard, served by the edgeloop binary from bytes embedded at build time
// (web/embed.cmake turns web/src/* and uPlot's built files into a generated table).
#pragma once

#include <span>
#include <string_view>

namespace edgeloop {

class ApiServer;

struct WebAsset {
  // "/" (index.html with every style and script inlined: one response paints the page),
  // "/index.html", "/app.js", "/uplot.iife.min.js", ...
  std::string_view path;
  std::string_view content_type;  // "text/javascript; charset=utf-8", ...
  std::string_view body;
  std::string_view etag;          // quoted, a prefix of the bytes' SHA-256: "\"3f2a...\""
  std::string_view gzip;          // the same bytes gzipped at build time
};

// Every embedded file (generated at build time).
std::span<const WebAsset> web_assets();
// The asset at a URL path; nullptr when there is none.
const WebAsset* find_web_asset(std::string_view path);

// GET / and every asset, before ApiServer::start(). Responses carry the asset's ETag and
// Cache-Control: no-cache (the browser revalidates; an If-None-Match that matches gets 304
// with no body), gzipped at build time for a client that accepts gzip (never compressed per
// request: httplib's brotli costs about a second of CPU for the page). The
// routes need role read like the API (ApiServer has no public route): "/" is the whole
// page, so a browser opening /?token=T needs no other authenticated fetch; the page keeps
// the token and sends it with every API call.
void register_dashboard_routes(ApiServer& api);

}  // namespace edgeloop
