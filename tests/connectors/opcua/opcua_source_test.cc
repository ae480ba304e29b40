// source.opcua against the node-opcua peer (values, Bad status, reconnect after a restart) and
// against a raw TCP fake that answers with malformed frames.
#include "connectors/opcua/opcua_source.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <thread>

#include "fakes.h"
#include "opcua_peer.h"

namespace edgeloop {
namespace {

using test::CollectingDeadLetters;
using test::CollectingOutput;
using test::OpcuaPeer;

OpcuaSourceConfig config_for(const std::string& endpoint) {
  OpcuaSourceConfig c;
  c.client.endpoint = endpoint;
  c.client.timeout_ms = 2000;
  OpcuaGroup g;
  g.key = "line1/fast";
  g.nodes = {{"a", opcua::NodeId::parse("ns=1;s=Fast000").value()}, {"broken", opcua::NodeId::parse("ns=1;s=Broken").value()}};
  c.groups.push_back(g);
  c.sampling_interval_ms = 20;
  c.publishing_interval_ms = 50;
  c.reconnect_min_ms = 50;
  c.reconnect_max_ms = 200;
  return c;
}

TEST(OpcuaSource, ValuesArriveBadStatusIsNaNAndRestartReconnects) {
  auto peer = OpcuaPeer::start(0, 1, 20);
  ASSERT_TRUE(peer.ok()) << peer.error().to_string();
  Metrics metrics;
  KeyTable keys;
  CollectingOutput out;
  CollectingDeadLetters dl;
  // Created after what it reports to: destroyed (and stopped) before them.
  auto src = OpcuaSource::create(config_for(peer->endpoint()));
  ASSERT_TRUE(src.ok());
  SourceContext ctx{"plant", 3, &keys, &out, &dl, &metrics};
  ASSERT_TRUE((*src)->start(ctx).ok());
  EXPECT_EQ((*src)->schema().names(), (std::vector<std::string>{"a", "broken"}));
  ASSERT_TRUE(out.wait_for_count(10, std::chrono::seconds(10)));
  EXPECT_EQ((*src)->health(), Health::kConnected);
  const auto recs = out.records();
  double last = -1;
  for (const Record& r : recs) {
    EXPECT_EQ(keys.name(r.key), "line1/fast");
    EXPECT_EQ(r.source, 3);
    EXPECT_EQ(r.nfields, 2);
    EXPECT_TRUE(std::isnan(r.f[1]));
    EXPECT_GT(r.ts_ns, 1'600'000'000'000'000'000);
    if (!std::isnan(r.f[0])) {
      EXPECT_GT(r.f[0], last);  // every change arrives, in order
      last = r.f[0];
    }
  }
  EXPECT_EQ(metrics.value("edgeloop_opcua_bad_values_total", {{"source", "plant"}}), 1);
  EXPECT_GE(metrics.value("edgeloop_opcua_value_changes_total", {{"source", "plant"}}), 10);

  // Restart the server on the same port: the source reconnects and re-subscribes.
  const int port = peer->port();
  peer->stop();
  ASSERT_TRUE(test::wait_until([&] { return (*src)->health() != Health::kConnected; }, std::chrono::seconds(15)));
  auto again = OpcuaPeer::start(port, 1, 20);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  ASSERT_TRUE(test::wait_until([&] { return (*src)->connects() >= 2; }, std::chrono::seconds(20)));
  const std::size_t before = out.count();
  ASSERT_TRUE(out.wait_for_count(before + 5, std::chrono::seconds(10)));
  EXPECT_EQ((*src)->health(), Health::kConnected);
  (*src)->stop();
  EXPECT_EQ((*src)->health(), Health::kDown);
}

// Accepts connections and answers each first read with `reply`.
class FakeServer {
 public:
  explicit FakeServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) != 1) continue;
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        char buf[4096];
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 2000) == 1 && ::recv(c, buf, sizeof buf, 0) > 0) {
          (void)!::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
          ++served_;
        }
        ::usleep(20000);
        ::close(c);
      }
    });
  }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string endpoint() const { return "opc.tcp://127.0.0.1:" + std::to_string(port_) + "/x"; }
  int served() const { return served_; }

 private:
  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
  std::thread thread_;
};

void expect_dead_letters(const std::string& reply, const std::string& reason_part) {
  FakeServer fake(reply);
  Metrics metrics;
  KeyTable keys;
  CollectingOutput out;
  CollectingDeadLetters dl;
  // Created after what it reports to: destroyed (and stopped) before them.
  auto src = OpcuaSource::create(config_for(fake.endpoint()));
  ASSERT_TRUE(src.ok());
  SourceContext ctx{"bad", 0, &keys, &out, &dl, &metrics};
  ASSERT_TRUE((*src)->start(ctx).ok());
  ASSERT_TRUE(dl.wait_for_count(2, std::chrono::seconds(10)));  // it keeps retrying, and keeps failing cleanly
  (*src)->stop();
  EXPECT_NE(dl.letters()[0].reason.find(reason_part), std::string::npos) << dl.letters()[0].reason;
  EXPECT_EQ(dl.letters()[0].topic, fake.endpoint());
  EXPECT_GE(metrics.value("edgeloop_source_errors_total", {{"source", "bad"}, {"reason", "malformed"}}), 2);
  EXPECT_EQ(out.count(), 0u);
  EXPECT_NE((*src)->health(), Health::kConnected);
}

TEST(OpcuaSource, MalformedFramesAreDeadLetteredNotFatal) {
  expect_dead_letters(std::string("XYZF\x10\x00\x00\x00garbage!", 16), "unknown message type");
  expect_dead_letters(std::string("ACKF\xff\xff\xff\x7f", 8), "chunk size");
  // A valid Acknowledge with a tiny buffer size.
  expect_dead_letters(std::string("ACKF\x1c\x00\x00\x00" "\x00\x00\x00\x00" "\x10\x00\x00\x00" "\x10\x00\x00\x00"
                                  "\x00\x00\x00\x00" "\x00\x00\x00\x00", 28),
                      "malformed Acknowledge");
  // Acknowledge, then an OPN response whose body is cut short.
  std::string ack("ACKF\x1c\x00\x00\x00" "\x00\x00\x00\x00" "\x00\x00\x01\x00" "\x00\x00\x01\x00"
                  "\x00\x00\x00\x00" "\x00\x00\x00\x00", 28);
  std::string opn("OPNF\x00\x00\x00\x00" "\x01\x00\x00\x00" "\x2f\x00\x00\x00" "http://opcfoundation.org/UA/SecurityPolicy#None"
                  "\xff\xff\xff\xff" "\xff\xff\xff\xff" "\x01\x00\x00\x00" "\x01\x00\x00\x00" "\x01\x00\xc1\x01" "\x00\x00",
                  8 + 4 + 4 + 47 + 8 + 8 + 4 + 2);
  opn[4] = static_cast<char>(opn.size());
  expect_dead_letters(ack + opn, "OpenSecureChannel response header: truncated");
}

}  // namespace
}  // namespace edgeloop
