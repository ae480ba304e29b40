// The topology of examples/nats, from its own config files (ports rewritten to free ones,
// stores in a temp dir): three JetStream nodes and an R3 stream. The stream leader is killed
// (SIGKILL) in the middle of a publish run: every acknowledged message is in the stream once,
// two fleet consumers (two durables) apply every event once, and the node, restarted, catches
// up. Then a gateway's leaf node (leaf.conf) in front of the cluster.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "fleet/fleet_service.h"
#include "fleet_test_util.h"
#include "nats_server.h"
#include "process.h"

namespace edgeloop::fleet {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using edgeloop::test::Process;
using test::EventSpec;
using test::JsPublisher;

constexpr const char* kStream = "EDGELOOP";

// The example's nodes, started from examples/nats/*.conf with every 127.0.0.1:PORT replaced by
// a free port and EDGELOOP_NATS_STORE_<N> pointing into a temp dir.
class ExampleCluster {
 public:
  struct Node {
    std::string name;  // "a", "b", "c", "leaf"
    std::string conf;
    std::vector<std::string> env;
    int client_port = 0;
    int monitor_port = 0;
    Process process;
  };

  ~ExampleCluster() {
    for (auto& n : nodes_) n.process.stop(std::chrono::seconds(10));
    if (!dir_.empty()) edgeloop::test::remove_tree(dir_);
  }

  Status prepare(const std::vector<std::string>& names) {
    auto dir = edgeloop::test::make_temp_dir("edgeloop-nats-example-");
    if (!dir.ok()) return dir.error();
    dir_ = *dir;
    const std::regex addr(R"(127\.0\.0\.1:(\d+))");
    for (const auto& name : names) {
      const std::string file = name == "leaf" ? "leaf.conf" : "cluster-" + name + ".conf";
      std::string text = edgeloop::test::read_file(std::string(EDGELOOP_SOURCE_DIR) + "/examples/nats/" + file);
      if (text.empty()) return make_error(Errc::kNotFound, "examples/nats/" + file + " is missing or empty");
      std::string out;
      auto begin = std::sregex_iterator(text.begin(), text.end(), addr);
      std::size_t last = 0;
      for (auto it = begin; it != std::sregex_iterator(); ++it) {
        const int port = std::stoi((*it)[1].str());
        if (!ports_.count(port)) {
          int fresh = edgeloop::test::free_port();
          while (used_.count(fresh)) fresh = edgeloop::test::free_port();
          used_.insert(fresh);
          ports_[port] = fresh;
        }
        out += text.substr(last, static_cast<std::size_t>(it->position()) - last);
        out += "127.0.0.1:" + std::to_string(ports_[port]);
        last = static_cast<std::size_t>(it->position() + it->length());
      }
      out += text.substr(last);
      Node n;
      n.name = name;
      n.conf = dir_ + "/" + file;
      std::ofstream(n.conf) << out;
      if (name != "leaf") {
        std::string upper = name;
        for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        n.env.push_back("EDGELOOP_NATS_STORE_" + upper + "=" + dir_ + "/store-" + name);
      }
      // The example's own ports, as its README lists them.
      const int base_client = name == "leaf" ? 4111 : 4222 + (name[0] - 'a');
      const int base_monitor = name == "leaf" ? 8111 : 8222 + (name[0] - 'a');
      if (!ports_.count(base_client) || !ports_.count(base_monitor)) {
        return make_error(Errc::kInvalidConfig, file + " does not listen on 127.0.0.1:" + std::to_string(base_client) +
                                                    " and monitor on 127.0.0.1:" + std::to_string(base_monitor));
      }
      n.client_port = ports_[base_client];
      n.monitor_port = ports_[base_monitor];
      nodes_.push_back(std::move(n));
    }
    return Status::Ok();
  }

  Status start(std::size_t i) {
    Node& n = nodes_.at(i);
    edgeloop::test::ProcessOptions po;
    po.log_file = dir_ + "/" + n.name + ".log";
    po.env = n.env;
    auto p = Process::start({edgeloop::test::kNatsServerPath, "-c", n.conf}, po);
    if (!p.ok()) return p.error();
    n.process = std::move(p).value();
    if (!edgeloop::test::wait_port_open(n.client_port, 10s)) {
      return make_error(Errc::kUnavailable, "node " + n.name + " did not listen: " + log(i));
    }
    return Status::Ok();
  }

