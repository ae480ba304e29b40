#include "core/key_table.h"

#include <gtest/gtest.h>

namespace edgeloop {

TEST(KeyTable, InternsOncePerName) {
  KeyTable t;
  auto a = t.intern("d0001", "bench/t1/d0001/temp", 0);
  auto b = t.intern("d0002", "bench/t1/d0002/temp", 0);
  auto a2 = t.intern("d0001", "other", 1);
  ASSERT_TRUE(a.ok() && b.ok() && a2.ok());
  EXPECT_EQ(*a, *a2);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(t.name(*b), "d0002");
  EXPECT_EQ(t.entry(*a).topic, "bench/t1/d0001/temp");
  EXPECT_EQ(t.find("d0002"), *b);
  EXPECT_EQ(t.find("nope"), kNoKey);
}

TEST(KeyTable, RefusesPastTheBound) {
  KeyTable t(2);
  EXPECT_TRUE(t.intern("a", "", 0).ok());
  EXPECT_TRUE(t.intern("b", "", 0).ok());
  auto c = t.intern("c", "", 0);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::kTooLarge);
}

TEST(KeyCache, CrossesChunkBoundaries) {
  KeyTable t;
  KeyCache cache(t, 0);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(*cache.intern("k" + std::to_string(i), "t"), static_cast<KeyId>(i));
  EXPECT_EQ(t.name(9999), "k9999");
  EXPECT_EQ(t.size(), 10000u);
}

}  // namespace edgeloop
