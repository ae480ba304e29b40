// Fuzz target for codec.json: arbitrary bytes must decode or fail cleanly, never crash, and a
// failure must append nothing. Two codecs: the T1 shape (ts + two values, nested) and one that
// takes the receive time with JSON-pointer paths and milliseconds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "codecs/json_codec.h"

namespace {

using edgeloop::JsonCodec;
using edgeloop::JsonCodecConfig;

std::unique_ptr<JsonCodec> make(JsonCodecConfig c) {
  auto r = JsonCodec::create(std::move(c));
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

struct Codecs {
  std::unique_ptr<JsonCodec> t1;
  std::unique_ptr<JsonCodec> pointer;
  Codecs() {
    JsonCodecConfig a;
    a.values = {{"v", "v"}, {"temp", "data.temp"}};
    a.max_payload = 4096;
    t1 = make(a);
    JsonCodecConfig b;
    b.timestamp = "/meta/t";
    b.timestamp_unit = edgeloop::TimestampUnit::kMs;
    b.values = {{"x", "/a~1b"}, {"y", "/c/d/e"}};
    b.max_payload = 2048;
    pointer = make(b);
  }
};

void check(JsonCodec& codec, std::string_view payload) {
  static std::vector<edgeloop::Record> out;
  out.clear();
  out.resize(1);  // what was there must stay
  const auto st = codec.decode(payload, 42, out);
  if (st.ok()) {
    for (std::size_t i = 1; i < out.size(); ++i)
      if (out[i].nfields != 2) std::abort();
  } else if (out.size() != 1 || st.error().message.empty()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Codecs codecs;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  check(*codecs.t1, payload);
  check(*codecs.pointer, payload);
  return 0;
}
