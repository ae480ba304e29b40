#include "connectors/mqtt/mqtt_client.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace edgeloop {

namespace {

int ceil_seconds(int64_t ns) { return static_cast<int>((ns + 999'999'999) / 1'000'000'000); }
}  // namespace

void mqtt_lib_init() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

void add_mqtt_connect_options(OptionTable& table) {
  table.push_back({"host", OptionType::kString, "127.0.0.1", "Broker host name or address."});
  table.push_back({"port", OptionType::kInt, "1883", "Broker port.", false, 1, 65535});
  table.push_back({"client_id", OptionType::kString, "",
                   "MQTT client id; empty: `edgeloop-<name>-<pid>`. Two clients with one id push each other off the broker."});
  table.push_back({"username", OptionType::kString, "", "User name, if the broker wants one."});
  table.push_back({"password", OptionType::kString, "", "Password (with `username`)."});
  table.push_back({"ca_file", OptionType::kString, "",
                   "PEM file of the CA that signed the broker's certificate; set, the connection uses TLS."});
  table.push_back({"cert_file", OptionType::kString, "", "Client certificate (PEM) for TLS client authentication; needs `key_file`."});
  table.push_back({"key_file", OptionType::kString, "", "Private key (PEM) of `cert_file`."});
  table.push_back({"tls_insecure", OptionType::kBool, "false",
                   "TLS without checking that the broker's certificate names `host` (testing only)."});
  table.push_back({"keepalive", OptionType::kDuration, "30s", "MQTT keep-alive interval.", false, 5, 65535});
  table.push_back({"reconnect_min", OptionType::kDuration, "1s",
                   "Back-off after a lost connection: the first retry is immediate, then libmosquitto waits "
                   "reconnect_min x n^2 (whole seconds), the native client reconnect_min x 2^n, up to reconnect_max.",
                   false, 0.001, 3600});
  table.push_back({"reconnect_max", OptionType::kDuration, "30s", "Longest delay between reconnect attempts.", false, 0.001,
                   86400});
  table.push_back({"clean_session", OptionType::kBool, "true",
                   "Start a clean MQTT session on each connect. false keeps QoS 1 subscriptions' messages queued on the "
                   "broker while disconnected (needs a fixed `client_id`)."});
}

Result<MqttConnectConfig> mqtt_connect_config(const Options& options) {
  MqttConnectConfig c;
  c.host = options.str("host");
  if (c.host.empty()) return options.error("host", "the broker host cannot be empty");
  c.port = static_cast<int>(options.integer("port"));
  c.client_id = options.str("client_id");
  c.username = options.str("username");
  c.password = options.str("password");
  if (!c.password.empty() && c.username.empty()) return options.error("password", "a password needs a username");
  c.ca_file = options.str("ca_file");
  c.cert_file = options.str("cert_file");
  c.key_file = options.str("key_file");
  if (c.cert_file.empty() != c.key_file.empty()) {
    return options.error(c.cert_file.empty() ? "key_file" : "cert_file", "cert_file and key_file go together");
  }
  if (!c.cert_file.empty() && c.ca_file.empty()) return options.error("cert_file", "a client certificate needs TLS: set ca_file");
  c.tls_insecure = options.flag("tls_insecure");
  c.keepalive_s = ceil_seconds(options.duration_ns("keepalive"));
  c.reconnect_min_s = ceil_seconds(options.duration_ns("reconnect_min"));
  c.reconnect_max_s = ceil_seconds(options.duration_ns("reconnect_max"));
  c.reconnect_min_ms = std::max<int64_t>(1, options.duration_ns("reconnect_min") / 1'000'000);
  c.reconnect_max_ms = std::max<int64_t>(c.reconnect_min_ms, options.duration_ns("reconnect_max") / 1'000'000);
  if (c.reconnect_max_s < c.reconnect_min_s) return options.error("reconnect_max", "must be at least reconnect_min");
  c.clean_session = options.flag("clean_session");
  if (!c.clean_session && c.client_id.empty()) {
    return options.error("clean_session", "a persistent session (clean_session: false) needs a fixed client_id");
  }
  return c;
}

std::string default_client_id(const std::string& name) {
  // The MQTT 3.1.1 limit of 23 bytes is not enforced by mosquitto; keep it readable.
  return "edgeloop-" + name + "-" + std::to_string(::getpid());
}

MqttClient::MqttClient(std::string name, MqttConnectConfig config, Callbacks callbacks)
    : name_(std::move(name)), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

MqttClient::~MqttClient() {
  stop();
  if (mosq_) mosquitto_destroy(mosq_);
}

void MqttClient::apply_will() {
  if (!callbacks_.will) return;
  const MqttWill w = callbacks_.will();
  if (w.topic.empty()) {
    mosquitto_will_clear(mosq_);
    return;
  }
  const int rc = mosquitto_will_set(mosq_, w.topic.c_str(), static_cast<int>(w.payload.size()), w.payload.data(), w.qos,
                                    w.retain);
  if (rc != MOSQ_ERR_SUCCESS) spdlog::error("{}: will on '{}': {}", name_, w.topic, mosquitto_strerror(rc));
}

void MqttClient::set_subscriptions(std::vector<std::string> filters, int qos) {
  filters_ = std::move(filters);
  sub_qos_ = qos;
}

Status MqttClient::start() {
  if (mosq_) return make_error(Errc::kInternal, name_ + ": started twice");
  mqtt_lib_init();
  const std::string id = config_.client_id.empty() ? default_client_id(name_) : config_.client_id;
  mosq_ = mosquitto_new(id.c_str(), config_.clean_session, this);
  if (!mosq_) return make_error(Errc::kInternal, name_ + ": mosquitto_new failed");
  auto fail = [&](const std::string& what, int rc) {
    return make_error(Errc::kInvalidConfig, name_ + ": " + what + ": " + mosquitto_strerror(rc));
  };
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  // Latency: an alert must not wait for Nagle's algorithm (40 ms with delayed ACKs).
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(mosq_, &MqttClient::on_connect_cb);
  mosquitto_disconnect_callback_set(mosq_, &MqttClient::on_disconnect_cb);
  mosquitto_message_callback_set(mosq_, &MqttClient::on_message_cb);
  mosquitto_publish_callback_set(mosq_, &MqttClient::on_publish_cb);
  int rc = mosquitto_reconnect_delay_set(mosq_, static_cast<unsigned>(config_.reconnect_min_s),
                                         static_cast<unsigned>(config_.reconnect_max_s), true);
  if (rc != MOSQ_ERR_SUCCESS) return fail("reconnect delays", rc);
  if (!config_.username.empty()) {
    rc = mosquitto_username_pw_set(mosq_, config_.username.c_str(),
                                   config_.password.empty() ? nullptr : config_.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) return fail("username", rc);
  }
  if (!config_.ca_file.empty()) {
    rc = mosquitto_tls_set(mosq_, config_.ca_file.c_str(), nullptr, config_.cert_file.empty() ? nullptr : config_.cert_file.c_str(),
                           config_.key_file.empty() ? nullptr : config_.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return fail("TLS files (ca_file " + config_.ca_file + ")", rc);
    if (config_.tls_insecure) mosquitto_tls_insecure_set(mosq_, true);
  }
  apply_will();
  set_health(Health::kConnecting);
  rc = mosquitto_connect_async(mosq_, config_.host.c_str(), config_.port, config_.keepalive_s);
  if (rc == MOSQ_ERR_INVAL) return fail("connect to " + endpoint(), rc);
  if (rc != MOSQ_ERR_SUCCESS) {
    // Refused, unreachable, unknown host: libmosquitto's loop retries with back-off.
    spdlog::warn("{}: cannot connect to {} yet ({}); retrying in the background", name_, endpoint(),
                 rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
  }
  rc = mosquitto_loop_start(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) return make_error(Errc::kInternal, name_ + ": mosquitto_loop_start: " + mosquitto_strerror(rc));
  loop_running_ = true;
  return Status::Ok();
}

void MqttClient::stop() {
  if (!mosq_ || !loop_running_) return;
  stopping_ = true;
  mosquitto_disconnect(mosq_);
  // Not forced: after disconnect the loop ends by itself, and loop_stop wakes it from a
  // back-off sleep.
  mosquitto_loop_stop(mosq_, false);
  loop_running_ = false;
  set_health(Health::kDown);
}

int MqttClient::publish(const char* topic, const void* payload, int len, int qos, bool retain, int* mid) {
  if (!mosq_) return MOSQ_ERR_NO_CONN;
  return mosquitto_publish(mosq_, mid, topic, len, payload, qos, retain);
}

void MqttClient::on_connect_cb(mosquitto* mosq, void* self, int rc) {
  auto* c = static_cast<MqttClient*>(self);
  if (rc != 0) {
    c->set_health(Health::kDown);
    spdlog::warn("{}: {} refused the connection: {}", c->name_, c->endpoint(), mosquitto_connack_string(rc));
    return;
  }
  // A clean session forgets subscriptions: make them again on every connect.
  for (const auto& f : c->filters_) {
    const int src = mosquitto_subscribe(mosq, nullptr, f.c_str(), c->sub_qos_);
    if (src != MOSQ_ERR_SUCCESS) spdlog::error("{}: subscribe '{}': {}", c->name_, f, mosquitto_strerror(src));
  }
  const uint64_t n = c->connects_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n == 1) spdlog::info("{}: connected to {}", c->name_, c->endpoint());
  else spdlog::info("{}: reconnected to {} (connect #{})", c->name_, c->endpoint(), n);
  // The callback first: whoever sees the health change sees what the callback did (gauges).
  if (c->callbacks_.on_connected) c->callbacks_.on_connected();
  c->set_health(Health::kConnected);
}

void MqttClient::on_disconnect_cb(mosquitto*, void* self, int rc) {
  auto* c = static_cast<MqttClient*>(self);
  c->disconnects_.fetch_add(1, std::memory_order_relaxed);
  if (!c->stopping_.load()) {
    spdlog::warn("{}: disconnected from {} ({}); reconnecting", c->name_, c->endpoint(),
                 rc == 0 ? "by request" : mosquitto_strerror(rc));
  }
  if (c->callbacks_.on_disconnected) c->callbacks_.on_disconnected();
  // On the loop thread, before its reconnect: the next session's will.
  if (!c->stopping_.load()) c->apply_will();
  c->set_health(Health::kDown);
}

void MqttClient::on_message_cb(mosquitto*, void* self, const mosquitto_message* msg) {
  auto* c = static_cast<MqttClient*>(self);
  if (!c->callbacks_.on_message || !msg || !msg->topic) return;
  const std::string_view payload(msg->payload ? static_cast<const char*>(msg->payload) : "",
                                 msg->payload ? static_cast<std::size_t>(msg->payloadlen) : 0);
  c->callbacks_.on_message(msg->topic, payload);
}

void MqttClient::on_publish_cb(mosquitto*, void* self, int mid) {
  auto* c = static_cast<MqttClient*>(self);
  if (c->callbacks_.on_published) c->callbacks_.on_published(mid);
}

}  // namespace edgeloop
