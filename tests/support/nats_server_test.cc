#include "nats_server.h"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <set>

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;

// Publishes synchronously with a Nats-Msg-Id; returns whether JetStream called it a duplicate.
Result<bool> publish(const std::string& url, const std::string& subject, const std::string& id,
                     const std::string& data) {
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_ConnectTo(&nc, url.c_str());
  if (s != NATS_OK) return make_error(Errc::kUnavailable, natsStatus_GetText(s));
  jsCtx* js = nullptr;
  s = natsConnection_JetStream(&js, nc, nullptr);
  natsMsg* m = nullptr;
  if (s == NATS_OK) s = natsMsg_Create(&m, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", id.c_str());
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (s == NATS_OK) s = js_PublishMsg(&ack, js, m, nullptr, &jerr);
  const bool dup = ack && ack->Duplicate;
  if (ack) jsPubAck_Destroy(ack);
  natsMsg_Destroy(m);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  if (s != NATS_OK) return make_error(Errc::kUnavailable, std::string(natsStatus_GetText(s)) + " jerr " + std::to_string(jerr));
  return dup;
}

TEST(NatsServer, SingleServerJetStreamDedupAndRestart) {
  if (!nats_server_available()) GTEST_SKIP() << "nats-server not installed";
  NatsServer server;
  ASSERT_TRUE(server.start().ok()) << server.log();
  EXPECT_GT(server.port(), 0);
  auto varz = server.monitor("/varz");
  ASSERT_TRUE(varz.ok());
  EXPECT_NE(varz->find("\"server_name\""), std::string::npos);

  ASSERT_TRUE(nats_add_stream(server.url(), "T", {"t.>"}, 1, 1min).ok());
  auto first = publish(server.url(), "t.a", "gw:1", "one");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(*first);
  auto again = publish(server.url(), "t.a", "gw:1", "one");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again);  // same id: stored once
  ASSERT_TRUE(publish(server.url(), "t.b", "gw:2", "two").ok());

  auto state = nats_stream_state(server.url(), "T");
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->messages, 2u);
  EXPECT_EQ(state->duplicate_window_ns, 60'000'000'000);

  // A crash, then a restart on the same port and store: the stream is still there.
  const int port = server.port();
  server.kill();
  EXPECT_FALSE(server.running());
  ASSERT_TRUE(server.start().ok()) << server.log();
  EXPECT_EQ(server.port(), port);
  auto msgs = nats_read_stream(server.url(), "T");
  ASSERT_TRUE(msgs.ok()) << msgs.error().message;
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ((*msgs)[0].msg_id, "gw:1");
  EXPECT_EQ((*msgs)[0].subject, "t.a");
  EXPECT_EQ((*msgs)[0].data, "one");
  EXPECT_EQ((*msgs)[1].msg_id, "gw:2");
  EXPECT_EQ((*msgs)[1].data, "two");
}

TEST(NatsCluster, ThreeNodesR3SurvivesOneNodeKilled) {
  if (!nats_server_available()) GTEST_SKIP() << "nats-server not installed";
  NatsCluster cluster(3);
  ASSERT_TRUE(cluster.start().ok()) << cluster.node(0).log();
  ASSERT_EQ(cluster.size(), 3u);
  Status added = make_error(Errc::kUnavailable, "not tried");
  // Right after the meta leader election the first stream create can time out: retry briefly.
  ASSERT_TRUE(wait_until(
      [&] {
        added = nats_add_stream(cluster.urls(), "R3", {"r3.>"}, 3);
        return added.ok();
      },
      20s, 200ms))
      << added.error().message;

  std::set<std::string> acked;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "gw:" + std::to_string(i);
    auto r = publish(cluster.urls(), "r3.x", id, "m");
    ASSERT_TRUE(r.ok()) << r.error().message;
    acked.insert(id);
  }
  cluster.kill_node(1);
  EXPECT_FALSE(cluster.node(1).running());
  for (int i = 20; i < 40; ++i) {
    const std::string id = "gw:" + std::to_string(i);
    Result<bool> r = false;
    // A publish can fail while the stream elects a new leader; the same id is retried.
    ASSERT_TRUE(wait_until([&] { r = publish(cluster.urls(), "r3.x", id, "m"); return r.ok(); }, 20s, 100ms))
        << r.error().message;
    acked.insert(id);
  }
  ASSERT_TRUE(cluster.restart_node(1).ok()) << cluster.node(1).log();
  auto state = nats_stream_state(cluster.urls(), "R3");
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->replicas, 3);
  EXPECT_EQ(state->messages, 40u);
  auto msgs = nats_read_stream(cluster.urls(), "R3");
  ASSERT_TRUE(msgs.ok()) << msgs.error().message;
  std::set<std::string> stored;
  for (const auto& m : *msgs) stored.insert(m.msg_id);
  EXPECT_EQ(stored, acked);
  EXPECT_EQ(cluster.url_list().size(), 3u);
}

}  // namespace
}  // namespace edgeloop::test
