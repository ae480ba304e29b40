#include "connectors/sparkplug/session.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace edgeloop::sparkplug {

Session::Session(std::string name, MqttConnectConfig config, Callbacks callbacks)
    : name_(std::move(name)), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

Session::~Session() {
  stop();
  if (mosq_) mosquitto_destroy(mosq_);
}

void Session::set_subscriptions(std::vector<std::string> filters, int qos) {
  filters_ = std::move(filters);
  sub_qos_ = qos;
}

void Session::apply_will() {
  if (!callbacks_.will) return;
  const Will w = callbacks_.will();
  if (w.topic.empty()) {
    mosquitto_will_clear(mosq_);
    return;
  }
  const int rc = mosquitto_will_set(mosq_, w.topic.c_str(), static_cast<int>(w.payload.size()), w.payload.data(), w.qos,
                                    w.retain);
  if (rc != MOSQ_ERR_SUCCESS) spdlog::error("{}: will on '{}': {}", name_, w.topic, mosquitto_strerror(rc));
}

Status Session::start() {
  if (mosq_) return make_error(Errc::kInternal, name_ + ": started twice");
  mqtt_lib_init();
  const std::string id = config_.client_id.empty() ? default_client_id(name_) : config_.client_id;
  mosq_ = mosquitto_new(id.c_str(), config_.clean_session, this);
  if (!mosq_) return make_error(Errc::kInternal, name_ + ": mosquitto_new failed");
  auto fail = [&](const std::string& what, int rc) {
    return make_error(Errc::kInvalidConfig, name_ + ": " + what + ": " + mosquitto_strerror(rc));
  };
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(mosq_, &Session::on_connect_cb);
  mosquitto_disconnect_callback_set(mosq_, &Session::on_disconnect_cb);
  mosquitto_message_callback_set(mosq_, &Session::on_message_cb);
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
  health_.store(static_cast<int>(Health::kConnecting));
  rc = mosquitto_connect_async(mosq_, config_.host.c_str(), config_.port, config_.keepalive_s);
  if (rc == MOSQ_ERR_INVAL) return fail("connect to " + endpoint(), rc);
  if (rc != MOSQ_ERR_SUCCESS) {
    spdlog::warn("{}: cannot connect to {} yet ({}); retrying in the background", name_, endpoint(),
                 rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
  }
  rc = mosquitto_loop_start(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) return make_error(Errc::kInternal, name_ + ": mosquitto_loop_start: " + mosquitto_strerror(rc));
  loop_running_ = true;
  return Status::Ok();
}

void Session::stop() {
  if (!mosq_ || !loop_running_) return;
  stopping_ = true;
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
  loop_running_ = false;
  health_.store(static_cast<int>(Health::kDown), std::memory_order_release);
}

int Session::publish(const std::string& topic, std::string_view payload, int qos, bool retain) {
  if (!mosq_) return MOSQ_ERR_NO_CONN;
  return mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain);
}

void Session::on_connect_cb(mosquitto* mosq, void* self, int rc) {
  auto* s = static_cast<Session*>(self);
  if (rc != 0) {
    s->health_.store(static_cast<int>(Health::kDown), std::memory_order_release);
    spdlog::warn("{}: {} refused the connection: {}", s->name_, s->endpoint(), mosquitto_connack_string(rc));
    return;
  }
  for (const auto& f : s->filters_) {
    const int src = mosquitto_subscribe(mosq, nullptr, f.c_str(), s->sub_qos_);
    if (src != MOSQ_ERR_SUCCESS) spdlog::error("{}: subscribe '{}': {}", s->name_, f, mosquitto_strerror(src));
  }
  s->connects_.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("{}: connected to {}", s->name_, s->endpoint());
  if (s->callbacks_.on_connected) s->callbacks_.on_connected();
  s->health_.store(static_cast<int>(Health::kConnected), std::memory_order_release);
}

void Session::on_disconnect_cb(mosquitto*, void* self, int rc) {
  auto* s = static_cast<Session*>(self);
  if (!s->stopping_.load()) {
    spdlog::warn("{}: disconnected from {} ({}); reconnecting", s->name_, s->endpoint(),
                 rc == 0 ? "by request" : mosquitto_strerror(rc));
  }
  if (s->callbacks_.on_disconnected) s->callbacks_.on_disconnected();
  // On the loop thread, before its reconnect: the next session's will.
  if (!s->stopping_.load()) s->apply_will();
  s->health_.store(static_cast<int>(Health::kDown), std::memory_order_release);
}

void Session::on_message_cb(mosquitto*, void* self, const mosquitto_message* msg) {
  auto* s = static_cast<Session*>(self);
  if (!s->callbacks_.on_message || !msg || !msg->topic) return;
  const std::string_view payload(msg->payload ? static_cast<const char*>(msg->payload) : "",
                                 msg->payload ? static_cast<std::size_t>(msg->payloadlen) : 0);
  s->callbacks_.on_message(msg->topic, payload);
}

}  // namespace edgeloop::sparkplug
