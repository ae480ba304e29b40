#include "api/response_encoding.h"

#include <httplib.h>
#include <zlib.h>

#include <string>

namespace edgeloop {
namespace {

constexpr std::size_t kMinCompressBytes = 2048;

bool textual(const std::string& content_type) {
  return content_type.rfind("text/", 0) == 0 || content_type.rfind("application/json", 0) == 0 ||
         content_type.rfind("application/javascript", 0) == 0 || content_type.rfind("image/svg+xml", 0) == 0;
}

bool gzip_level1(const std::string& in, std::string& out) {
  z_stream zs{};
  // 15 + 16: a gzip wrapper, not a raw zlib stream.
  if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

}  // namespace

void encode_response(const httplib::Request& req, httplib::Response& res) {
  const bool accepts_gzip = req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos;
  // httplib owns the Request as a mutable local and reads Accept-Encoding only after the
  // handler, to pick its own compression: without it, it compresses nothing.
  const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
  if (!accepts_gzip || res.body.size() < kMinCompressBytes || res.has_header("Content-Encoding") ||
      !textual(res.get_header_value("Content-Type")))
    return;
  std::string packed;
  if (!gzip_level1(res.body, packed) || packed.size() >= res.body.size()) return;
  res.body.swap(packed);
  res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept-Encoding");
}

}  // namespace edgeloop
