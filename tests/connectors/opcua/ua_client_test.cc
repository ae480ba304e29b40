// UaClient against the node-opcua peer: browse, read, write, subscribe.
#include "connectors/opcua/ua_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "opcua_peer.h"

namespace edgeloop::opcua {
namespace {

using test::OpcuaPeer;

NodeId id(const char* s) { return NodeId::parse(s).value(); }

class UaClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto p = OpcuaPeer::start(0, 3, 20);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    peer_ = new OpcuaPeer(std::move(p).value());
  }
  static void TearDownTestSuite() {
    delete peer_;
    peer_ = nullptr;
  }
  ClientConfig config() const {
    ClientConfig c;
    c.endpoint = peer_->endpoint();
    return c;
  }
  static OpcuaPeer* peer_;
};
OpcuaPeer* UaClientTest::peer_ = nullptr;

TEST_F(UaClientTest, BrowseFindsThePlantVariables) {
  UaClient c(config());
  ASSERT_TRUE(c.connect().ok());
  auto objects = c.browse(NodeId::num(85), 2);  // 2 per call: BrowseNext must be followed
  ASSERT_TRUE(objects.ok()) << objects.error().to_string();
  const auto plant = std::find_if(objects->begin(), objects->end(), [](const auto& r) { return r.browse_name.name == "Plant"; });
  ASSERT_NE(plant, objects->end());
  auto vars = c.browse(plant->node.node);
  ASSERT_TRUE(vars.ok()) << vars.error().to_string();
  std::vector<std::string> names;
  for (const auto& r : *vars) names.push_back(r.node.node.to_string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"ns=1;s=Broken", "ns=1;s=Counter", "ns=1;s=Label", "ns=1;s=Pressure",
                                             "ns=1;s=Running", "ns=1;s=Setpoint", "ns=1;s=Temperature"}));
  c.close();
}

TEST_F(UaClientTest, ReadReturnsExactValuesAndTypes) {
  UaClient c(config());
  ASSERT_TRUE(c.connect().ok());
  auto v = c.read({id("ns=1;s=Counter"), id("ns=1;s=Temperature"), id("ns=1;s=Pressure"), id("ns=1;s=Label"),
                   id("ns=1;s=Running"), id("ns=1;s=Broken"), id("ns=1;s=Nope")});
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  const auto& r = *v;
  ASSERT_EQ(r[0].value.type, VariantType::kInt32);
  const int64_t step = r[0].value.i;
  EXPECT_EQ(r[1].value.type, VariantType::kDouble);
  EXPECT_EQ(r[1].value.d, 20 + static_cast<double>(step) / 10);
  EXPECT_EQ(r[2].value.type, VariantType::kFloat);
  EXPECT_EQ(r[2].value.d, static_cast<double>(static_cast<float>(1.5 + static_cast<double>(step))));
  EXPECT_EQ(r[3].value.type, VariantType::kString);
  EXPECT_EQ(r[3].value.text, "step " + std::to_string(step));
  EXPECT_EQ(r[4].value.type, VariantType::kBoolean);
  EXPECT_EQ(r[4].value.i, step % 2);
  EXPECT_EQ(r[5].status, 0x808C0000u);  // BadSensorFailure
  EXPECT_EQ(r[6].status, 0x80340000u);  // BadNodeIdUnknown
  EXPECT_GT(r[0].server_ts, kUnixEpochTicks);
  auto types = c.read({id("ns=1;s=Setpoint"), id("ns=1;s=Counter")}, kAttrDataType);
  ASSERT_TRUE(types.ok());
  EXPECT_EQ((*types)[0].value.text, "i=11");  // Double
  EXPECT_EQ((*types)[1].value.text, "i=6") << status_name((*types)[1].status);  // Int32
}

TEST_F(UaClientTest, WriteReachesTheServer) {
  UaClient c(config());
  ASSERT_TRUE(c.connect().ok());
  auto st = c.write({{id("ns=1;s=Setpoint"), Variant::of_double(73.25)}});
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_EQ((*st)[0], 0u);
  auto back = c.read({id("ns=1;s=Setpoint")});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)[0].value.d, 73.25);
  EXPECT_TRUE(test::wait_until([&] { return peer_->log().find("WRITE Setpoint 73.25") != std::string::npos; },
                               std::chrono::seconds(5)));
  auto wrong = c.write({{id("ns=1;s=Counter"), Variant::of_double(1)}});  // read-only
  ASSERT_TRUE(wrong.ok());
  EXPECT_TRUE(status_is_bad((*wrong)[0]));
}

TEST_F(UaClientTest, UserNameIdentity) {
  ClientConfig good = config();
  good.username = "operator";
  good.password = "secret";
  UaClient c(good);
  Status st = c.connect();
  EXPECT_TRUE(st.ok()) << st.error().to_string();
  ClientConfig bad = config();
  bad.username = "operator";
  bad.password = "wrong";
  UaClient d(bad);
  Status st2 = d.connect();
  ASSERT_FALSE(st2.ok());
  EXPECT_NE(st2.error().message.find("ActivateSession"), std::string::npos) << st2.error().message;
}

TEST_F(UaClientTest, SubscriptionDeliversChangesWithTimestamps) {
  UaClient c(config());
  ASSERT_TRUE(c.connect().ok());
  auto sub = c.create_subscription(50, 600, 10);
  ASSERT_TRUE(sub.ok()) << sub.error().to_string();
  auto items = c.create_monitored_items(sub->id, {{id("ns=1;s=Fast000"), 7, 20, 10}, {id("ns=1;s=Nope"), 8, 20, 10}});
  ASSERT_TRUE(items.ok()) << items.error().to_string();
  EXPECT_EQ((*items)[0].status, 0u);
  EXPECT_EQ((*items)[1].status, 0x80340000u);
  ASSERT_TRUE(c.send_publish().ok());
  ASSERT_TRUE(c.send_publish().ok());
  std::vector<double> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seen.size() < 5 && std::chrono::steady_clock::now() < deadline) {
    auto p = c.next_publish(2000);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    for (const auto& ch : p->changes) {
      EXPECT_EQ(ch.client_handle, 7u);
      EXPECT_GT(ch.value.source_ts, kUnixEpochTicks);
      EXPECT_GT(ch.value.server_ts, kUnixEpochTicks);
      seen.push_back(ch.value.value.d);
    }
    ASSERT_TRUE(c.send_publish().ok());
  }
  ASSERT_GE(seen.size(), 5u);
  for (std::size_t k = 1; k < seen.size(); ++k) EXPECT_GT(seen[k], seen[k - 1]);
  // Other calls while Publish requests are outstanding: their responses are queued.
  auto v = c.read({id("ns=1;s=Setpoint")});
  EXPECT_TRUE(v.ok());
  c.close();
}

}  // namespace
}  // namespace edgeloop::opcua
