// How API responses are compressed. cpp-httplib, as Debian builds it (brotli and zlib), would
// brotli-compress every text and JSON response at quality 11 whenever the client accepts br,
// as browsers do: 2.6-4.8 s of CPU for the 316 KB overview of 1,000 assets, taken from the
// loop's cores. Instead: gzip at level 1 for bodies worth it, nothing for small ones.
#pragma once

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace edgeloop {

// After a handler: compresses res.body with gzip level 1 when it is at least 2 KiB, textual,
// not already encoded and the client accepts gzip, and keeps httplib from compressing it
// again (it drops the request's Accept-Encoding, which only httplib reads after this).
void encode_response(const httplib::Request& req, httplib::Response& res);

}  // namespace edgeloop
