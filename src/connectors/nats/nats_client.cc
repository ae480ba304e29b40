#include "connectors/nats/nats_client.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <climits>

namespace edgeloop {

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Result<std::vector<std::string>> parse_nats_urls(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    std::string url = trim(text.substr(at, comma - at));
    at = comma + 1;
    if (url.empty()) continue;
    if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0) {
      return make_error(Errc::kInvalidArgument, "'" + url + "' is not a NATS URL (nats://HOST:PORT or tls://HOST:PORT)");
    }
    out.push_back(std::move(url));
  }
  if (out.empty()) return make_error(Errc::kInvalidArgument, "no NATS server URL");
  return out;
}

void add_nats_connect_options(OptionTable& table) {
  table.push_back({"url", OptionType::kString, "nats://127.0.0.1:4222",
                   "NATS server URL, or several separated by commas (a cluster: the client moves to another on "
                   "failure); credentials as nats://USER:PASSWORD@HOST:PORT."});
  table.push_back({"connect_timeout", OptionType::kDuration, "2s", "Timeout of one connection attempt.", false, 0.001, 600});
  table.push_back({"reconnect_wait", OptionType::kDuration, "500ms",
                   "Wait between two rounds of connection attempts over the server list (plus up to 250 ms of random "
                   "jitter); attempts never stop.",
                   false, 0.001, 3600});
  table.push_back({"ping_interval", OptionType::kDuration, "5s",
                   "Client PING interval: a server that stopped answering is given up after two missed PONGs.", false, 0.1,
                   3600});
}

Result<NatsConnectConfig> nats_connect_config(const Options& options) {
  NatsConnectConfig c;
  auto urls = parse_nats_urls(options.str("url"));
  if (!urls.ok()) return options.error("url", urls.error().message);
  c.servers = std::move(urls).value();
  c.connect_timeout_ms = std::max<int64_t>(1, options.duration_ns("connect_timeout") / 1'000'000);
  c.reconnect_wait_ms = std::max<int64_t>(1, options.duration_ns("reconnect_wait") / 1'000'000);
  c.ping_interval_ms = std::max<int64_t>(100, options.duration_ns("ping_interval") / 1'000'000);
  return c;
}

NatsCallbackHook* new_nats_callback_hook(void* owner) {
  // Never destroyed, not even at exit: libnats threads may still call back through a hook
  // while static destructors run. Reachable through these pointers, so no leak report.
  static auto* mu = new std::mutex;
  static auto* hooks = new std::vector<std::unique_ptr<NatsCallbackHook>>;
  auto hook = std::make_unique<NatsCallbackHook>();
  hook->owner = owner;
  std::lock_guard lock(*mu);
  hooks->push_back(std::move(hook));
  return hooks->back().get();
}

void nats_lib_init() {
  static std::once_flag once;
  std::call_once(once, [] { nats_Open(-1); });
}

NatsClient::NatsClient(std::string name, NatsConnectConfig config, Callbacks callbacks)
    : name_(std::move(name)), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

NatsClient::~NatsClient() {
  stop();
  if (stats_) natsStatistics_Destroy(stats_);
}

uint64_t NatsClient::epoch() const {
  std::lock_guard lock(stats_mu_);
  if (!nc_) return 0;
  if (!stats_ && natsStatistics_Create(&stats_) != NATS_OK) return 0;
  uint64_t reconnects = 0;
  if (natsConnection_GetStats(nc_, stats_) != NATS_OK ||
      natsStatistics_GetCounts(stats_, nullptr, nullptr, nullptr, nullptr, &reconnects) != NATS_OK) {
    return 0;
  }
  return reconnects;
}

std::string NatsClient::endpoint() const {
  std::string out;
  for (const auto& s : config_.servers) {
    if (!out.empty()) out += ',';
    // Credentials stay out of logs.
    const auto at = s.find('@');
    out += at == std::string::npos ? s : s.substr(0, s.find("://") + 3) + "***" + s.substr(at);
  }
  return out;
}

