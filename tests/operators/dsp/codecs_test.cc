#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "codecs/binary_codec.h"
#include "codecs/builtins.h"
#include "codecs/json_samples_codec.h"
#include "core/registry.h"
#include "operators/stage_harness.h"

namespace edgeloop {
namespace {

constexpr int64_t kRecv = 42;

std::unique_ptr<JsonSamplesCodec> json(JsonSamplesConfig c = {}) {
  auto r = JsonSamplesCodec::create(std::move(c));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : nullptr;
}

// Decodes and expects an error with `code` whose message contains `text`; nothing appended.
void expect_error(Codec& codec, std::string_view payload, Errc code, const std::string& text) {
  std::vector<Record> out(1);
  Status st = codec.decode(payload, kRecv, out);
  ASSERT_FALSE(st.ok()) << "decoded: " << payload.substr(0, 80);
  EXPECT_EQ(out.size(), 1u) << "appended on error";
  EXPECT_EQ(st.error().code, code) << st.error().message;
  EXPECT_NE(st.error().message.find(text), std::string::npos) << st.error().message;
}

TEST(JsonSamplesCodec, DecodesABareArrayAtTheConfiguredRate) {
  JsonSamplesConfig c;
  c.sample_rate_hz = 25600;
  auto codec = json(c);
  std::vector<Record> out;
  ASSERT_TRUE(codec->decode("[0.5, -1.25, 3, 1e-3]", kRecv, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ts_ns, kRecv);
  EXPECT_EQ(out[0].recv_ns, kRecv);
  EXPECT_EQ(out[0].nfields, 0);
  ASSERT_TRUE(out[0].block);
  EXPECT_EQ(out[0].block->sample_rate_hz, 25600.0);
  EXPECT_EQ(out[0].block->samples, (std::vector<float>{0.5f, -1.25f, 3.0f, 1e-3f}));
  EXPECT_EQ(codec->schema().size(), 0u);
}

TEST(JsonSamplesCodec, DecodesAnObjectWithTsRateAndValues) {
  JsonSamplesConfig c;
  c.values = {"rpm"};
  auto codec = json(c);
  ASSERT_EQ(codec->schema().names(), (std::vector<std::string>{"rpm"}));
  std::vector<Record> out;
  ASSERT_TRUE(codec->decode(R"({"ts":1732540000123456789,"extra":{"a":[1,"x"]},"sample_rate":12000,)"
                            R"("rpm":1797,"samples":[1,2,3]})",
                            kRecv, out)
                  .ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ts_ns, 1732540000123456789);
  EXPECT_EQ(out[0].block->sample_rate_hz, 12000.0);
  EXPECT_EQ(out[0].block->samples, (std::vector<float>{1, 2, 3}));
  ASSERT_EQ(out[0].nfields, 1);
  EXPECT_EQ(out[0].f[0], 1797.0);
  // Seconds with a fraction, and the config's rate when the payload has none.
  JsonSamplesConfig d;
  d.sample_rate_hz = 100;
  auto plain = json(d);
  out.clear();
  ASSERT_TRUE(plain->decode(R"({"samples":[4],"ts":1732540000.5})", kRecv, out).ok());
  EXPECT_EQ(out[0].ts_ns, 1732540000500000000);
  EXPECT_EQ(out[0].block->sample_rate_hz, 100.0);
  // No ts member: the receive time.
  out.clear();
  ASSERT_TRUE(plain->decode(R"({"samples":[4]})", kRecv, out).ok());
  EXPECT_EQ(out[0].ts_ns, kRecv);
}

TEST(JsonSamplesCodec, ErrorsAreClear) {
  JsonSamplesConfig c;
  c.sample_rate_hz = 1000;
  c.max_samples = 4;
  c.max_payload = 200;
  auto codec = json(c);
  expect_error(*codec, "", Errc::kParse, "empty payload");
  expect_error(*codec, "[1, 2", Errc::kParse, "malformed JSON");
  expect_error(*codec, "[1, 2] x", Errc::kParse, "malformed JSON");
  expect_error(*codec, R"({"samples":[1]} {})", Errc::kParse, "unexpected content");
  expect_error(*codec, "[1, \"2\"]", Errc::kTypeMismatch, "sample 1 is a string, expected a number");
  expect_error(*codec, "[1, null]", Errc::kTypeMismatch, "sample 1 is null");
  expect_error(*codec, "[]", Errc::kInvalidArgument, "no samples");
  expect_error(*codec, "[1, 2, 3, 4, 5]", Errc::kTooLarge, "max_samples");
  expect_error(*codec, std::string(201, ' '), Errc::kTooLarge, "max_payload");
  expect_error(*codec, "\"hello\"", Errc::kTypeMismatch, "payload is a string");
  expect_error(*codec, R"({"ts":1})", Errc::kNotFound, "missing field 'samples'");
  expect_error(*codec, R"({"samples":{"a":1}})", Errc::kTypeMismatch, "field 'samples' is an object");
  expect_error(*codec, R"({"samples":[1],"sample_rate":-5})", Errc::kInvalidArgument, "not a positive number");
  expect_error(*codec, R"({"samples":[1],"sample_rate":"fast"})", Errc::kTypeMismatch, "field 'sample_rate' is a string");
  expect_error(*codec, R"({"samples":[1],"ts":true})", Errc::kTypeMismatch, "field 'ts' is a boolean");
  auto no_rate = json();
  expect_error(*no_rate, "[1, 2]", Errc::kNotFound, "no sample rate");
  JsonSamplesConfig v;
  v.sample_rate_hz = 1;
  v.values = {"rpm"};
  auto with_values = json(v);
  expect_error(*with_values, R"({"samples":[1]})", Errc::kNotFound, "missing field 'rpm'");
  expect_error(*with_values, "[1]", Errc::kNotFound, "bare array");
}

TEST(JsonSamplesCodec, ConfigErrors) {
  JsonSamplesConfig c;
  c.values = {"a", "a"};
  EXPECT_FALSE(JsonSamplesCodec::create(c).ok());
  c.values = {"samples"};
  EXPECT_FALSE(JsonSamplesCodec::create(c).ok());
  c.values = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q"};
  EXPECT_FALSE(JsonSamplesCodec::create(c).ok());
}

std::string f32_payload(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());  // x86 and ARM are little-endian
  return s;
}

std::unique_ptr<BinaryCodec> binary(BinaryCodecConfig c) {
  auto r = BinaryCodec::create(c);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : nullptr;
}

TEST(BinaryCodec, DecodesFloat32AndInt16) {
  BinaryCodecConfig c;
  c.sample_rate_hz = 51200;
  auto f32 = binary(c);
  std::vector<Record> out;
  ASSERT_TRUE(f32->decode(f32_payload({1.5f, -2.0f, 0.25f}), kRecv, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].block->samples, (std::vector<float>{1.5f, -2.0f, 0.25f}));
  EXPECT_EQ(out[0].block->sample_rate_hz, 51200.0);
  EXPECT_EQ(out[0].ts_ns, kRecv);
  EXPECT_EQ(out[0].nfields, 0);

  c.format = SampleFormat::kI16;
  c.scale = 1.0 / 32768;
  c.ts_header = true;
  auto i16 = binary(c);
  const int64_t ts = 1732540000123456789;
  std::string p(8, '\0');
  std::memcpy(p.data(), &ts, 8);
  const int16_t s[] = {16384, -32768, 1};
  p.append(reinterpret_cast<const char*>(s), sizeof s);
  out.clear();
  ASSERT_TRUE(i16->decode(p, kRecv, out).ok());
  EXPECT_EQ(out[0].ts_ns, ts);
  EXPECT_EQ(out[0].block->samples, (std::vector<float>{0.5f, -1.0f, 1.0f / 32768}));
}

TEST(BinaryCodec, ErrorsAreClear) {
  BinaryCodecConfig c;
  c.sample_rate_hz = 1000;
  c.max_payload = 64;
  auto f32 = binary(c);
  expect_error(*f32, "", Errc::kParse, "empty payload");
  expect_error(*f32, "abcde", Errc::kParse, "5 bytes of samples is not a whole number of 4-byte float32 samples");
  expect_error(*f32, std::string(68, '\0'), Errc::kTooLarge, "max_payload");
  expect_error(*f32, f32_payload({1.0f, std::numeric_limits<float>::quiet_NaN()}), Errc::kParse, "sample 1 is NaN");
  expect_error(*f32, f32_payload({std::numeric_limits<float>::infinity()}), Errc::kParse, "sample 0 is infinite");
  c.format = SampleFormat::kI16;
  c.ts_header = true;
  auto i16 = binary(c);
  expect_error(*i16, "1234", Errc::kParse, "shorter than its 8-byte timestamp header");
  expect_error(*i16, "12345678", Errc::kParse, "no samples after the timestamp header");
  expect_error(*i16, "123456789", Errc::kParse, "not a whole number of 2-byte int16 samples");
  BinaryCodecConfig bad;
  EXPECT_FALSE(BinaryCodec::create(bad).ok());  // no sample rate
}

TEST(SampleCodecs, AreRegisteredWithTheirOptions) {
  Registry reg;
  register_codecs(reg);
  ASSERT_NE(reg.find("codec", "json_samples"), nullptr);
  ASSERT_NE(reg.find("codec", "binary"), nullptr);
  ConfigNode node = testing::options_node({{"type", "binary"}, {"format", "i16le"}, {"sample_rate", "12000"}});
  auto codec = reg.make_codec(node, "sources.s.codec");
  ASSERT_TRUE(codec.ok()) << codec.error().message;
  std::vector<Record> out;
  ASSERT_TRUE((*codec)->decode(std::string("\x01\x00", 2), kRecv, out).ok());
  EXPECT_EQ(out[0].block->samples, (std::vector<float>{1.0f}));
  ConfigNode missing = testing::options_node({{"type", "binary"}});
  auto err = reg.make_codec(missing, "sources.s.codec");
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().message.find("sample_rate"), std::string::npos);
  ConfigNode js = testing::options_node({{"type", "json_samples"}, {"sample_rate", "25600"}, {"values", std::vector<std::string>{"rpm"}}});
  auto j = reg.make_codec(js, "sources.s.codec");
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ((*j)->schema().names(), (std::vector<std::string>{"rpm"}));
}

}  // namespace
}  // namespace edgeloop
