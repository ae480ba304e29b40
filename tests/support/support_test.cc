#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <thread>

#include "fakes.h"
#include "mosquitto_broker.h"
#include "process.h"

namespace edgeloop::test {
namespace {

using namespace std::chrono_literals;

TEST(Process, CapturesOutputAndExitStatus) {
  auto dir = make_temp_dir();
  ASSERT_TRUE(dir.ok());
  ProcessOptions po;
  po.log_file = *dir + "/out.log";
  po.env = {"EDGELOOP_TEST_VALUE=42"};
  auto p = Process::start({"/bin/sh", "-c", "echo hello $EDGELOOP_TEST_VALUE; echo oops >&2; exit 3"}, po);
  ASSERT_TRUE(p.ok()) << p.error().message;
  const int status = p->wait(10s);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_FALSE(p->running());
  EXPECT_EQ(read_file(po.log_file), "hello 42\noops\n");
  remove_tree(*dir);
}

TEST(Process, MissingProgramExits127) {
  auto p = Process::start({"/nonexistent/program"});
  ASSERT_TRUE(p.ok());
  const int status = p->wait(10s);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 127);
}

TEST(Process, StopSendsTermToTheGroup) {
  auto p = Process::start({"/bin/sleep", "30"});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->running());
  const int status = p->stop(5s);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_FALSE(p->running());
  EXPECT_EQ(p->stop(), -1);  // idempotent
}

TEST(Process, StopKillsWhatIgnoresTerm) {
  // The trap makes TERM ignored in the shell and in the sleep it starts (in its group).
  auto p = Process::start({"/bin/sh", "-c", "trap '' TERM; /bin/sleep 30; exit 0"});
  ASSERT_TRUE(p.ok());
  std::this_thread::sleep_for(50ms);  // let the shell set its trap
  const auto t0 = std::chrono::steady_clock::now();
  const int status = p->stop(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(Process, DestructorStopsTheChild) {
  pid_t pid = -1;
  {
    auto p = Process::start({"/bin/sleep", "30"});
    ASSERT_TRUE(p.ok());
    pid = p->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // reaped and gone
}

TEST(Ports, FreePortAndWaits) {
  const int port = free_port();
  ASSERT_GT(port, 0);
  EXPECT_FALSE(wait_port_open(port, 30ms));
  EXPECT_TRUE(wait_port_closed(port, 30ms));
  int calls = 0;
  EXPECT_TRUE(wait_until([&] { return ++calls == 3; }, 1s, 1ms));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(wait_until([] { return false; }, 10ms));
}

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!mosquitto_available()) GTEST_SKIP() << "no " << kMosquittoPath;
  }
};

TEST_F(BrokerTest, PublishSubscribeRestartOnTheSamePort) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start().ok()) << broker.log();
  const int port = broker.port();
  EXPECT_TRUE(broker.running());
  {
    MqttTestClient sub, pub;
    ASSERT_TRUE(sub.connect(broker.host(), port).ok());
    ASSERT_TRUE(sub.subscribe("t/#", 1).ok());
    ASSERT_TRUE(pub.connect(broker.host(), port).ok());
    ASSERT_TRUE(pub.publish("t/a", "one", 0).ok());
    ASSERT_TRUE(pub.publish("t/b", "two", 1).ok());
    ASSERT_TRUE(pub.publish("u/c", "not subscribed").ok());
    ASSERT_TRUE(pub.wait_published());
    ASSERT_TRUE(sub.wait_for_count(2));
    auto two = sub.wait_for([](const ReceivedMessage& m) { return m.payload == "two"; });
    ASSERT_TRUE(two.has_value());
    EXPECT_EQ(two->topic, "t/b");
    EXPECT_EQ(two->qos, 1);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(sub.count(), 2u);
  }
  ASSERT_TRUE(broker.restart().ok()) << broker.log();
  EXPECT_EQ(broker.port(), port);
  MqttTestClient again;
  EXPECT_TRUE(again.connect(broker.host(), port).ok());
  again.disconnect();
  broker.kill();
  EXPECT_FALSE(broker.running());
  EXPECT_TRUE(wait_port_closed(port, 1s));
  EXPECT_NE(broker.log().find("mosquitto version"), std::string::npos) << broker.log();
}

TEST_F(BrokerTest, ConnectFailsFastWithoutBroker) {
  MqttTestClient c;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(c.connect("127.0.0.1", free_port(), 2s).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(Fakes, CollectAndWait) {
  CollectingOutput out;
  std::thread t([&] {
    Record r;
    r.ts_ns = 9;
    out.push(std::move(r));
  });
  EXPECT_TRUE(out.wait_for_count(1, 5s));
  t.join();
  EXPECT_EQ(out.records().at(0).ts_ns, 9);
  EXPECT_FALSE(out.wait_for_count(2, 10ms));
  CollectingDeadLetters dl;
  dl.write(DeadLetter{"s", "why", "t", "p", 1});
  EXPECT_EQ(dl.count(), 1u);
  EXPECT_EQ(dl.letters()[0].reason, "why");
}

}  // namespace
}  // namespace edgeloop::test