  Status wait_healthy(std::size_t i, std::chrono::milliseconds timeout = 30s) {
    const int port = nodes_.at(i).monitor_port;
    if (edgeloop::test::wait_until([&] { return edgeloop::test::http_get_local(port, "/healthz", 500ms).ok(); },
                                   timeout, 20ms)) {
      return Status::Ok();
    }
    return make_error(Errc::kUnavailable, "node " + nodes_.at(i).name + " not healthy: " + log(i));
  }

  void kill(std::size_t i) {
    nodes_.at(i).process.kill();
    edgeloop::test::wait_port_closed(nodes_.at(i).client_port, 2s);
  }

  std::string url(std::size_t i) const { return "nats://127.0.0.1:" + std::to_string(nodes_.at(i).client_port); }
  std::string urls(std::size_t n) const {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += (i ? "," : "") + url(i);
    return out;
  }
  std::vector<std::string> url_list(std::size_t n) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(url(i));
    return out;
  }
  std::string log(std::size_t i) const { return edgeloop::test::read_file(dir_ + "/" + nodes_.at(i).name + ".log"); }
  Node& node(std::size_t i) { return nodes_.at(i); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::map<int, int> ports_;  // the example's port -> the free one used here
  std::set<int> used_;
  std::vector<Node> nodes_;
};

// Creates the R3 stream through `url` (retrying while the cluster elects its meta leader).
Status add_r3_stream(const std::string& url, const std::string& domain, std::chrono::milliseconds timeout) {
  Status last = make_error(Errc::kUnavailable, "not tried");
  const bool ok = edgeloop::test::wait_until(
      [&] {
        natsConnection* nc = nullptr;
        if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) {
          last = make_error(Errc::kUnavailable, "connect " + url);
          return false;
        }
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 5000;
        if (!domain.empty()) jo.Domain = domain.c_str();
        jsCtx* js = nullptr;
        natsConnection_JetStream(&js, nc, &jo);
        const char* subjects[] = {"edgeloop.>"};
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        cfg.Name = kStream;
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Replicas = 3;
        cfg.Duplicates = 120'000'000'000;
        jsStreamInfo* si = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        const natsStatus s = js_AddStream(&si, js, &cfg, nullptr, &jerr);
        if (si) jsStreamInfo_Destroy(si);
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
        if (s == NATS_OK) return true;
        last = make_error(Errc::kUnavailable, std::string("add stream: ") + natsStatus_GetText(s) +
                                                  " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")");
        return false;
      },
      timeout, 200ms);
  return ok ? Status::Ok() : last;
}

// The server name of the stream's leader ("edgeloop-a", ...).
Result<std::string> stream_leader(const std::string& url) {
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) return make_error(Errc::kUnavailable, "connect");
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, nullptr);
  jsStreamInfo* si = nullptr;
  const natsStatus s = js_GetStreamInfo(&si, js, kStream, nullptr, nullptr);
  std::string leader;
  if (s == NATS_OK && si->Cluster && si->Cluster->Leader) leader = si->Cluster->Leader;
  if (si) jsStreamInfo_Destroy(si);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  if (leader.empty()) return make_error(Errc::kUnavailable, "no stream leader");
  return leader;
}

FleetOptions fleet_options(std::vector<std::string> servers, const std::string& durable, const std::string& dir) {
  FleetOptions o;
  o.servers = std::move(servers);
  o.durable = durable;
  o.http_port = 0;
  o.state_path = dir + "/" + durable + ".json";
  o.snapshot_interval_ns = 50'000'000;
  o.ack_wait_ns = 2'000'000'000;
  o.fetch_wait_ns = 200'000'000;
  return o;
}

// Event i of a run: gateways gw-0..2, keys k0..k9, each alert raised then cleared in turns.
EventSpec event(int i) {
  const std::string gw = "gw-" + std::to_string(i % 3);
  return EventSpec{.id = gw + ":" + std::to_string(i),
                   .gateway = gw,
                   .stage = "overheat",
                   .key = "k" + std::to_string(i % 10),
                   .kind = EventKind::kAlert,
                   .state = (i / 10) % 2 == 0 ? AlertState::kRaised : AlertState::kCleared,
                   .ts_ns = i,
                   .fields = {{"i", static_cast<double>(i)}}};
}

