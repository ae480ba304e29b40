#include "core/options.h"

#include <gtest/gtest.h>

namespace edgeloop {
namespace {

Mark at(int line) { return Mark{std::make_shared<std::string>("plant.yaml"), line, 3}; }

ConfigNode map_of(std::vector<std::pair<std::string, std::string>> kv) {
  ConfigNode m = ConfigNode::map(at(1));
  int line = 2;
  for (auto& [k, v] : kv) m.set(k, ConfigNode::scalar(v, at(line++)));
  return m;
}

const OptionTable kTable = {
    {.name = "size", .type = OptionType::kInt, .default_value = "10", .description = "readings", .min = 1, .max = 1e6},
    {.name = "every", .type = OptionType::kDuration, .default_value = "1s", .description = "period"},
    {.name = "mode", .type = OptionType::kString, .default_value = "count", .description = "kind", .choices = {"count", "time"}},
    {.name = "host", .type = OptionType::kString, .description = "broker", .required = true},
};

}  // namespace

TEST(Options, AppliesDefaultsAndParsesTypes) {
  auto o = Options::parse(kTable, map_of({{"host", "127.0.0.1"}, {"every", "250ms"}}), "sources.plant");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->integer("size"), 10);
  EXPECT_EQ(o->duration_ns("every"), 250'000'000);
  EXPECT_EQ(o->str("mode"), "count");
  EXPECT_TRUE(o->has("host"));
  EXPECT_FALSE(o->has("size"));
}

TEST(Options, RejectsUnknownKeyWithFileLineAndChoices) {
  auto o = Options::parse(kTable, map_of({{"host", "h"}, {"sise", "3"}}), "pipelines.t1.steps[0].window");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().message,
            "plant.yaml:3:3: pipelines.t1.steps[0].window: unknown key 'sise' (expected one of: size, every, mode, host)");
}

TEST(Options, NamesTheKeyAndTheExpectation) {
  auto bad_type = Options::parse(kTable, map_of({{"host", "h"}, {"size", "ten"}}), "w");
  ASSERT_FALSE(bad_type.ok());
  EXPECT_EQ(bad_type.error().message, "plant.yaml:3:3: w.size: expected an integer, got 'ten'");
  auto range = Options::parse(kTable, map_of({{"host", "h"}, {"size", "0"}}), "w");
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.error().message.find("w.size: '0' out of range: must be between 1 and 1e+06"), std::string::npos);
  auto choice = Options::parse(kTable, map_of({{"host", "h"}, {"mode", "hop"}}), "w");
  ASSERT_FALSE(choice.ok());
  EXPECT_NE(choice.error().message.find("'hop' is not one of: count, time"), std::string::npos);
  auto missing = Options::parse(kTable, map_of({}), "w");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing required key 'host'"), std::string::npos);
}

TEST(Options, ParsesDurationsAndSizes) {
  EXPECT_EQ(*parse_duration_ns("100us"), 100'000);
  EXPECT_EQ(*parse_duration_ns("1.5s"), 1'500'000'000);
  EXPECT_EQ(*parse_duration_ns("2m"), 120'000'000'000);
  EXPECT_EQ(*parse_duration_ns("3"), 3'000'000'000);
  EXPECT_FALSE(parse_duration_ns("3 parsecs").ok());
  EXPECT_FALSE(parse_duration_ns("-1s").ok());
  EXPECT_EQ(*parse_size_bytes("64KiB"), 65536);
  EXPECT_EQ(*parse_size_bytes("1MB"), 1'000'000);
  EXPECT_FALSE(parse_size_bytes("lots").ok());
}

}  // namespace edgeloop
