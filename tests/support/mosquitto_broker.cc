#include "mosquitto_broker.h"

#include <mosquitto.h>
#include <unistd.h>

#include <fstream>
#include <mutex>

#include "core/clock.h"

namespace edgeloop::test {

using Clock = std::chrono::steady_clock;

bool mosquitto_available() { return ::access(kMosquittoPath, X_OK) == 0; }

MosquittoBroker::MosquittoBroker(std::string extra_config) : extra_config_(std::move(extra_config)) {}

MosquittoBroker::~MosquittoBroker() {
  process_.stop();
  remove_tree(dir_);
}

std::string MosquittoBroker::log() const { return dir_.empty() ? std::string() : read_file(log_path()); }

Status MosquittoBroker::start(std::chrono::milliseconds timeout) {
  if (process_.running()) return Status::Ok();
  if (!mosquitto_available()) return make_error(Errc::kNotFound, std::string(kMosquittoPath) + " not found (apt-get install mosquitto)");
  if (dir_.empty()) {
    auto dir = make_temp_dir("edgeloop-mosquitto-");
    if (!dir.ok()) return dir.error();
    dir_ = *dir;
  }
  if (port_ == 0) port_ = free_port();
  if (port_ <= 0) return make_error(Errc::kIo, "no free port on 127.0.0.1");
  const std::string conf = dir_ + "/mosquitto.conf";
  {
    std::ofstream out(conf, std::ios::trunc);
    out << "listener " << port_ << " 127.0.0.1\n"
        << "allow_anonymous true\n"
        << "persistence false\n"
        << "max_queued_messages 0\n"
        << "set_tcp_nodelay true\n"
        << "log_dest stdout\n"
        << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        << "connection_messages true\n";
    // Run as root, mosquitto drops to the `mosquitto` user, and a change of credentials clears
    // PR_SET_PDEATHSIG: a crashed test would leave the broker behind. Stay root then.
    if (::geteuid() == 0) out << "user root\n";
    out << extra_config_ << "\n";
    if (!out) return make_error(Errc::kIo, "cannot write " + conf);
  }
  ProcessOptions po;
  po.log_file = log_path();
  auto p = Process::start({kMosquittoPath, "-c", conf}, po);
  if (!p.ok()) return p.error();
  process_ = std::move(p).value();
  const auto deadline = Clock::now() + timeout;
  while (!wait_port_open(port_, std::chrono::milliseconds(20))) {
    if (!process_.running()) {
      return make_error(Errc::kUnavailable, "mosquitto exited at start (port " + std::to_string(port_) + "): " + log());
    }
    if (Clock::now() >= deadline) {
      process_.stop();
      return make_error(Errc::kUnavailable, "mosquitto did not open port " + std::to_string(port_) + ": " + log());
    }
  }
  return Status::Ok();
}

void MosquittoBroker::stop() {
  if (!process_.started()) return;
  process_.stop(std::chrono::seconds(5));
  wait_port_closed(port_, std::chrono::seconds(2));
}

void MosquittoBroker::kill() {
  if (!process_.started()) return;
  process_.kill();
  wait_port_closed(port_, std::chrono::seconds(2));
}

Status MosquittoBroker::restart(std::chrono::milliseconds timeout) {
  stop();
  return start(timeout);
}

// ---------------------------------------------------------------------------------------------

static void lib_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

static std::string next_client_id() {
  static std::atomic<int> n{0};
  return "edgeloop-test-" + std::to_string(::getpid()) + "-" + std::to_string(n.fetch_add(1));
}

MqttTestClient::MqttTestClient(std::string client_id) {
  lib_init_once();
  if (client_id.empty()) client_id = next_client_id();
  mosq_ = mosquitto_new(client_id.c_str(), true, this);
  if (!mosq_) return;
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(mosq_, &MqttTestClient::on_connect);
  mosquitto_disconnect_callback_set(mosq_, &MqttTestClient::on_disconnect);
  mosquitto_subscribe_callback_set(mosq_, &MqttTestClient::on_subscribe);
  mosquitto_publish_callback_set(mosq_, &MqttTestClient::on_publish);
  mosquitto_message_callback_set(mosq_, &MqttTestClient::on_message);
  mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
}

MqttTestClient::~MqttTestClient() {
  disconnect();
  if (mosq_) mosquitto_destroy(mosq_);
}

Status MqttTestClient::connect(const std::string& host, int port, std::chrono::milliseconds timeout) {
  if (!mosq_) return make_error(Errc::kInternal, "mosquitto_new failed");
  connack_rc_ = -1;
  const int rc = mosquitto_connect(mosq_, host.c_str(), port, 30);
  if (rc != MOSQ_ERR_SUCCESS) return make_error(Errc::kUnavailable, std::string("connect: ") + mosquitto_strerror(rc));
  if (!loop_started_) {
    const int lrc = mosquitto_loop_start(mosq_);
    if (lrc != MOSQ_ERR_SUCCESS) return make_error(Errc::kInternal, std::string("loop_start: ") + mosquitto_strerror(lrc));
    loop_started_ = true;
  }
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return connack_rc_.load() >= 0; })) {
    return make_error(Errc::kUnavailable, "no CONNACK within the timeout");
  }
  if (connack_rc_.load() != 0) {
    return make_error(Errc::kUnavailable, std::string("connection refused: ") + mosquitto_connack_string(connack_rc_.load()));
  }
  return Status::Ok();
}

