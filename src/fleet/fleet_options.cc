#include "fleet/fleet_options.h"

#include <charconv>

namespace edgeloop::fleet {

const OptionTable& FleetOptions::table() {
  static const OptionTable table = {
      {.name = "nats",
       .type = OptionType::kList,
       .default_value = "nats://127.0.0.1:4222",
       .description = "NATS server URLs (a list, or one string separated by commas): the JetStream cluster's nodes "
                      "or a leaf node. libnats picks one and fails over to the others."},
      {.name = "stream",
       .type = OptionType::kString,
       .default_value = "EDGELOOP",
       .description = "The JetStream stream the gateways publish into (subjects `edgeloop.>`)."},
      {.name = "durable",
       .type = OptionType::kString,
       .default_value = "edgeloop-fleet",
       .description = "Name of this fleet's durable pull consumer: where it resumes after a restart. One per fleet "
                      "instance (two instances on one durable would each see part of the events)."},
      {.name = "subject",
       .type = OptionType::kString,
       .default_value = "edgeloop.>",
       .description = "Filter subject of the consumer (`<prefix>.<gateway>.<kind>`)."},
      {.name = "domain",
       .type = OptionType::kString,
       .default_value = "",
       .description = "JetStream domain of the cluster (its `jetstream.domain`), needed only when connecting "
                      "through a leaf node; empty: the JetStream of the servers connected to."},
      {.name = "create_stream",
       .type = OptionType::kBool,
       .default_value = "false",
       .description = "Create the stream when it is missing (file storage, subjects: `subject`, `replicas`, "
                      "`duplicate_window`); an existing stream is left as it is. Off: wait for the stream."},
      {.name = "replicas",
       .type = OptionType::kInt,
       .default_value = "1",
       .description = "Replicas of a stream the fleet creates (3 on a 3-node cluster: one node may fail).",
       .min = 1,
       .max = 5},
      {.name = "duplicate_window",
       .type = OptionType::kDuration,
       .default_value = "2m",
       .description = "De-duplication window (by Nats-Msg-Id) of a stream the fleet creates.",
       .min = 1,
       .max = 604800},
      {.name = "http",
       .type = OptionType::kString,
       .default_value = "127.0.0.1:8090",
       .description = "ADDR:PORT of the HTTP API (/api/v1/fleet/..., /healthz, /metrics); port 0 picks a free one "
                      "(logged). No authentication: keep it on loopback unless the network is trusted."},
      {.name = "state",
       .type = OptionType::kString,
       .default_value = "fleet-state.json",
       .description = "State file: the fleet's state and the last stream sequence applied, written atomically; "
                      "messages are acknowledged only once the state holding them is on disk, so a restart resumes "
                      "from the durable consumer without applying anything twice. `none`: memory only, and every "
                      "start rebuilds the state by replaying the stream from its first message."},
      {.name = "snapshot_interval",
       .type = OptionType::kDuration,
       .default_value = "1s",
       .description = "How often at most the state file is written (each write acknowledges the messages applied "
                      "since the last). Must be under half of `ack_wait`.",
       .min = 0.001,
       .max = 3600},
      {.name = "ack_wait",
       .type = OptionType::kDuration,
       .default_value = "30s",
       .description = "Consumer's ack wait (set when the fleet creates the durable): a message not acknowledged "
                      "within it is delivered again.",
       .min = 1,
       .max = 86400},
      {.name = "max_ack_pending",
       .type = OptionType::kInt,
       .default_value = "20000",
       .description = "Consumer's bound on unacknowledged messages (set when the fleet creates the durable); the "
                      "state file is written early when half of it is pending.",
       .min = 1,
       .max = 10'000'000},
      {.name = "batch",
       .type = OptionType::kInt,
       .default_value = "256",
       .description = "Messages asked for per pull request.",
       .min = 1,
       .max = 10'000},
      {.name = "fetch_wait",
       .type = OptionType::kDuration,
       .default_value = "1s",
       .description = "How long a pull request waits for messages when the stream is idle (also how long a stop "
                      "may wait for the consumer thread).",
       .min = 0.01,
       .max = 60},
      {.name = "dedup_ids",
       .type = OptionType::kInt,
       .default_value = "100000",
       .description = "How many recent event ids are remembered (and saved in the state file) to apply each "
                      "event once; 0: no de-duplication by id.",
       .min = 0,
       .max = 10'000'000},
      {.name = "stale_after",
       .type = OptionType::kDuration,
       .default_value = "5m",
       .description = "A gateway from which nothing arrived for this long is reported `stale: true`; 0: never.",
       .min = 0,
       .max = 31'536'000},
      {.name = "rebuild",
       .type = OptionType::kBool,
       .default_value = "false",
       .description = "At start, discard the state and the durable consumer and rebuild the state by replaying "
                      "everything the stream still holds."},
  };
  return table;
}

std::vector<std::string> split_server_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::size_t start = 0;
    while (start <= item.size()) {
      std::size_t comma = item.find(',', start);
      if (comma == std::string::npos) comma = item.size();
      std::string url = item.substr(start, comma - start);
      while (!url.empty() && (url.front() == ' ' || url.front() == '\t')) url.erase(url.begin());
      while (!url.empty() && (url.back() == ' ' || url.back() == '\t')) url.pop_back();
      if (!url.empty()) out.push_back(std::move(url));
      start = comma + 1;
    }
  }
  return out;
}

