// The body splitting, per-object decoding and keying of source.http, without a server.
#include "connectors/http_ingest/ingest_decoder.h"

#include <gtest/gtest.h>

#include "codecs/json_codec.h"

namespace edgeloop {
namespace {

class DecoderTest : public ::testing::Test {
 protected:
  void make(const std::string& key) {
    JsonCodecConfig c;
    c.timestamp = "ts";
    c.values = {{"v", "v"}};
    auto codec = JsonCodec::create(c);
    ASSERT_TRUE(codec.ok());
    auto k = KeyTemplate::compile(key);
    ASSERT_TRUE(k.ok()) << k.error().message;
    decoder_ = std::make_unique<IngestDecoder>(std::move(codec).value(), std::move(k).value());
    decoder_->bind(keys_, 3, "/ingest");
  }
  std::string key_of(const Record& r) { return keys_.name(r.key); }

  KeyTable keys_{100};
  std::unique_ptr<IngestDecoder> decoder_;
  DecodedBatch batch_;
};

TEST(KeyTemplate, CompilesFieldsLiteralsAndBraces) {
  auto t = KeyTemplate::compile("line1/{meta.id}-{{x}}");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->parts().size(), 3u);
  EXPECT_FALSE(t->parts()[0].field);
  EXPECT_EQ(t->parts()[0].text, "line1/");
  EXPECT_TRUE(t->parts()[1].field);
  EXPECT_EQ(t->parts()[1].text, "/meta/id");
  EXPECT_EQ(t->parts()[2].text, "-{x}");
  EXPECT_FALSE(t->constant());
  EXPECT_TRUE(KeyTemplate::compile("pump-1")->constant());
  EXPECT_EQ(KeyTemplate::compile("{/a~1b}")->parts()[0].text, "/a~1b");
  EXPECT_EQ(json_pointer_of("a/b.c~"), "/a~1b/c~0");
  EXPECT_FALSE(KeyTemplate::compile("{open").ok());
  EXPECT_FALSE(KeyTemplate::compile("a}b").ok());
  EXPECT_FALSE(KeyTemplate::compile("{}").ok());
  EXPECT_FALSE(KeyTemplate::compile("").ok());
}

TEST_F(DecoderTest, OneObject) {
  make("{device}");
  decoder_->decode(R"({"device":"pump-1","ts":1700000000000,"v":2.5})", BodyFormat::kJson, 7, batch_);
  ASSERT_EQ(batch_.records.size(), 1u);
  EXPECT_TRUE(batch_.errors.empty());
  EXPECT_EQ(batch_.items, 1u);
  EXPECT_EQ(key_of(batch_.records[0]), "pump-1");
  EXPECT_EQ(batch_.records[0].ts_ns, 1'700'000'000'000'000'000);
  EXPECT_EQ(batch_.records[0].f[0], 2.5);
  EXPECT_EQ(batch_.records[0].source, 3);
  EXPECT_EQ(batch_.records[0].recv_ns, 7);
  EXPECT_EQ(keys_.entry(batch_.records[0].key).topic, "/ingest");
}

TEST_F(DecoderTest, ArrayWithBadElementsKeepsTheGoodOnes) {
  make("{site}/{id}");
  decoder_->decode(R"([{"site":"a","id":1,"ts":1,"v":1},
                       {"site":"a","id":2,"ts":2},
                       {"site":"a","ts":3,"v":3},
                       7,
                       {"site":"b","id":true,"ts":4,"v":4},
                       {"site":"b","id":9,"ts":5,"v":"x"},
                       {"site":"b","id":10,"ts":6,"v":6}])",
                   BodyFormat::kJson, 0, batch_);
  EXPECT_EQ(batch_.items, 7u);
  ASSERT_EQ(batch_.records.size(), 2u);
  EXPECT_EQ(key_of(batch_.records[0]), "a/1");
  EXPECT_EQ(batch_.records[0].f[0], 1);
  EXPECT_EQ(key_of(batch_.records[1]), "b/10");
  EXPECT_EQ(batch_.records[1].ts_ns, 6'000'000'000);  // seconds by magnitude
  ASSERT_EQ(batch_.errors.size(), 5u);
  EXPECT_EQ(batch_.errors[0].item, 1u);
  EXPECT_EQ(batch_.errors[0].reason, IngestReason::kMissingField);
  EXPECT_EQ(batch_.errors[0].payload, R"({"site":"a","id":2,"ts":2})");
  EXPECT_EQ(batch_.errors[1].item, 2u);
  EXPECT_EQ(batch_.errors[1].reason, IngestReason::kBadKey);
  EXPECT_EQ(batch_.errors[1].message, "missing key field '/id' (key '{site}/{id}')");
  EXPECT_EQ(batch_.errors[2].item, 3u);
  EXPECT_EQ(batch_.errors[2].reason, IngestReason::kWrongType);
  EXPECT_EQ(batch_.errors[2].payload, "7");
  EXPECT_EQ(batch_.errors[3].reason, IngestReason::kBadKey);
  EXPECT_EQ(batch_.errors[3].message, "key field '/id' is a boolean, expected a string or a number");
  EXPECT_EQ(batch_.errors[4].item, 5u);
  EXPECT_EQ(batch_.errors[4].reason, IngestReason::kWrongType);
  EXPECT_EQ(keys_.size(), 2u);  // rejected objects intern nothing
}

