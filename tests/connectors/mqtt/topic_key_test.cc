#include "connectors/mqtt/topic_key.h"

#include <gtest/gtest.h>

namespace edgeloop {
namespace {

std::string key_of(std::string_view tmpl, std::string_view topic, int* missing_out = nullptr) {
  auto k = TopicKey::compile(tmpl);
  EXPECT_TRUE(k.ok()) << (k.ok() ? "" : k.error().message);
  std::string buf;
  std::string_view key;
  int missing = -2;
  const bool ok = k->render(topic, buf, key, missing);
  if (missing_out) *missing_out = missing;
  return ok ? std::string(key) : "<missing>";
}

TEST(TopicKey, Levels) {
  EXPECT_EQ(key_of("{2}", "bench/t1/d0001/temp"), "d0001");
  EXPECT_EQ(key_of("{1}/{2}", "bench/t1/d0001/temp"), "t1/d0001");
  EXPECT_EQ(key_of("{0}", "bench/t1/d0001/temp"), "bench");
  EXPECT_EQ(key_of("{3}", "bench/t1/d0001/temp"), "temp");
  EXPECT_EQ(key_of("{topic}", "bench/t1/d0001/temp"), "bench/t1/d0001/temp");
  EXPECT_EQ(key_of("dev-{2}:{topic}", "a/b/c"), "dev-c:a/b/c");
  EXPECT_EQ(key_of("{{{2}}}", "a/b/c"), "{c}");
  EXPECT_EQ(key_of("{1}", "/lead/slash"), "lead");
  EXPECT_EQ(key_of("{10}", "0/1/2/3/4/5/6/7/8/9/ten"), "ten");
}

TEST(TopicKey, MissingLevelsAndEmptyKeys) {
  int missing = 0;
  EXPECT_EQ(key_of("{2}", "bench/t1", &missing), "<missing>");
  EXPECT_EQ(missing, 2);
  EXPECT_EQ(key_of("{1}/{5}", "a/b/c", &missing), "<missing>");
  EXPECT_EQ(missing, 5);
  EXPECT_EQ(key_of("{1}", "a//c", &missing), "<missing>");  // an empty level gives no key
  EXPECT_EQ(missing, -1);
  EXPECT_EQ(key_of("{1}", "a/", &missing), "<missing>");
  EXPECT_EQ(missing, -1);
  EXPECT_EQ(key_of("x{1}", "a/", &missing), "x");
}

TEST(TopicKey, CompileErrors) {
  for (const char* bad : {"{x}", "{2", "}", "{64}", "{-1}", "", "{}"}) {
    auto k = TopicKey::compile(bad);
    EXPECT_FALSE(k.ok()) << bad;
  }
  auto k = TopicKey::compile("{name}");
  EXPECT_EQ(k.error().message,
            "key template '{name}' at offset 0: unknown placeholder '{name}' (use {N} for topic level N, 0-based, or {topic})");
}

}  // namespace
}  // namespace edgeloop