Status NatsClient::start() {
  if (nc_) return make_error(Errc::kInternal, name_ + ": started twice");
  if (config_.servers.empty()) return make_error(Errc::kInvalidConfig, name_ + ": no NATS server URL");
  nats_lib_init();
  stopping_ = false;
  hook_ = new_nats_callback_hook(this);
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  std::vector<const char*> servers;
  for (const auto& u : config_.servers) servers.push_back(u.c_str());
  if (s == NATS_OK) s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK && !config_.name.empty()) s = natsOptions_SetName(opts, config_.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, config_.connect_timeout_ms);
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, true);
  // Never give up: the uplink may be away for hours.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, INT_MAX);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, config_.reconnect_wait_ms);
  if (s == NATS_OK) s = natsOptions_SetReconnectJitter(opts, config_.reconnect_jitter_ms, config_.reconnect_jitter_ms);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, config_.ping_interval_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
  if (s == NATS_OK && config_.reconnect_buffer_bytes > 0) {
    s = natsOptions_SetReconnectBufSize(opts, config_.reconnect_buffer_bytes);
  }
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, &NatsClient::on_disconnected_cb, hook_);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, &NatsClient::on_reconnected_cb, hook_);
  // A server that is down at start is retried in the background like a lost connection.
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(opts, true, &NatsClient::on_connected_cb, hook_);
  if (s != NATS_OK) {
    natsOptions_Destroy(opts);
    return make_error(Errc::kInvalidConfig, name_ + ": NATS options: " + natsStatus_GetText(s));
  }
  set_health(Health::kConnecting);
  s = natsConnection_Connect(&nc_, opts);
  natsOptions_Destroy(opts);
  if (s == NATS_OK) {
    std::lock_guard lock(hook_->mu);  // in order with callbacks
    connected_now();
    return Status::Ok();
  }
  if (s == NATS_NOT_YET_CONNECTED) {
    spdlog::warn("{}: cannot connect to {} yet; retrying in the background", name_, endpoint());
    set_health(Health::kDown);
    return Status::Ok();
  }
  if (nc_) {
    natsConnection_Destroy(nc_);
    nc_ = nullptr;
  }
  return make_error(Errc::kUnavailable, name_ + ": connect to " + endpoint() + ": " + natsStatus_GetText(s));
}

void NatsClient::stop() {
  if (!nc_) return;
  stopping_ = true;
  {
    std::lock_guard lock(hook_->mu);  // waits for a callback that runs now
    hook_->owner = nullptr;
  }
  natsConnection_Close(nc_);
  std::lock_guard lock(stats_mu_);
  natsConnection_Destroy(nc_);
  nc_ = nullptr;
  set_health(Health::kDown);
}

bool NatsClient::connected() const {
  return nc_ && natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

void NatsClient::connected_now() {
  const uint64_t n = connects_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n == 1) spdlog::info("{}: connected to {}", name_, endpoint());
  else spdlog::info("{}: reconnected to {} (connect #{})", name_, endpoint(), n);
  if (callbacks_.on_connected) callbacks_.on_connected();
  set_health(Health::kConnected);
}

namespace {

// Runs `f` on the hook's owner unless it has stopped.
template <class F>
void with_owner(void* hook_ptr, F&& f) {
  auto* hook = static_cast<NatsCallbackHook*>(hook_ptr);
  std::lock_guard lock(hook->mu);
  if (hook->owner) f(static_cast<NatsClient*>(hook->owner));
}

}  // namespace

void NatsClient::on_connected_cb(natsConnection*, void* hook) {
  with_owner(hook, [](NatsClient* c) { c->connected_now(); });
}

void NatsClient::on_reconnected_cb(natsConnection*, void* hook) {
  with_owner(hook, [](NatsClient* c) { c->connected_now(); });
}

void NatsClient::on_disconnected_cb(natsConnection*, void* hook) {
  with_owner(hook, [](NatsClient* c) { c->disconnected_now(); });
}

void NatsClient::disconnected_now() {
  if (stopping_.load()) return;
  // The initial connect's retries also report a disconnect; count only lost connections.
  if (connects_.load(std::memory_order_relaxed) > 0) {
    disconnects_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("{}: disconnected from {}; reconnecting", name_, endpoint());
  }
  if (callbacks_.on_disconnected) callbacks_.on_disconnected();
  set_health(Health::kDown);
}

}  // namespace edgeloop
