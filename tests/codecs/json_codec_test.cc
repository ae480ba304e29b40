#include "codecs/json_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "codecs/builtins.h"
#include "core/registry.h"

namespace edgeloop {
namespace {

constexpr int64_t kRecv = 42;

std::unique_ptr<JsonCodec> make(JsonCodecConfig c = {}) {
  auto r = JsonCodec::create(std::move(c));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? std::move(r).value() : nullptr;
}

// Decodes and expects an error; checks nothing was appended.
Error decode_error(JsonCodec& codec, std::string_view payload) {
  std::vector<Record> out(1);
  out[0].ts_ns = 7;
  Status st = codec.decode(payload, kRecv, out);
  EXPECT_FALSE(st.ok()) << "decoded: " << payload;
  EXPECT_EQ(out.size(), 1u) << "appended on error: " << payload;
  EXPECT_EQ(out[0].ts_ns, 7);
  return st.ok() ? Error{} : st.error();
}

TEST(JsonCodec, DecodesTheT1PayloadExactly) {
  auto codec = make();
  ASSERT_TRUE(codec);
  ASSERT_EQ(codec->schema().size(), 1u);
  EXPECT_EQ(codec->schema().name(0), "v");
  std::vector<Record> out;
  ASSERT_TRUE(codec->decode(R"({"ts":1732540000123456789,"v":21.5})", kRecv, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ts_ns, 1732540000123456789);  // exact: not through a double
  EXPECT_EQ(out[0].recv_ns, kRecv);
  EXPECT_EQ(out[0].nfields, 1);
  EXPECT_EQ(out[0].f[0], 21.5);
  EXPECT_EQ(out[0].key, kNoKey);
}

TEST(JsonCodec, Int64TimestampsStayExactAtTheEdges) {
  JsonCodecConfig c;
  c.timestamp_unit = TimestampUnit::kNs;
  auto codec = make(c);
  std::vector<Record> out;
  ASSERT_TRUE(codec->decode(R"({"ts":9223372036854775807,"v":1})", kRecv, out).ok());
  ASSERT_TRUE(codec->decode(R"({"ts":-9223372036854775808,"v":1})", kRecv, out).ok());
  ASSERT_TRUE(codec->decode(R"({"ts":1732540000123456787,"v":1})", kRecv, out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].ts_ns, INT64_MAX);
  EXPECT_EQ(out[1].ts_ns, INT64_MIN);
  EXPECT_EQ(out[2].ts_ns, 1732540000123456787);
}

TEST(JsonCodec, FieldOrderAndUnknownFieldsDoNotMatter) {
  auto codec = make();
  std::vector<Record> out;
  ASSERT_TRUE(codec
                  ->decode(R"({"x":[1,{"ts":5}],"v":-1.5e3,"o":{"v":9},"s":"ts","ts":1732540000000000001,"z":null})",
                           kRecv, out)
                  .ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].f[0], -1500.0);
  EXPECT_EQ(out[0].ts_ns, 1732540000000000001);
}

TEST(JsonCodec, DuplicateMembersLastWins) {
  JsonCodecConfig c;
  c.values = {{"b", "a.b"}};
  auto codec = make(c);
  std::vector<Record> out;
  ASSERT_TRUE(codec->decode(R"({"ts":1,"a":{"b":1},"ts":2,"a":{"b":5}})", kRecv, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].f[0], 5.0);
  EXPECT_EQ(out[0].ts_ns, 2'000'000'000);
}

TEST(JsonCodec, EscapedKeysMatchOnceUnescaped) {
  auto codec = make();
  std::vector<Record> out;
  ASSERT_TRUE(codec->decode(R"({"\u0074s":1732540000000000002,"\u0076":3})", kRecv, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ts_ns, 1732540000000000002);
  EXPECT_EQ(out[0].f[0], 3.0);
}

TEST(JsonCodec, IntegerValuesBecomeDoubles) {
  auto codec = make();
  std::vector<Record> out;
  ASSERT_TRUE(codec->decode(R"({"ts":1,"v":12345678901234567890})", kRecv, out).ok());
  ASSERT_TRUE(codec->decode(R"({"ts":1,"v":-7})", kRecv, out).ok());
  ASSERT_TRUE(codec->decode(R"({"ts":1,"v":0.1})", kRecv, out).ok());
  EXPECT_EQ(out[0].f[0], 12345678901234567890.0);
  EXPECT_EQ(out[1].f[0], -7.0);
  EXPECT_EQ(out[2].f[0], 0.1);
}

TEST(JsonCodec, TimestampUnitsByMagnitude) {
  auto codec = make();
  std::vector<Record> out;
  for (const char* p : {R"({"ts":1732540000,"v":0})", R"({"ts":1732540000123,"v":0})", R"({"ts":1732540000123456,"v":0})",
                        R"({"ts":1732540000123456789,"v":0})", R"({"ts":1732540000.5,"v":0})", R"({"ts":1.7325400001234E12,"v":0})",
                        R"({"ts":1732540000.123456789,"v":0})", R"({"ts":-1.5,"v":0})", R"({"ts":1732540000123456.7895,"v":0})",
                        R"({"ts":0.0,"v":0})", R"({"ts":17325400001234567890123e-4,"v":0})"}) {
    ASSERT_TRUE(codec->decode(p, kRecv, out).ok()) << p;
  }
  ASSERT_EQ(out.size(), 11u);
  EXPECT_EQ(out[0].ts_ns, 1732540000000000000);
  EXPECT_EQ(out[1].ts_ns, 1732540000123000000);
  EXPECT_EQ(out[2].ts_ns, 1732540000123456000);
  EXPECT_EQ(out[3].ts_ns, 1732540000123456789);
  EXPECT_EQ(out[4].ts_ns, 1732540000500000000);
  // Decimal fractions are exact, not rounded through a double.
  EXPECT_EQ(out[5].ts_ns, 1732540000123400000);
  EXPECT_EQ(out[6].ts_ns, 1732540000123456789);
  EXPECT_EQ(out[7].ts_ns, -1500000000);
  EXPECT_EQ(out[8].ts_ns, 1732540000123456790);  // us, rounded half away from zero
  EXPECT_EQ(out[9].ts_ns, 0);
  EXPECT_EQ(out[10].ts_ns, 1732540000123456789);  // 23 digits: the first 18 are kept
}

TEST(JsonCodec, ExplicitTimestampUnits) {
  EXPECT_EQ(*timestamp_to_ns(int64_t{5}, TimestampUnit::kNs), 5);
  EXPECT_EQ(*timestamp_to_ns(int64_t{5}, TimestampUnit::kUs), 5'000);
  EXPECT_EQ(*timestamp_to_ns(int64_t{5}, TimestampUnit::kMs), 5'000'000);
  EXPECT_EQ(*timestamp_to_ns(int64_t{5}, TimestampUnit::kS), 5'000'000'000);
  EXPECT_EQ(*timestamp_to_ns(int64_t{-2}, TimestampUnit::kAuto), -2'000'000'000);
  EXPECT_EQ(*timestamp_to_ns(1.25, TimestampUnit::kS), 1'250'000'000);
  EXPECT_EQ(*timestamp_to_ns(1.5, TimestampUnit::kMs), 1'500'000);
  auto big = timestamp_to_ns(int64_t{10'000'000'000'000}, TimestampUnit::kS);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, Errc::kTooLarge);
  EXPECT_EQ(big.error().message, "timestamp 10000000000000 in s is out of the int64 nanosecond range");
  auto dbig = timestamp_to_ns(1e19, TimestampUnit::kNs);
  ASSERT_FALSE(dbig.ok());
  EXPECT_EQ(dbig.error().message, "timestamp 1e+19 is out of the int64 nanosecond range");

  JsonCodecConfig c;
  c.timestamp_unit = TimestampUnit::kMs;
  auto codec = make(c);
  std::vector<Record> out;
  ASSERT_TRUE(codec->decode(R"({"ts":17,"v":0})", kRecv, out).ok());
  EXPECT_EQ(out[0].ts_ns, 17'000'000);
}

TEST(JsonCodec, ReceiveTimeWhenTimestampIsEmpty) {
  JsonCodecConfig c;
  c.timestamp = "";
  auto codec = make(c);
  std::vector<Record> out;
  ASSERT_TRUE(codec->decode(R"({"v":2})", 123456789, out).ok());
  ASSERT_TRUE(codec->decode(R"({"ts":"not used","v":3})", 987, out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].ts_ns, 123456789);
  EXPECT_EQ(out[0].recv_ns, 123456789);
  EXPECT_EQ(out[1].ts_ns, 987);
  EXPECT_EQ(out[1].f[0], 3.0);
}

TEST(JsonCodec, NestedPathsPointersAndNames) {
  JsonCodecConfig c;
  c.timestamp = "/meta/time";
  c.values = {{"temp", "data.temp"}, {"hum", "/data/hum"}, {"a/b", "/x~1y/a~0b"}};
  auto codec = make(c);
  ASSERT_TRUE(codec);
  ASSERT_EQ(codec->schema().size(), 3u);
  EXPECT_EQ(codec->schema().name(0), "temp");
  EXPECT_EQ(codec->schema().name(1), "hum");
  EXPECT_EQ(codec->schema().name(2), "a/b");
  std::vector<Record> out;
  ASSERT_TRUE(
      codec
          ->decode(R"({"data":{"hum":40.25,"x":1,"temp":-3},"x/y":{"a~b":8},"meta":{"time":1732540000123456789}})",
                   kRecv, out)
          .ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].nfields, 3);
  EXPECT_EQ(out[0].f[0], -3.0);
  EXPECT_EQ(out[0].f[1], 40.25);
  EXPECT_EQ(out[0].f[2], 8.0);
  EXPECT_EQ(out[0].ts_ns, 1732540000123456789);
}

TEST(JsonCodec, Batches) {
  auto codec = make();
  std::vector<Record> out(2);  // what is there stays there
  ASSERT_TRUE(codec->decode(R"([{"ts":1732540000000000001,"v":1},{"v":2,"ts":1732540000000000002}, {"ts":1732540000000000003,"v":3}])",
                            kRecv, out)
                  .ok());
  ASSERT_EQ(out.size(), 5u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out[static_cast<std::size_t>(2 + i)].ts_ns, 1732540000000000001 + i);
    EXPECT_EQ(out[static_cast<std::size_t>(2 + i)].f[0], 1.0 + i);
  }
  std::vector<Record> empty;
  ASSERT_TRUE(codec->decode("[]", kRecv, empty).ok());
  EXPECT_TRUE(empty.empty());
}

TEST(JsonCodec, BadBatchElementAppendsNothing) {
  auto codec = make();
  Error e = decode_error(*codec, R"([{"ts":1,"v":1},{"ts":2}])");
  EXPECT_EQ(e.code, Errc::kNotFound);
  EXPECT_EQ(e.message, "batch element 1: missing field 'v'");
  e = decode_error(*codec, R"([{"ts":1,"v":1},{"ts":2,"v":"x"}])");
  EXPECT_EQ(e.code, Errc::kTypeMismatch);
  EXPECT_EQ(e.message, "batch element 1: field 'v' is a string, expected a number");
  e = decode_error(*codec, R"([{"ts":1,"v":1},3])");
  EXPECT_EQ(e.code, Errc::kTypeMismatch);
  EXPECT_EQ(e.message, "batch element 1 is a number, expected an object");
  e = decode_error(*codec, R"([{"ts":1,"v":1},{"ts":2,"v":2})");
  EXPECT_EQ(e.code, Errc::kParse);
  EXPECT_EQ(e.message.rfind("malformed JSON", 0), 0u) << e.message;
}

TEST(JsonCodec, MissingFields) {
  auto codec = make();
  Error e = decode_error(*codec, R"({"ts":1})");
  EXPECT_EQ(e.code, Errc::kNotFound);
  EXPECT_EQ(e.message, "missing field 'v'");
  e = decode_error(*codec, R"({"v":1})");
  EXPECT_EQ(e.code, Errc::kNotFound);
  EXPECT_EQ(e.message, "missing timestamp field 'ts'");
  JsonCodecConfig c;
  c.values = {{"t", "/a/b"}};
  auto nested = make(c);
  e = decode_error(*nested, R"({"ts":1,"a":{"c":1}})");
  EXPECT_EQ(e.message, "missing field 'a.b'");
  e = decode_error(*nested, R"({"ts":1,"a":[1]})");
  EXPECT_EQ(e.code, Errc::kTypeMismatch);
  EXPECT_EQ(e.message, "field 'a' is an array, expected an object");
}

TEST(JsonCodec, WrongTypes) {
  auto codec = make();
  struct Case {
    const char* payload;
    const char* message;
  };
  const Case cases[] = {
      {R"({"ts":1,"v":"21.5"})", "field 'v' is a string, expected a number"},
      {R"({"ts":1,"v":true})", "field 'v' is a boolean, expected a number"},
      {R"({"ts":1,"v":false})", "field 'v' is a boolean, expected a number"},
      {R"({"ts":1,"v":null})", "field 'v' is null, expected a number"},
      {R"({"ts":1,"v":{"x":1}})", "field 'v' is an object, expected a number"},
      {R"({"ts":1,"v":[1]})", "field 'v' is an array, expected a number"},
      {R"({"ts":"2024-11-25T12:00:00Z","v":1})", "timestamp field 'ts' is a string, expected an integer or a number"},
      {R"({"ts":null,"v":1})", "timestamp field 'ts' is null, expected an integer or a number"},
      {R"({"ts":true,"v":1})", "timestamp field 'ts' is a boolean, expected an integer or a number"},
      {R"("hello")", "payload is a string, expected an object or an array of objects"},
      {R"(42)", "payload is a number, expected an object or an array of objects"},
      {R"(null)", "payload is null, expected an object or an array of objects"},
  };
  for (const auto& c : cases) {
    Error e = decode_error(*codec, c.payload);
    EXPECT_EQ(e.code, Errc::kTypeMismatch) << c.payload;
    EXPECT_EQ(e.message, c.message) << c.payload;
  }
}

TEST(JsonCodec, TimestampOutOfRange) {
  auto codec = make();
  Error e = decode_error(*codec, R"({"ts":18446744073709551615,"v":1})");
  EXPECT_EQ(e.code, Errc::kTooLarge);
  EXPECT_EQ(e.message, "timestamp field 'ts' value 18446744073709551615 is out of the int64 range");
  e = decode_error(*codec, R"({"ts":1e300,"v":1})");
  EXPECT_EQ(e.code, Errc::kTooLarge);
  EXPECT_EQ(e.message, "timestamp field 'ts': timestamp 1.0000000000000001e+300 is out of the int64 nanosecond range");
}

TEST(JsonCodec, MalformedSaysWhere) {
  auto codec = make();
  Error e = decode_error(*codec, "");
  EXPECT_EQ(e.code, Errc::kParse);
  EXPECT_EQ(e.message, "malformed JSON: empty payload");
  e = decode_error(*codec, R"({"ts":1,"v":2} {"ts":1,"v":2})");
  EXPECT_EQ(e.code, Errc::kParse);
  EXPECT_EQ(e.message, "malformed JSON: unexpected content after the value at byte 15");
  e = decode_error(*codec, R"([{"ts":1,"v":2}] [])");
  EXPECT_EQ(e.message, "malformed JSON: unexpected content after the value at byte 17");
  // simdjson checks that a document opened with '{' ends with '}' before reading it.
  e = decode_error(*codec, R"({"ts":1,"v":2} x)");
  EXPECT_EQ(e.code, Errc::kParse);
  EXPECT_EQ(e.message, "malformed JSON at byte 0: JSON document ended early in the middle of an object or array.");
  e = decode_error(*codec, R"({"ts":1,"v":1.2.3})");
  EXPECT_EQ(e.code, Errc::kParse);
  EXPECT_NE(e.message.find("malformed JSON at byte"), std::string::npos) << e.message;
  for (const char* p : {R"({"ts":1,"v":)", R"({"ts":1,"v":2)", R"({"ts":1 "v":2})", R"({"ts":1,"v":tru})", R"({"ts:1,"v":2})",
                        "\xff\xfe", R"({"ts":1,"v":2,})", R"(tru)", R"([{"ts":1,"v":2})", "{", "not json", "nul", "12x",
                        R"({"ts":1,"v":nul})", R"({"ts":1,"v":nulll})", R"({"ts":nan,"v":1})", R"({"ts":1,"v":-})",
                        R"({"ts":1,"v":1e999})", "\"unterminated", R"({"ts":1,"v":2}})"}) {
    Error m = decode_error(*codec, p);
    EXPECT_EQ(m.code, Errc::kParse) << p << " -> " << m.to_string();
    EXPECT_EQ(m.message.rfind("malformed JSON", 0), 0u) << m.message;
  }
}

TEST(JsonCodec, TooLarge) {
  JsonCodecConfig c;
  c.max_payload = 32;
  auto codec = make(c);
  std::vector<Record> out;
  ASSERT_TRUE(codec->decode(R"({"ts":1,"v":2})", kRecv, out).ok());
  Error e = decode_error(*codec, R"({"ts":1732540000123456789,"v":21.5})");
  EXPECT_EQ(e.code, Errc::kTooLarge);
  EXPECT_EQ(e.message, "payload of 35 bytes is larger than max_payload (32 bytes)");
}

TEST(JsonCodec, BufferGrowsAndIsReused) {
  auto codec = make();
  std::vector<Record> out;
  std::string big = R"({"pad":")" + std::string(20000, 'x') + R"(","ts":5,"v":6})";
  ASSERT_TRUE(codec->decode(big, kRecv, out).ok());
  ASSERT_TRUE(codec->decode(R"({"ts":7,"v":8})", kRecv, out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].ts_ns, 5'000'000'000);
  EXPECT_EQ(out[1].f[0], 8.0);
}

TEST(JsonCodec, ConfigErrors) {
  auto expect_error = [](JsonCodecConfig c, const std::string& message) {
    auto r = JsonCodec::create(std::move(c));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, message);
  };
  JsonCodecConfig c;
  c.values = {{"v", "a.v"}, {"v", "b.v"}};
  expect_error(c, "value name 'v' appears twice (name one of them: {other_name: b.v})");
  c.values.clear();
  expect_error(c, "at least one value field is needed");
  for (int i = 0; i < 17; ++i) c.values.push_back({"v" + std::to_string(i), "v" + std::to_string(i)});
  expect_error(c, "at most 16 value fields, got 17");
  c.values = {{"a", "a"}, {"b", "a.b"}};
  expect_error(c, "path 'a.b' goes inside 'a', which is itself a field read as a number");
  c.values = {{"b", "a.b"}, {"a", "a"}};
  expect_error(c, "path 'a' is a prefix of another path");
  c.values = {{"x", "ts"}};
  expect_error(c, "path 'ts' is read twice");
  c.values = {{"x", "a..b"}};
  expect_error(c, "field path 'a..b' has an empty segment (use a JSON pointer like /a/b for keys with dots)");
  c.values = {{"x", "/a~2"}};
  expect_error(c, "JSON pointer '/a~2': '~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')");
}

// Options as the config layer gives them.
ConfigNode scalar(const std::string& s) { return ConfigNode::scalar(s, Mark{}); }

TEST(JsonCodecOptions, DefaultsAndShorthandsThroughTheRegistry) {
  Registry reg;
  register_codecs(reg);
  auto codec = reg.make_codec(scalar("json"), "sources.s.codec");
  ASSERT_TRUE(codec.ok()) << codec.error().to_string();
  EXPECT_EQ((*codec)->schema().names(), std::vector<std::string>{"v"});

  ConfigNode node = ConfigNode::map(Mark{});
  node.set("type", scalar("json"));
  node.set("timestamp", scalar("meta.t"));
  node.set("timestamp_unit", scalar("ms"));
  ConfigNode values = ConfigNode::sequence(Mark{});
  values.push(scalar("data.temp"));
  ConfigNode named = ConfigNode::map(Mark{});
  named.set("humidity", scalar("/data/h"));
  values.push(named);
  node.set("values", values);
  node.set("max_payload", scalar("1KiB"));
  auto c2 = reg.make_codec(node, "sources.s.codec");
  ASSERT_TRUE(c2.ok()) << c2.error().to_string();
  EXPECT_EQ((*c2)->schema().names(), (std::vector<std::string>{"temp", "humidity"}));
  std::vector<Record> out;
  ASSERT_TRUE((*c2)->decode(R"({"meta":{"t":1500},"data":{"temp":1,"h":2}})", kRecv, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ts_ns, 1'500'000'000);
  EXPECT_EQ(out[0].f[0], 1.0);
  EXPECT_EQ(out[0].f[1], 2.0);
  auto big = (*c2)->decode(std::string(1025, ' '), kRecv, out);
  EXPECT_EQ(big.error().code, Errc::kTooLarge);
}

TEST(JsonCodecOptions, ValuesAsAMapAndEmptyTimestamp) {
  ConfigNode node = ConfigNode::map(Mark{});
  node.set("timestamp", scalar(""));
  ConfigNode values = ConfigNode::map(Mark{});
  values.set("a", scalar("x.a"));
  values.set("b", scalar("x.b"));
  node.set("values", values);
  auto opts = Options::parse(json_codec_options(), node, "codec");
  ASSERT_TRUE(opts.ok()) << opts.error().to_string();
  auto codec = JsonCodec::from_options(*opts);
  ASSERT_TRUE(codec.ok()) << codec.error().to_string();
  EXPECT_EQ((*codec)->schema().names(), (std::vector<std::string>{"a", "b"}));
  std::vector<Record> out;
  ASSERT_TRUE((*codec)->decode(R"({"x":{"b":2,"a":1}})", 77, out).ok());
  EXPECT_EQ(out[0].ts_ns, 77);
  EXPECT_EQ(out[0].f[0], 1.0);
  EXPECT_EQ(out[0].f[1], 2.0);
}

TEST(JsonCodecOptions, BadOptionsNameTheKey) {
  ConfigNode node = ConfigNode::map(Mark{});
  ConfigNode values = ConfigNode::sequence(Mark{});
  values.push(scalar("a"));
  values.push(scalar("b.a"));
  node.set("values", values);
  auto opts = Options::parse(json_codec_options(), node, "sources.s.codec");
  ASSERT_TRUE(opts.ok());
  auto codec = JsonCodec::from_options(*opts);
  ASSERT_FALSE(codec.ok());
  EXPECT_EQ(codec.error().code, Errc::kInvalidConfig);
  EXPECT_NE(codec.error().message.find("sources.s.codec.values"), std::string::npos) << codec.error().message;
  EXPECT_NE(codec.error().message.find("value name 'a' appears twice"), std::string::npos) << codec.error().message;

  ConfigNode bad_unit = ConfigNode::map(Mark{});
  bad_unit.set("timestamp_unit", scalar("minutes"));
  auto o2 = Options::parse(json_codec_options(), bad_unit, "codec");
  ASSERT_FALSE(o2.ok());
  EXPECT_NE(o2.error().message.find("'minutes' is not one of: auto, ns, us, ms, s"), std::string::npos) << o2.error().message;
}

}  // namespace
}  // namespace edgeloop