std::set<AlertKey> expected_open(int n) {
  std::map<AlertKey, bool> last;
  for (int i = 1; i <= n; ++i) {
    const EventSpec e = event(i);
    last[AlertKey{e.gateway, e.pipeline, e.stage, e.key}] = e.state == AlertState::kRaised;
  }
  std::set<AlertKey> out;
  for (const auto& [k, open] : last)
    if (open) out.insert(k);
  return out;
}

uint64_t events_in_state(const FleetService& svc) {
  const Json j = Json::parse(svc.gateways_json({}), nullptr, false);
  uint64_t n = 0;
  for (const auto& g : j["gateways"]) n += g["events"].get<uint64_t>();
  return n;
}

TEST(NatsClusterExample, R3StreamLosesNothingWhenItsLeaderIsKilledMidStream) {
  if (!edgeloop::test::nats_server_available()) GTEST_SKIP() << "nats-server not installed";
  ExampleCluster cluster;
  ASSERT_TRUE(cluster.prepare({"a", "b", "c"}).ok());
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(cluster.start(i).ok());
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(cluster.wait_healthy(i).ok()) << cluster.log(i);
  auto added = add_r3_stream(cluster.url(0), "", 30s);
  ASSERT_TRUE(added.ok()) << added.error().message;

  // The node to kill: the stream's leader.
  auto leader = stream_leader(cluster.url(0));
  ASSERT_TRUE(leader.ok()) << leader.error().message;
  const std::size_t killed = static_cast<std::size_t>(leader->back() - 'a');  // "edgeloop-b" -> 1
  ASSERT_LT(killed, 3u) << *leader;

  // Two fleets, each with its own durable: each sees every event. fleet-b is given only the
  // node that will be killed: it fails over to the servers it learnt from the cluster.
  Metrics metrics_a, metrics_b;
  FleetService fleet_a(fleet_options(cluster.url_list(3), "fleet-a", cluster.dir()), metrics_a);
  FleetService fleet_b(fleet_options({cluster.url(killed)}, "fleet-b", cluster.dir()), metrics_b);
  ASSERT_TRUE(fleet_a.start().ok());
  ASSERT_TRUE(fleet_b.start().ok());

  JsPublisher pub;
  ASSERT_TRUE(pub.connect(cluster.urls(3)).ok());
  constexpr int kEvents = 300;
  constexpr int kKillAt = 100;
  std::set<std::string> acked;
  int retried = 0;
  std::string leader_at_kill;
  // Both fleets bound to their durables (creating an R3 consumer on a fresh cluster may take
  // a few retries), so that they consume through the kill.
  ASSERT_TRUE(edgeloop::test::wait_until([&] { return fleet_a.subscribed() && fleet_b.subscribed(); }, 60s, 10ms));
  for (int i = 1; i <= kEvents; ++i) {
    if (i == kKillAt) {
      for (auto* m : {&metrics_a, &metrics_b}) {
        ASSERT_TRUE(edgeloop::test::wait_until([&] { return m->value("edgeloop_fleet_applied_total") == kKillAt - 1; },
                                               30s, 5ms));
      }
      auto now = stream_leader(cluster.url(0));
      leader_at_kill = now.ok() ? *now : "?";
      cluster.kill(killed);
    }
    const EventSpec e = event(i);
    auto ack = pub.publish(e);
    ASSERT_TRUE(ack.ok()) << ack.error().message;
    if (ack->attempts > 1) retried++;
    acked.insert(e.id);
  }
  ASSERT_EQ(acked.size(), static_cast<std::size_t>(kEvents));

  // Nothing acknowledged is lost and nothing is stored twice (the retries reused their ids).
  std::vector<std::string> live;
  for (std::size_t i = 0; i < 3; ++i)
    if (i != killed) live.push_back(cluster.url(i));
  auto stored = edgeloop::test::nats_read_stream(live[0] + "," + live[1], kStream);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  std::set<std::string> ids;
  for (const auto& m : *stored) ids.insert(m.msg_id);
  EXPECT_EQ(stored->size(), static_cast<std::size_t>(kEvents));
  EXPECT_EQ(ids, acked);
  std::printf(
      "cluster: %d events acknowledged, %zu stored, %zu unique ids; edgeloop-%c killed at event %d (stream "
      "leader then: %s), %d publishes retried\n",
      kEvents, stored->size(), ids.size(), static_cast<char>('a' + killed), kKillAt, leader_at_kill.c_str(), retried);

  // Both fleets apply every event exactly once.
  const std::set<AlertKey> want = expected_open(kEvents);
  for (auto* pair : {&metrics_a, &metrics_b}) {
    ASSERT_TRUE(
        edgeloop::test::wait_until([&] { return pair->value("edgeloop_fleet_applied_total") == kEvents; }, 60s, 10ms))
        << pair->render_prometheus();
  }
  for (const FleetService* f : {&fleet_a, &fleet_b}) {
    EXPECT_EQ(events_in_state(*f), static_cast<uint64_t>(kEvents));
    const auto open = f->open_alerts();
    EXPECT_EQ(std::set<AlertKey>(open.begin(), open.end()), want);
  }

  // The killed node comes back and catches up from its peers.
  ASSERT_TRUE(cluster.start(killed).ok());
  ASSERT_TRUE(cluster.wait_healthy(killed, 60s).ok()) << cluster.log(killed);
  uint64_t local = 0;
  const bool caught_up = edgeloop::test::wait_until(
      [&] {
        auto jsz = edgeloop::test::http_get_local(cluster.node(killed).monitor_port, "/jsz", 500ms);
        if (!jsz.ok()) return false;
        const Json j = Json::parse(*jsz, nullptr, false);
        local = j.is_object() ? j.value("messages", uint64_t{0}) : 0;
        return local == static_cast<uint64_t>(kEvents);
      },
      60s, 50ms);
  EXPECT_TRUE(caught_up) << "restarted node holds " << local << " messages";

  fleet_a.stop();
  fleet_b.stop();
  EXPECT_EQ(metrics_a.value("edgeloop_fleet_applied_total"), kEvents);
  EXPECT_EQ(metrics_b.value("edgeloop_fleet_applied_total"), kEvents);
  // fleet-b's server was the one killed: it failed over.
  EXPECT_GE(metrics_b.value("edgeloop_fleet_reconnects_total"), 1);
}

