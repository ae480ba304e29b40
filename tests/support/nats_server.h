// Real nats-server processes for integration tests: one JetStream server, or a cluster of N
// JetStream nodes (routes between them) on one machine, each on free loopback ports with its
// own temp store dir; stop, kill (a crash) and restart of one node on the same ports and store.
// Plus a small libnats reader to check what a stream holds (counts, ids, payloads).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "process.h"

namespace edgeloop::test {

inline constexpr const char* kNatsServerPath = "/usr/sbin/nats-server";

// True when /usr/sbin/nats-server exists (tests skip with a message otherwise).
bool nats_server_available();

// One HTTP/1.0 GET to 127.0.0.1:port; the body when the status is 200.
Result<std::string> http_get_local(int port, const std::string& path,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(2));

struct NatsServerConfig {
  std::string name;                // server_name; empty: "n-<client port>"
  bool jetstream = true;
  std::string cluster_name;        // empty: no cluster block
  int cluster_port = 0;            // with cluster_name: the route listen port (0: a free one)
  std::vector<int> route_ports;    // the other nodes' cluster ports
  std::string extra_config;        // more lines for the config file
};

class NatsServer {
 public:
  explicit NatsServer(NatsServerConfig config = {});
  ~NatsServer();  // stops it and removes its directory
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // Picks free ports (first call only; they are kept for restarts), writes the config to a temp
  // dir, and starts nats-server. With wait_ready, waits until the client port accepts
  // connections and GET /healthz answers 200 (JetStream ready; in a cluster this needs a meta
  // leader, so start the other nodes with wait_ready=false first, then wait_ready()).
  Status start(std::chrono::milliseconds timeout = std::chrono::seconds(15), bool wait_ready = true);
  // Waits until /healthz answers 200.
  Status wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // SIGTERM (a clean shutdown: lame duck off, clients see a disconnect); waits for the port to close.
  void stop();
  // SIGKILL (a crash); the store dir stays, so a restart recovers from disk.
  void kill();
  // Stops it if running, then starts it again on the same ports with the same store.
  Status restart(std::chrono::milliseconds timeout = std::chrono::seconds(15), bool wait_ready = true);

  // Assigns ports without starting (a cluster needs every node's ports before the first start).
  Status prepare();
  NatsServerConfig& config() { return config_; }

  bool running() { return process_.running(); }
  pid_t pid() const { return process_.pid(); }
  int port() const { return port_; }
  int monitor_port() const { return monitor_port_; }
  int cluster_port() const { return config_.cluster_port; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  std::string store_dir() const { return dir_ + "/jetstream"; }
  std::string config_path() const { return dir_ + "/nats.conf"; }
  std::string log_path() const { return dir_ + "/nats.log"; }
  std::string log() const;
  // GET on the monitoring port, e.g. "/jsz?streams=true" or "/varz".
  Result<std::string> monitor(const std::string& path) const { return http_get_local(monitor_port_, path); }

 private:
  Status write_config();
  NatsServerConfig config_;
  std::string dir_;
  int port_ = 0;
  int monitor_port_ = 0;
  Process process_;
};

// N JetStream nodes in one cluster (full mesh of routes), on one machine.
class NatsCluster {
 public:
  explicit NatsCluster(int nodes = 3, std::string name = "edgeloop-test");
  ~NatsCluster();
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  // Starts every node, then waits until each answers /healthz (a JetStream meta leader exists).
  Status start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void stop();
  std::size_t size() const { return nodes_.size(); }
  NatsServer& node(std::size_t i) { return *nodes_.at(i); }
  void kill_node(std::size_t i) { node(i).kill(); }
  void stop_node(std::size_t i) { node(i).stop(); }
  // Starts node i again (same ports and store) and waits until it is healthy (caught up).
  Status restart_node(std::size_t i, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // "nats://127.0.0.1:a,nats://127.0.0.1:b,..." (every node, for a client's server list).
  std::string urls() const;
  std::vector<std::string> url_list() const;

 private:
  std::string name_;
  std::vector<std::unique_ptr<NatsServer>> nodes_;
};

// What a stream holds, read with libnats (js_GetStreamInfo + js_GetMsg per sequence).
struct StoredNatsMessage {
  uint64_t seq = 0;
  std::string subject;
  std::string msg_id;  // the Nats-Msg-Id header ("" when absent)
  std::string data;
};

struct NatsStreamState {
  uint64_t messages = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  int replicas = 0;
  int64_t duplicate_window_ns = 0;
};

// `url` may list several servers separated by commas.
Result<NatsStreamState> nats_stream_state(const std::string& url, const std::string& stream);
// Every message of the stream in sequence order (deleted sequences skipped).
Result<std::vector<StoredNatsMessage>> nats_read_stream(const std::string& url, const std::string& stream,
                                                        std::chrono::milliseconds timeout = std::chrono::seconds(60));
// Creates (or updates) a file stream; replicas > 1 needs a cluster.
Status nats_add_stream(const std::string& url, const std::string& stream, const std::vector<std::string>& subjects,
                       int replicas = 1, std::chrono::milliseconds duplicate_window = std::chrono::minutes(2));

}  // namespace edgeloop::test
