// The registered plugins build from config and reject bad options.
#include <gtest/gtest.h>

#include "connectors/sparkplug/builtins.h"

namespace edgeloop {
namespace {

ConfigNode map_of(std::vector<std::pair<std::string, ConfigNode>> entries) {
  ConfigNode m = ConfigNode::map({});
  for (auto& [k, v] : entries) m.set(k, std::move(v));
  return m;
}
ConfigNode s(const std::string& v) { return ConfigNode::scalar(v, {}); }
ConfigNode list(std::vector<std::string> items) {
  ConfigNode l = ConfigNode::sequence({});
  for (auto& i : items) l.push(s(i));
  return l;
}

TEST(SparkplugPlugins, BuildFromConfig) {
  Registry r;
  register_sparkplug(r);
  auto src = r.make_source(map_of({{"type", s("sparkplug")}, {"group", s("plant")}, {"metrics", list({"a", "b"})}}), "sources.spb");
  ASSERT_TRUE(src.ok()) << src.error().message;
  EXPECT_EQ((*src)->schema().names(), (std::vector<std::string>{"a", "b", "stale"}));
  auto long_src = r.make_source(map_of({{"type", s("sparkplug")}}), "sources.spb");
  ASSERT_TRUE(long_src.ok()) << long_src.error().message;
  EXPECT_EQ((*long_src)->schema().names(), (std::vector<std::string>{"value", "stale"}));
  auto node = r.make_action(map_of({{"type", s("sparkplug")}, {"group", s("plant")}, {"node", s("gw1")},
                                    {"fields", list({"score"})}}),
                            "actions.spb");
  ASSERT_TRUE(node.ok()) << node.error().message;
  auto cmd = r.make_action(map_of({{"type", s("sparkplug_command")}, {"group", s("plant")}, {"node", s("n1")},
                                   {"metric", s("setpoint")}, {"datatype", s("Int32")}, {"value", s("mean")}}),
                           "actions.cmd");
  ASSERT_TRUE(cmd.ok()) << cmd.error().message;
}

TEST(SparkplugPlugins, RejectBadOptions) {
  Registry r;
  register_sparkplug(r);
  EXPECT_FALSE(r.make_source(map_of({{"type", s("sparkplug")}, {"group", s("a/b")}}), "s").ok());
  EXPECT_FALSE(r.make_source(map_of({{"type", s("sparkplug")}, {"key", s("{group}/{node}")}}), "s").ok());
  EXPECT_FALSE(r.make_action(map_of({{"type", s("sparkplug")}, {"group", s("plant")}}), "a").ok());  // no node
  auto bad_type = r.make_action(map_of({{"type", s("sparkplug_command")}, {"group", s("plant")}, {"node", s("n1")},
                                        {"metric", s("m")}, {"datatype", s("String")}, {"value", s("1")}}),
                                "a");
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.error().message.find("datatype"), std::string::npos) << bad_type.error().message;
}

}  // namespace
}  // namespace edgeloop
