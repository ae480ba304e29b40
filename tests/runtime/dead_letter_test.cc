#include "runtime/dead_letter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace edgeloop {

TEST(DeadLetterWriter, WritesJsonLinesWithReasonAndTruncatedPayload) {
  const std::string path = ::testing::TempDir() + "/dl-" + std::to_string(getpid()) + ".jsonl";
  std::remove(path.c_str());
  Metrics metrics;
  DeadLetterOptions opt;
  opt.file = path;
  opt.max_payload = 8;
  std::vector<std::string> forwarded;
  {
    DeadLetterWriter w(opt, metrics);
    w.add_output([&](const DeadLetter&, const std::string& json) { forwarded.push_back(json); });
    ASSERT_TRUE(w.start().ok());
    w.write(DeadLetter{"plant", "malformed JSON", "a/b", "{\"v\":\xff oops and more", 42});
    w.write(DeadLetter{"plant", "missing field 'v'", "a/c", "{}", 43});
    w.stop();
    EXPECT_EQ(w.recent().size(), 2u);
  }
  std::ifstream in(path);
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["reason"], "malformed JSON");
  EXPECT_EQ(lines[0]["topic"], "a/b");
  EXPECT_EQ(lines[0]["ts"], 42);
  EXPECT_EQ(lines[1]["payload"], "{}");
  EXPECT_EQ(forwarded.size(), 2u);
  EXPECT_EQ(metrics.value("edgeloop_dead_letters_total"), 2);
  std::remove(path.c_str());
}

TEST(DeadLetterWriter, DropsAndCountsPastItsQueueBound) {
  Metrics metrics;
  DeadLetterOptions opt;
  opt.queue = 1;
  DeadLetterWriter w(opt, metrics);  // not started: nothing drains the queue
  w.write(DeadLetter{"s", "r", "t", "p", 1});
  w.write(DeadLetter{"s", "r", "t", "p", 2});
  EXPECT_EQ(metrics.value("edgeloop_dead_letters_dropped_total"), 1);
}

TEST(DeadLetterOptions, RejectsUnknownKeys) {
  ConfigNode n = ConfigNode::map(Mark{std::make_shared<std::string>("c.yaml"), 3, 1});
  n.set("fiel", ConfigNode::scalar("x", Mark{std::make_shared<std::string>("c.yaml"), 4, 3}));
  auto r = DeadLetterOptions::from(n, "dead_letter");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("c.yaml:4:3: dead_letter: unknown key 'fiel'"), std::string::npos);
}

}  // namespace edgeloop
