// NatsClient and JetStreamPublisher against a real nats-server on a free loopback port.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "connectors/nats/jetstream_publisher.h"
#include "connectors/nats/nats_client.h"
#include "nats_server.h"
#include "process.h"

namespace edgeloop {
namespace {

using namespace std::chrono_literals;
using test::wait_until;

NatsConnectConfig connect_to(const std::string& url) {
  NatsConnectConfig c;
  c.servers = {url};
  c.reconnect_wait_ms = 100;
  return c;
}

struct Acks {
  std::mutex mu;
  std::vector<std::pair<std::string, JetStreamAck>> got;
  JetStreamPublisher::Completion completion() {
    return [this](std::string_view id, const JetStreamAck& ack) {
      std::lock_guard lock(mu);
      got.emplace_back(std::string(id), ack);
    };
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return got.size();
  }
};

TEST(NatsUrls, ParsesAList) {
  auto urls = parse_nats_urls(" nats://a:1 ,tls://b:2,");
  ASSERT_TRUE(urls.ok());
  EXPECT_EQ(*urls, (std::vector<std::string>{"nats://a:1", "tls://b:2"}));
  EXPECT_FALSE(parse_nats_urls("").ok());
  EXPECT_FALSE(parse_nats_urls("mqtt://a:1").ok());
}

TEST(NatsClient, ConnectsLateReconnectsAndCountsEpochs) {
  if (!test::nats_server_available()) GTEST_SKIP() << "nats-server not installed";
  test::NatsServer server;
  ASSERT_TRUE(server.prepare().ok());
  std::atomic<int> connected{0}, disconnected{0};
  NatsClient client("test", connect_to(server.url()), {[&] { ++connected; }, [&] { ++disconnected; }});
  ASSERT_TRUE(client.start().ok());  // nothing listens yet: retried in the background
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.health(), Health::kDown);
  ASSERT_TRUE(server.start().ok()) << server.log();
  ASSERT_TRUE(wait_until([&] { return client.connected() && connected.load() == 1; }, 10s));
  EXPECT_EQ(client.health(), Health::kConnected);
  const uint64_t epoch = client.epoch();

  server.stop();
  ASSERT_TRUE(wait_until(
      [&] { return !client.connected() && disconnected.load() == 1 && client.health() == Health::kDown; }, 10s));
  EXPECT_EQ(client.disconnects(), 1u);
  EXPECT_EQ(client.epoch(), epoch);  // not reconnected yet
  ASSERT_TRUE(server.start().ok()) << server.log();
  ASSERT_TRUE(wait_until([&] { return client.connected() && connected.load() == 2; }, 10s));
  EXPECT_EQ(client.epoch(), epoch + 1);  // a new connection, a new epoch
  EXPECT_EQ(client.connects(), 2u);
  EXPECT_EQ(disconnected.load(), 1);
  client.stop();
  EXPECT_FALSE(client.connected());
}

TEST(JetStreamPublisher, CreatesTheStreamAndDeduplicatesById) {
  if (!test::nats_server_available()) GTEST_SKIP() << "nats-server not installed";
  test::NatsServer server;
  ASSERT_TRUE(server.start().ok()) << server.log();
  NatsClient client("test", connect_to(server.url()));
  ASSERT_TRUE(client.start().ok());
  ASSERT_TRUE(wait_until([&] { return client.connected(); }, 10s));
  Acks acks;
  JetStreamPublisher pub(client, acks.completion(), 2000, 100);
  ASSERT_TRUE(pub.start().ok());
  JetStreamStreamConfig stream;
  stream.name = "TEST";
  stream.subjects = {"t.>"};
  stream.duplicate_window_ns = 30'000'000'000;
  ASSERT_TRUE(pub.ensure_stream(stream).ok());
  ASSERT_TRUE(pub.ensure_stream(stream).ok());  // exists: left as it is
  auto state = test::nats_stream_state(server.url(), "TEST");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->duplicate_window_ns, 30'000'000'000);
  EXPECT_EQ(state->replicas, 1);

  ASSERT_TRUE(pub.publish_async("t.a", "one", "gw:1").ok());
  ASSERT_TRUE(pub.publish_async("t.a", "two", "gw:2").ok());
  ASSERT_TRUE(pub.publish_async("t.a", "one again", "gw:1").ok());
  ASSERT_TRUE(wait_until([&] { return acks.size() == 3; }, 10s));
  {
    std::lock_guard lock(acks.mu);
    EXPECT_EQ(acks.got[0].first, "gw:1");
    EXPECT_TRUE(acks.got[0].second.ok);
    EXPECT_FALSE(acks.got[0].second.duplicate);
    EXPECT_EQ(acks.got[0].second.stream_seq, 1u);
    EXPECT_EQ(acks.got[1].second.stream_seq, 2u);
    EXPECT_TRUE(acks.got[2].second.ok);
    EXPECT_TRUE(acks.got[2].second.duplicate);
  }
  auto msgs = test::nats_read_stream(server.url(), "TEST");
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ((*msgs)[0].data, "one");
  EXPECT_EQ((*msgs)[0].msg_id, "gw:1");

  // A subject no stream takes: an error through the completion (no responders), not a hang.
  ASSERT_TRUE(pub.publish_async("other.x", "lost", "gw:3").ok());
  ASSERT_TRUE(wait_until([&] { return acks.size() == 4; }, 10s));
  {
    std::lock_guard lock(acks.mu);
    EXPECT_EQ(acks.got[3].first, "gw:3");
    EXPECT_FALSE(acks.got[3].second.ok);
    EXPECT_FALSE(acks.got[3].second.error.empty());
    EXPECT_FALSE(acks.got[3].second.permanent());
  }
  pub.stop();
  client.stop();
}

TEST(JetStreamPublisher, MissingStreamWithoutCreateIsUnavailable) {
  if (!test::nats_server_available()) GTEST_SKIP() << "nats-server not installed";
  test::NatsServer server;
  ASSERT_TRUE(server.start().ok()) << server.log();
  NatsClient client("test", connect_to(server.url()));
  ASSERT_TRUE(client.start().ok());
  ASSERT_TRUE(wait_until([&] { return client.connected(); }, 10s));
  JetStreamPublisher pub(client, {}, 1000, 10);
  ASSERT_TRUE(pub.start().ok());
  JetStreamStreamConfig stream;
  stream.name = "NOPE";
  stream.create = false;
  Status st = pub.ensure_stream(stream);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::kUnavailable);
  EXPECT_NE(st.error().message.find("does not exist"), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace edgeloop