TEST(NatsClusterExample, AGatewayPublishesThroughItsLeafNode) {
  if (!edgeloop::test::nats_server_available()) GTEST_SKIP() << "nats-server not installed";
  ExampleCluster cluster;
  ASSERT_TRUE(cluster.prepare({"a", "b", "c", "leaf"}).ok());
  for (std::size_t i = 0; i < 4; ++i) ASSERT_TRUE(cluster.start(i).ok());
  for (std::size_t i = 0; i < 4; ++i) ASSERT_TRUE(cluster.wait_healthy(i).ok()) << cluster.log(i);
  // The JetStream API through the leaf without naming a domain: leaf.conf maps it.
  auto added = add_r3_stream(cluster.url(3), "", 30s);
  ASSERT_TRUE(added.ok()) << added.error().message;

  // One fleet on the cluster, one behind the leaf naming the cluster's domain.
  Metrics metrics_a, metrics_b;
  FleetService fleet_a(fleet_options(cluster.url_list(3), "fleet-a", cluster.dir()), metrics_a);
  FleetOptions behind_leaf = fleet_options({cluster.url(3)}, "fleet-leaf", cluster.dir());
  behind_leaf.domain = "edgeloop";
  FleetService fleet_b(behind_leaf, metrics_b);
  ASSERT_TRUE(fleet_a.start().ok());
  ASSERT_TRUE(fleet_b.start().ok());

  // The gateway publishes through its leaf without a domain: the PubAck comes from the cluster.
  JsPublisher pub;
  ASSERT_TRUE(pub.connect(cluster.url(3)).ok());
  constexpr int kEvents = 50;
  for (int i = 1; i <= kEvents; ++i) {
    auto ack = pub.publish(event(i));
    ASSERT_TRUE(ack.ok()) << ack.error().message;
    EXPECT_EQ(ack->seq, static_cast<uint64_t>(i));
  }
  for (auto* m : {&metrics_a, &metrics_b}) {
    ASSERT_TRUE(
        edgeloop::test::wait_until([&] { return m->value("edgeloop_fleet_acked_total") == kEvents; }, 30s, 10ms))
        << m->render_prometheus();
    EXPECT_EQ(m->value("edgeloop_fleet_applied_total"), kEvents);
  }
  const std::set<AlertKey> want = expected_open(kEvents);
  for (const FleetService* f : {&fleet_a, &fleet_b}) {
    const auto open = f->open_alerts();
    EXPECT_EQ(std::set<AlertKey>(open.begin(), open.end()), want);
  }
  fleet_a.stop();
  fleet_b.stop();
}

}  // namespace
}  // namespace edgeloop::fleet
