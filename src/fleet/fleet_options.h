// The options of `edgeloop fleet`: a YAML file of these keys (`--config`), with command-line
// flags over it. The table validates both and generates the reference docs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config_node.h"
#include "core/options.h"
#include "core/result.h"

namespace edgeloop::fleet {

struct FleetOptions {
  std::vector<std::string> servers = {"nats://127.0.0.1:4222"};
  std::string stream = "EDGELOOP";
  std::string durable = "edgeloop-fleet";
  std::string subject = "edgeloop.>";
  std::string domain;          // JetStream domain; empty: the one of the server connected to
  bool create_stream = false;  // create the stream (subjects: `subject`) when it is missing
  int replicas = 1;
  int64_t duplicate_window_ns = 120'000'000'000;
  std::string http_listen = "127.0.0.1";
  int http_port = 8090;                         // 0: a free port (logged)
  std::string state_path = "fleet-state.json";  // empty: memory only, rebuilt by replay at start
  int64_t snapshot_interval_ns = 1'000'000'000;
  int64_t ack_wait_ns = 30'000'000'000;
  int64_t max_ack_pending = 20'000;
  int batch = 256;
  int64_t fetch_wait_ns = 1'000'000'000;
  int64_t dedup_ids = 100'000;
  int64_t stale_after_ns = 300'000'000'000;
  bool rebuild = false;

  static const OptionTable& table();
  static Result<FleetOptions> from(const Options& options);
  // Options::parse with table(), then from(): `node` is a map of the table's keys (or null).
  static Result<FleetOptions> from_node(const ConfigNode& node, const std::string& path);
};

// "nats://a:4222,nats://b:4222" and lists of those: one URL per entry, blanks dropped.
std::vector<std::string> split_server_list(const std::vector<std::string>& items);
// "127.0.0.1:8090" -> ("127.0.0.1", 8090); "[::1]:80" -> ("::1", 80).
Result<std::pair<std::string, int>> parse_listen_address(const std::string& text);

}  // namespace edgeloop::fleet
