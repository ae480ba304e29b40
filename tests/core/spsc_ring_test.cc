#include "core/spsc_ring.h"

#include <gtest/gtest.h>

#include <thread>

namespace edgeloop {

TEST(SpscRing, FillsToCapacityThenRefuses) {
  SpscRing<int> ring(4);
  EXPECT_EQ(ring.capacity(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.try_push(i));
  EXPECT_FALSE(ring.try_push(99));
  int v = -1;
  EXPECT_TRUE(ring.try_pop(v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(ring.try_push(4));
  for (int want = 1; want <= 4; ++want) {
    ASSERT_TRUE(ring.try_pop(v));
    EXPECT_EQ(v, want);
  }
  EXPECT_FALSE(ring.try_pop(v));
}

TEST(SpscRing, TwoThreadsPassEveryItemInOrder) {
  SpscRing<uint64_t> ring(64);
  constexpr uint64_t kN = 200000;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kN; ++i)
      while (!ring.try_push(i)) std::this_thread::yield();
  });
  uint64_t expected = 0, v = 0;
  while (expected < kN) {
    if (ring.try_pop(v)) {
      ASSERT_EQ(v, expected);
      ++expected;
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
}

}  // namespace edgeloop