Result<std::pair<std::string, int>> parse_listen_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return make_error(Errc::kInvalidArgument, "expected ADDR:PORT (e.g. 127.0.0.1:8090), got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  const std::string p = text.substr(colon + 1);
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535 || host.empty()) {
    return make_error(Errc::kInvalidArgument, "expected ADDR:PORT with a port in 0..65535, got '" + text + "'");
  }
  return std::make_pair(host, port);
}

Result<FleetOptions> FleetOptions::from(const Options& options) {
  FleetOptions o;
  o.servers = split_server_list(options.list("nats"));
  if (o.servers.empty()) return options.error("nats", "no server URL");
  for (const auto& url : o.servers) {
    if (url.find("://") == std::string::npos && url.find(':') == std::string::npos) {
      return options.error("nats", "'" + url + "' is not a URL like nats://host:4222");
    }
  }
  o.stream = options.str("stream");
  if (o.stream.empty() || o.stream.find_first_of(". *>") != std::string::npos) {
    return options.error("stream", "a stream name is not empty and has no '.', ' ', '*' or '>'");
  }
  o.durable = options.str("durable");
  if (o.durable.empty() || o.durable.find_first_of(". *>") != std::string::npos) {
    return options.error("durable", "a durable name is not empty and has no '.', ' ', '*' or '>'");
  }
  o.subject = options.str("subject");
  if (o.subject.empty()) return options.error("subject", "the filter subject is empty");
  o.domain = options.str("domain");
  o.create_stream = options.flag("create_stream");
  o.replicas = static_cast<int>(options.integer("replicas"));
  o.duplicate_window_ns = options.duration_ns("duplicate_window");
  auto listen = parse_listen_address(options.str("http"));
  if (!listen.ok()) return options.error("http", listen.error().message);
  o.http_listen = listen->first;
  o.http_port = listen->second;
  o.state_path = options.str("state");
  if (o.state_path == "none") o.state_path.clear();
  o.snapshot_interval_ns = options.duration_ns("snapshot_interval");
  o.ack_wait_ns = options.duration_ns("ack_wait");
  if (o.snapshot_interval_ns * 2 >= o.ack_wait_ns) {
    return options.error("snapshot_interval", "must be under half of ack_wait, or acknowledgements come too late");
  }
  o.max_ack_pending = options.integer("max_ack_pending");
  o.batch = static_cast<int>(options.integer("batch"));
  o.fetch_wait_ns = options.duration_ns("fetch_wait");
  o.dedup_ids = options.integer("dedup_ids");
  o.stale_after_ns = options.duration_ns("stale_after");
  o.rebuild = options.flag("rebuild");
  return o;
}

Result<FleetOptions> FleetOptions::from_node(const ConfigNode& node, const std::string& path) {
  EDGELOOP_ASSIGN_OR_RETURN(Options options, Options::parse(table(), node, path));
  return from(options);
}

}  // namespace edgeloop::fleet
