#include <gtest/gtest.h>

#include <cmath>

#include "operators/stage_harness.h"

namespace edgeloop {
namespace {

using testing::Collect;
using testing::make_stage;
using testing::options_node;
using testing::rec;

const Schema kAB({"a", "b"});

TEST(Filter, ForwardsOnlyWhatMatches) {
  auto s = make_stage("filter", options_node({{"when", "a > 1 and b != 0"}}), kAB);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*s)->output_schema().names(), kAB.names());
  Collect out;
  (*s)->process(rec(0, 1, {2, 1}), out);
  (*s)->process(rec(0, 2, {1, 1}), out);
  (*s)->process(rec(0, 3, {5, 0}), out);
  (*s)->process(rec(0, 4, {std::nan(""), 1}), out);
  (*s)->process(rec(1, 5, {3, -1}), out);
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(out.records[0].ts_ns, 1);
  EXPECT_EQ(out.records[1].ts_ns, 5);
  EXPECT_EQ(out.records[1].f[1], -1);  // unchanged
  EXPECT_EQ(out.records[1].slot, 1u);
  EXPECT_TRUE(out.events.empty());
}

TEST(Filter, ShorthandAndErrors) {
  auto s = make_stage("filter", ConfigNode::scalar("b < 0", testing::test_mark()), kAB);
  ASSERT_TRUE(s.ok()) << s.error().message;
  Collect out;
  (*s)->process(rec(0, 1, {0, -1}), out);
  EXPECT_EQ(out.records.size(), 1u);
  auto bad = make_stage("filter", options_node({{"when", "c > 1"}}), kAB);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "test.yaml:2:5: pipelines.p.steps[0].filter.when: in 'c > 1' at column 1: unknown field 'c' (fields: a, b)");
  auto missing = make_stage("filter", options_node({}), kAB);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing required key 'when'"), std::string::npos);
}

}  // namespace
}  // namespace edgeloop