TEST_F(DecoderTest, JsonLinesWithMalformedLines) {
  make("{device}");
  decoder_->decode("{\"device\":\"d1\",\"ts\":1,\"v\":10}\r\n"
                   "\n"
                   "{\"device\":\"d2\",\"ts\":2,\"v\":\n"
                   "not json\n"
                   "  {\"device\":\"d1\",\"ts\":3,\"v\":30}  \n"
                   "{\"device\":\"d3\",\"ts\":4,\"v\":40}",
                   BodyFormat::kJsonLines, 0, batch_);
  EXPECT_EQ(batch_.items, 5u);
  ASSERT_EQ(batch_.records.size(), 3u);
  EXPECT_EQ(key_of(batch_.records[0]), "d1");
  EXPECT_EQ(batch_.records[0].f[0], 10);
  EXPECT_EQ(key_of(batch_.records[1]), "d1");
  EXPECT_EQ(batch_.records[1].f[0], 30);
  EXPECT_EQ(key_of(batch_.records[2]), "d3");
  EXPECT_EQ(batch_.records[2].f[0], 40);
  ASSERT_EQ(batch_.errors.size(), 2u);
  EXPECT_EQ(batch_.errors[0].item, 3u);  // 1-based lines
  EXPECT_EQ(batch_.errors[0].reason, IngestReason::kMalformed);
  EXPECT_EQ(batch_.errors[0].payload, "{\"device\":\"d2\",\"ts\":2,\"v\":");
  EXPECT_EQ(batch_.errors[1].item, 4u);
  EXPECT_EQ(batch_.errors[1].payload, "not json");
}

TEST_F(DecoderTest, BrokenArrayIsOneErrorAndNothingAccepted) {
  make("{device}");
  const std::string body = R"([{"device":"d1","ts":1,"v":1}, {"device":"d2","ts":2,"v":)";
  decoder_->decode(body, BodyFormat::kJson, 0, batch_);
  EXPECT_TRUE(batch_.records.empty());
  ASSERT_EQ(batch_.errors.size(), 1u);
  EXPECT_TRUE(batch_.errors[0].whole_body);
  EXPECT_EQ(batch_.errors[0].reason, IngestReason::kMalformed);
  EXPECT_EQ(batch_.errors[0].payload, body);
  EXPECT_EQ(batch_.items, 1u);

  batch_.clear();
  decoder_->decode(R"([{"device":"d1","ts":1,"v":1}] x)", BodyFormat::kJson, 0, batch_);
  EXPECT_TRUE(batch_.records.empty());
  ASSERT_EQ(batch_.errors.size(), 1u);
  EXPECT_TRUE(batch_.errors[0].whole_body);
  EXPECT_EQ(batch_.errors[0].message.rfind("malformed JSON body", 0), 0u) << batch_.errors[0].message;

  batch_.clear();
  decoder_->decode(R"("text")", BodyFormat::kJson, 0, batch_);
  ASSERT_EQ(batch_.errors.size(), 1u);
  EXPECT_EQ(batch_.errors[0].reason, IngestReason::kWrongType);
}

TEST_F(DecoderTest, ConstantKeyAndEmptyArray) {
  make("pump-7");
  decoder_->decode("[]", BodyFormat::kJson, 0, batch_);
  EXPECT_EQ(batch_.items, 0u);
  EXPECT_TRUE(batch_.errors.empty());
  decoder_->decode(R"([{"ts":1,"v":1},{"ts":2,"v":2}])", BodyFormat::kJson, 0, batch_);
  ASSERT_EQ(batch_.records.size(), 2u);
  EXPECT_EQ(key_of(batch_.records[0]), "pump-7");
  EXPECT_EQ(key_of(batch_.records[1]), "pump-7");
}

TEST_F(DecoderTest, KeyTableFullIsKeyLimit) {
  JsonCodecConfig c;
  auto codec = JsonCodec::create(c);
  ASSERT_TRUE(codec.ok());
  KeyTable small(1);
  IngestDecoder d(std::move(codec).value(), *KeyTemplate::compile("{k}"));
  d.bind(small, 0, "/ingest");
  d.decode("{\"k\":\"a\",\"ts\":1,\"v\":1}\n{\"k\":\"b\",\"ts\":1,\"v\":1}\n", BodyFormat::kJsonLines, 0, batch_);
  ASSERT_EQ(batch_.records.size(), 1u);
  ASSERT_EQ(batch_.errors.size(), 1u);
  EXPECT_EQ(batch_.errors[0].reason, IngestReason::kKeyLimit);
}

}  // namespace
}  // namespace edgeloop
