#include "api/web_assets.h"

#include <httplib.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "api/http_server.h"

namespace edgeloop {

namespace {

// httplib route patterns are regular expressions: escape the dots of file names.
std::string route_pattern(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '.' || c == '+' || c == '(' || c == ')' || c == '[' || c == ']' || c == '?' || c == '*' || c == '^' ||
        c == '$' || c == '|' || c == '{' || c == '}' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

// "gzip" among the codings of Accept-Encoding, unless refused with q=0.
bool accepts_gzip(const std::string& accept) {
  std::size_t pos = 0;
  while (pos < accept.size()) {
    std::size_t end = accept.find(',', pos);
    if (end == std::string::npos) end = accept.size();
    std::string item = accept.substr(pos, end - pos);
    pos = end + 1;
    const std::size_t b = item.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    item.erase(0, b);
    const std::size_t semi = item.find(';');
    std::string coding = item.substr(0, semi);
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.pop_back();
    if (coding != "gzip" && coding != "*") continue;
    if (semi != std::string::npos) {
      const std::string params = item.substr(semi + 1);
      const std::size_t q = params.find("q=");
      if (q != std::string::npos && std::strtod(params.c_str() + q + 2, nullptr) <= 0.0) continue;
    }
    return true;
  }
  return false;
}

void serve_asset(const WebAsset& asset, const httplib::Request& req, httplib::Response& res) {
  res.set_header("ETag", std::string(asset.etag));
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  const std::string match = req.get_header_value("If-None-Match");
  if (!match.empty() && match.find(asset.etag) != std::string::npos) {
    res.status = 304;
    return;
  }
  // A content provider with a length: httplib sends it as it is (it compresses only bodies set
  // with set_content and chunked providers), so the build's gzip goes out unchanged.
  std::string_view bytes = asset.body;
  res.set_header("Vary", "Accept-Encoding");
  if (!asset.gzip.empty() && accepts_gzip(req.get_header_value("Accept-Encoding"))) {
    bytes = asset.gzip;
    res.set_header("Content-Encoding", "gzip");
  }
  res.set_content_provider(bytes.size(), std::string(asset.content_type),
                           [bytes](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             return sink.write(bytes.data() + offset, std::min(length, bytes.size() - offset));
                           });
}

}  // namespace

const WebAsset* find_web_asset(std::string_view path) {
  for (const WebAsset& a : web_assets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

void register_dashboard_routes(ApiServer& api) {
  for (const WebAsset& a : web_assets()) {
    const WebAsset* asset = &a;
    // Static files hold no data: public, so a page opened without a token can ask for one.
    api.add_public_get(route_pattern(a.path),
                [asset](const httplib::Request& req, httplib::Response& res) { serve_asset(*asset, req, res); });
  }
}

}  // namespace edgeloop