Status MqttTestClient::subscribe(const std::string& topic, int qos, std::chrono::milliseconds timeout) {
  int mid = 0;
  const int rc = mosquitto_subscribe(mosq_, &mid, topic.c_str(), qos);
  if (rc != MOSQ_ERR_SUCCESS) return make_error(Errc::kUnavailable, std::string("subscribe: ") + mosquitto_strerror(rc));
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] {
        for (int m : subacked_)
          if (m == mid) return true;
        return false;
      })) {
    return make_error(Errc::kUnavailable, "no SUBACK for '" + topic + "' within the timeout");
  }
  return Status::Ok();
}

Status MqttTestClient::publish(const std::string& topic, std::string_view payload, int qos, bool retain) {
  {
    std::lock_guard lock(mu_);
    ++published_;
  }
  const int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::lock_guard lock(mu_);
    --published_;
    return make_error(Errc::kUnavailable, std::string("publish: ") + mosquitto_strerror(rc));
  }
  return Status::Ok();
}

bool MqttTestClient::wait_published(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return sent_ >= published_; });
}

void MqttTestClient::disconnect() {
  if (!mosq_ || !loop_started_) return;
  mosquitto_disconnect(mosq_);
  // Not forced (a cancelled thread may hold libmosquitto's mutexes): loop_stop wakes the loop
  // from its reconnect back-off, and after disconnect it ends by itself.
  mosquitto_loop_stop(mosq_, false);
  loop_started_ = false;
  connected_ = false;
}

std::size_t MqttTestClient::count() const {
  std::lock_guard lock(mu_);
  return received_.size();
}

std::vector<ReceivedMessage> MqttTestClient::messages() const {
  std::lock_guard lock(mu_);
  return received_;
}

void MqttTestClient::clear() {
  std::lock_guard lock(mu_);
  received_.clear();
}

bool MqttTestClient::wait_for_count(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
}

std::optional<ReceivedMessage> MqttTestClient::wait_for(const std::function<bool(const ReceivedMessage&)>& match,
                                                        std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  std::size_t checked = 0;
  std::optional<ReceivedMessage> found;
  cv_.wait_for(lock, timeout, [&] {
    for (; checked < received_.size(); ++checked) {
      if (match(received_[checked])) {
        found = received_[checked];
        return true;
      }
    }
    return false;
  });
  return found;
}

void MqttTestClient::on_connect(mosquitto*, void* self, int rc) {
  auto* c = static_cast<MqttTestClient*>(self);
  {
    std::lock_guard lock(c->mu_);
    c->connack_rc_ = rc;
    c->connected_ = rc == 0;
  }
  c->cv_.notify_all();
}

void MqttTestClient::on_disconnect(mosquitto*, void* self, int) {
  auto* c = static_cast<MqttTestClient*>(self);
  c->connected_ = false;
  c->cv_.notify_all();
}

void MqttTestClient::on_subscribe(mosquitto*, void* self, int mid, int, const int*) {
  auto* c = static_cast<MqttTestClient*>(self);
  {
    std::lock_guard lock(c->mu_);
    c->subacked_.push_back(mid);
  }
  c->cv_.notify_all();
}

void MqttTestClient::on_publish(mosquitto*, void* self, int) {
  auto* c = static_cast<MqttTestClient*>(self);
  {
    std::lock_guard lock(c->mu_);
    ++c->sent_;
  }
  c->cv_.notify_all();
}

void MqttTestClient::on_message(mosquitto*, void* self, const mosquitto_message* msg) {
  auto* c = static_cast<MqttTestClient*>(self);
  ReceivedMessage m;
  m.recv_ns = unix_now_ns();
  m.topic = msg->topic ? msg->topic : "";
  if (msg->payload && msg->payloadlen > 0) {
    m.payload.assign(static_cast<const char*>(msg->payload), static_cast<std::size_t>(msg->payloadlen));
  }
  m.qos = msg->qos;
  m.retain = msg->retain;
  {
    std::lock_guard lock(c->mu_);
    c->received_.push_back(std::move(m));
  }
  c->cv_.notify_all();
}

}  // namespace edgeloop::test
