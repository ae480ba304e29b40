#include "store/time_spec.h"

#include <gtest/gtest.h>

namespace edgeloop::store {
namespace {

constexpr int64_t kNow = 1'732'536'000'000'000'000;  // 2024-11-25T12:00:00Z

int64_t t(const char* text) {
  auto r = parse_time_ns(text, kNow);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : -1;
}

std::string err(const char* text) {
  auto r = parse_time_ns(text, kNow);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.error().message;
}

TEST(TimeSpec, Iso8601) {
  EXPECT_EQ(t("2024-11-25T12:00:00Z"), kNow);
  EXPECT_EQ(t("2024-11-25T12:00:00"), kNow);
  EXPECT_EQ(t("2024-11-25 12:00:00Z"), kNow);
  EXPECT_EQ(t("2024-11-25T12:00Z"), kNow);
  EXPECT_EQ(t("2024-11-25"), kNow - 12 * 3600 * 1'000'000'000LL);
  EXPECT_EQ(t("2024-11-25T12:00:00.25Z"), kNow + 250'000'000);
  EXPECT_EQ(t("2024-11-25T12:00:00.123456789Z"), kNow + 123'456'789);
  EXPECT_EQ(t("2024-11-25T13:00:00+01:00"), kNow);
  EXPECT_EQ(t("2024-11-25T10:30:00-0130"), kNow);
  EXPECT_EQ(t("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(t("2000-03-01T00:00:00Z"), 951'868'800LL * 1'000'000'000);  // after a leap day
}

TEST(TimeSpec, UnixTimes) {
  EXPECT_EQ(t("1732536000s"), kNow);
  EXPECT_EQ(t("1732536000000ms"), kNow);
  EXPECT_EQ(t("1732536000000000us"), kNow);
  EXPECT_EQ(t("1732536000000000000ns"), kNow);
  EXPECT_EQ(t("1732536000000"), kNow);        // bare: ms
  EXPECT_EQ(t("1732536000000000000"), kNow);  // bare: ns
  EXPECT_EQ(t(" 1732536000000 "), kNow);
}

TEST(TimeSpec, Relative) {
  EXPECT_EQ(t("now"), kNow);
  EXPECT_EQ(t("-15m"), kNow - 15 * 60 * 1'000'000'000LL);
  EXPECT_EQ(t("-2h"), kNow - 2 * 3600 * 1'000'000'000LL);
  EXPECT_EQ(t("-7d"), kNow - 7 * 86400 * 1'000'000'000LL);
}

TEST(TimeSpec, ErrorsQuoteTheText) {
  EXPECT_NE(err("1732536000").find("ambiguous"), std::string::npos);
  EXPECT_NE(err("yesterday").find("bad time 'yesterday'"), std::string::npos);
  EXPECT_NE(err("2024-13-01").find("out of range"), std::string::npos);
  EXPECT_NE(err("2024-11-25T25:00").find("out of range"), std::string::npos);
  EXPECT_NE(err("2024-11-25T12:00:00Q").find("unexpected text"), std::string::npos);
  EXPECT_NE(err("17h").find("unknown unit"), std::string::npos);
  EXPECT_NE(err("-15").find("needs a unit"), std::string::npos);
  EXPECT_NE(err("").find("empty"), std::string::npos);
  EXPECT_NE(err("99999999999999999999ns").find("out of range"), std::string::npos);
}

TEST(TimeSpec, FormatsUtc) {
  EXPECT_EQ(format_time_utc(kNow + 5), "2024-11-25T12:00:00.000000005Z");
  EXPECT_EQ(format_time_utc(-1), "1969-12-31T23:59:59.999999999Z");
}

}  // namespace
}  // namespace edgeloop::store
