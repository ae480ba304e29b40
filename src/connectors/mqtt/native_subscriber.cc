#include "connectors/mqtt/native_subscriber.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "core/clock.h"

namespace edgeloop {

namespace {

constexpr int64_t kConnectTimeoutMs = 10'000;
constexpr std::size_t kInitialBuffer = 256 * 1024;

int64_t now_ms() { return mono_now_ns() / 1'000'000; }

void put_u16(std::vector<uint8_t>& v, std::size_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x & 0xff));
}

void put_str(std::vector<uint8_t>& v, std::string_view s) {
  put_u16(v, s.size());
  v.insert(v.end(), s.begin(), s.end());
}

// Fixed header (type and flags, remaining length) in front of `body`.
std::vector<uint8_t> packet(uint8_t type_flags, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> p;
  p.push_back(type_flags);
  std::size_t n = body.size();
  do {
    uint8_t b = static_cast<uint8_t>(n % 128);
    n /= 128;
    if (n > 0) b |= 128;
    p.push_back(b);
  } while (n > 0);
  p.insert(p.end(), body.begin(), body.end());
  return p;
}

const char* connack_text(int rc) {
  switch (rc) {
    case 1: return "unacceptable protocol version";
    case 2: return "client id rejected";
    case 3: return "server unavailable";
    case 4: return "bad user name or password";
    case 5: return "not authorised";
    default: return "refused";
  }
}

}  // namespace

NativeSubscriber::NativeSubscriber(std::string name, MqttConnectConfig config, MqttClient::Callbacks callbacks)
    : name_(std::move(name)), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

NativeSubscriber::~NativeSubscriber() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void NativeSubscriber::set_subscriptions(std::vector<std::string> filters, int qos) {
  filters_ = std::move(filters);
  qos_ = qos;
}

Status NativeSubscriber::start() {
  if (thread_.joinable()) return make_error(Errc::kInternal, name_ + ": started twice");
  if (!config_.ca_file.empty()) {
    return make_error(Errc::kInvalidConfig, name_ + ": the native MQTT client has no TLS (use client: libmosquitto)");
  }
  if (filters_.empty()) return make_error(Errc::kInvalidArgument, name_ + ": nothing to subscribe to");
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return make_error(Errc::kIo, name_ + ": eventfd: " + std::strerror(errno));
  buf_.resize(kInitialBuffer);
  acks_.reserve(4096);
  stopping_ = false;
  set_health(Health::kConnecting);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::exception& e) {
    return make_error(Errc::kInternal, name_ + ": cannot start its thread: " + e.what());
  }
  return Status::Ok();
}

void NativeSubscriber::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {
    // The counter cannot overflow with one write; nothing else can fail here.
  }
  thread_.join();
  set_health(Health::kDown);
}

void NativeSubscriber::close_socket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  len_ = 0;
  acks_.clear();
  ping_sent_ms_ = 0;
}

bool NativeSubscriber::connect_socket(std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(config_.port);
  const int gai = ::getaddrinfo(config_.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) {
    why = std::string("cannot resolve ") + config_.host + ": " + ::gai_strerror(gai);
    return false;
  }
  why = "no address";
  for (addrinfo* a = res; a && !stopping_.load(); a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd fds[2] = {{fd, POLLOUT, 0}, {wake_fd_, POLLIN, 0}};
      const int pr = ::poll(fds, 2, static_cast<int>(kConnectTimeoutMs));
      int err = 0;
      socklen_t len = sizeof err;
      if (pr > 0 && !stopping_.load() && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) &&
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) {
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        rc = -1;
        errno = pr == 0 ? ETIMEDOUT : EINTR;
      }
    }
    if (rc == 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
      ::freeaddrinfo(res);
      return true;
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return false;
}

bool NativeSubscriber::send_all(const uint8_t* data, std::size_t len, std::string& why) {
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n = ::send(fd_, data + done, len - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd fds[2] = {{fd_, POLLOUT, 0}, {wake_fd_, POLLIN, 0}};
      if (::poll(fds, 2, static_cast<int>(kConnectTimeoutMs)) <= 0 || stopping_.load()) {
        why = "send timed out";
        return false;
      }
      continue;
    }
    why = std::string("send: ") + std::strerror(errno);
    return false;
  }
  last_sent_ms_ = now_ms();
  return true;
}

// Reads until the first packet is complete; it must be of `want_type` (4 high bits). Leaves the
// bytes after it in buf_.
bool NativeSubscriber::read_packet_blocking(uint8_t want_type, std::vector<uint8_t>& body, int64_t deadline_ms,
                                            std::string& why) {
  while (true) {
    if (len_ >= 2) {
      std::size_t rl = 0, mult = 1, i = 1;
      bool complete = false;
      for (; i < 5 && i < len_; ++i) {
        rl += (buf_[i] & 127u) * mult;
        mult *= 128;
        if (!(buf_[i] & 128u)) {
          complete = true;
          break;
        }
      }
      if (complete && len_ >= i + 1 + rl) {
        if ((buf_[0] >> 4) != want_type) {
          why = "protocol error: expected packet type " + std::to_string(want_type) + ", got " + std::to_string(buf_[0] >> 4);
          return false;
        }
        body.assign(buf_.begin() + static_cast<std::ptrdiff_t>(i + 1), buf_.begin() + static_cast<std::ptrdiff_t>(i + 1 + rl));
        const std::size_t total = i + 1 + rl;
        std::memmove(buf_.data(), buf_.data() + total, len_ - total);
        len_ -= total;
        return true;
      }
    }
    const int64_t left = deadline_ms - now_ms();
    if (left <= 0) {
      why = "timed out waiting for the broker's answer";
      return false;
    }
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    ::poll(fds, 2, static_cast<int>(left));
    if (stopping_.load()) {
      why = "stopped";
      return false;
    }
    if (len_ == buf_.size()) buf_.resize(buf_.size() * 2);
    const ssize_t n = ::read(fd_, buf_.data() + len_, buf_.size() - len_);
    if (n == 0) {
      why = "connection closed by the broker";
      return false;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      why = std::string("read: ") + std::strerror(errno);
      return false;
    }
    if (n > 0) len_ += static_cast<std::size_t>(n);
  }
}

bool NativeSubscriber::parse(std::string& why) {
  std::size_t off = 0;
  std::size_t pending_total = 0;
  while (len_ - off >= 2) {
    const uint8_t* p = buf_.data() + off;
    const std::size_t avail = len_ - off;
    std::size_t rl = 0, mult = 1, i = 1;
    bool complete = false;
    for (; i < 5 && i < avail; ++i) {
      rl += (p[i] & 127u) * mult;
      mult *= 128;
      if (!(p[i] & 128u)) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      if (i >= 5) {
        why = "protocol error: bad remaining length";
        return false;
      }
      break;  // the length itself is not all here yet
    }
    const std::size_t hdr = i + 1;
    const std::size_t total = hdr + rl;
    if (total > kMaxPacket) {
      why = "protocol error: packet of " + std::to_string(total) + " bytes";
      return false;
    }
    if (avail < total) {
      pending_total = total;
      break;
    }
    const uint8_t type = p[0] >> 4;
    const uint8_t* body = p + hdr;
    switch (type) {
      case 3: {  // PUBLISH
        const int qos = (p[0] >> 1) & 3;
        if (rl < 2) {
          why = "protocol error: short PUBLISH";
          return false;
        }
        const std::size_t tlen = (std::size_t{body[0]} << 8) | body[1];
        std::size_t pos = 2 + tlen;
        if (pos > rl || qos == 3 || (qos > 0 && pos + 2 > rl)) {
          why = "protocol error: malformed PUBLISH";
          return false;
        }
        uint16_t pid = 0;
        if (qos > 0) {
          pid = static_cast<uint16_t>((body[pos] << 8) | body[pos + 1]);
          pos += 2;
        }
        const std::string_view topic(reinterpret_cast<const char*>(body + 2), tlen);
        const std::string_view payload(reinterpret_cast<const char*>(body + pos), rl - pos);
        if (callbacks_.on_message) callbacks_.on_message(topic, payload);
        if (qos == 1) {
          acks_.push_back(0x40);
          acks_.push_back(0x02);
          acks_.push_back(static_cast<uint8_t>(pid >> 8));
          acks_.push_back(static_cast<uint8_t>(pid & 0xff));
        } else if (qos == 2) {
          why = "protocol error: QoS 2 message on a QoS 0/1 subscription";
          return false;
        }
        break;
      }
      case 9:  // SUBACK
        for (std::size_t k = 2; k < rl; ++k) {
          if (body[k] == 0x80) {
            spdlog::error("{}: the broker refused subscription #{} ('{}')", name_, k - 1,
                          k - 2 < filters_.size() ? filters_[k - 2] : std::string("?"));
          }
        }
        break;
      case 13:  // PINGRESP
        ping_sent_ms_ = 0;
        break;
      case 2:   // CONNACK (again?), PUBACK, UNSUBACK: nothing to do
      case 4:
      case 11:
        break;
      default:
        why = "protocol error: unexpected packet type " + std::to_string(type);
        return false;
    }
    off += total;
  }
  if (off > 0) {
    std::memmove(buf_.data(), buf_.data() + off, len_ - off);
    len_ -= off;
  }
  if (pending_total > buf_.size()) buf_.resize(pending_total);  // one packet larger than the buffer
  return true;
}

std::string NativeSubscriber::session() {
  std::string why;
  if (!connect_socket(why)) return why;
  // CONNECT
  std::vector<uint8_t> body;
  put_str(body, "MQTT");
  body.push_back(4);  // 3.1.1
  uint8_t flags = config_.clean_session ? 0x02 : 0;
  if (!config_.username.empty()) flags |= 0x80;
  if (!config_.password.empty()) flags |= 0x40;
  body.push_back(flags);
  put_u16(body, static_cast<std::size_t>(config_.keepalive_s));
  put_str(body, config_.client_id.empty() ? default_client_id(name_) : config_.client_id);
  if (!config_.username.empty()) put_str(body, config_.username);
  if (!config_.password.empty()) put_str(body, config_.password);
  std::vector<uint8_t> pkt = packet(0x10, body);
  if (!send_all(pkt.data(), pkt.size(), why)) return why;
  std::vector<uint8_t> connack;
  if (!read_packet_blocking(2, connack, now_ms() + kConnectTimeoutMs, why)) return why;
  if (connack.size() < 2) return "protocol error: short CONNACK";
  if (connack[1] != 0) return std::string("connection refused: ") + connack_text(connack[1]);
  // SUBSCRIBE; the SUBACK comes in the stream.
  body.clear();
  put_u16(body, next_packet_id_);
  next_packet_id_ = static_cast<uint16_t>(next_packet_id_ == 65535 ? 1 : next_packet_id_ + 1);
  for (const auto& f : filters_) {
    put_str(body, f);
    body.push_back(static_cast<uint8_t>(qos_));
  }
  pkt = packet(0x82, body);
  if (!send_all(pkt.data(), pkt.size(), why)) return why;

  const uint64_t n = connects_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n == 1) spdlog::info("{}: connected to {}:{}", name_, config_.host, config_.port);
  else spdlog::info("{}: reconnected to {}:{} (connect #{})", name_, config_.host, config_.port, n);
  if (callbacks_.on_connected) callbacks_.on_connected();
  set_health(Health::kConnected);

  const int64_t keepalive_ms = int64_t{config_.keepalive_s} * 1000;
  bool ok = len_ == 0 || parse(why);  // what came right behind the CONNACK (a persistent session)
  while (ok && !stopping_.load()) {
    if (!acks_.empty()) {
      if (!send_all(acks_.data(), acks_.size(), why)) break;
      acks_.clear();
    }
    const int64_t now = now_ms();
    if (keepalive_ms > 0) {
      if (ping_sent_ms_ != 0 && now - ping_sent_ms_ >= keepalive_ms) {
        why = "no PINGRESP within the keep-alive interval";
        break;
      }
      if (ping_sent_ms_ == 0 && now - last_sent_ms_ >= keepalive_ms) {
        const uint8_t ping[2] = {0xC0, 0x00};
        if (!send_all(ping, sizeof ping, why)) break;
        ping_sent_ms_ = now_ms();
      }
    }
    int timeout = -1;
    if (keepalive_ms > 0) {
      const int64_t next = ping_sent_ms_ != 0 ? ping_sent_ms_ + keepalive_ms : last_sent_ms_ + keepalive_ms;
      timeout = static_cast<int>(std::clamp<int64_t>(next - now_ms(), 1, keepalive_ms));
    }
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int pr = ::poll(fds, 2, timeout);
    if (stopping_.load()) break;
    if (pr <= 0 || !(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    if (len_ == buf_.size()) buf_.resize(buf_.size() * 2);  // cannot happen after parse(); kept safe
    const ssize_t r = ::read(fd_, buf_.data() + len_, buf_.size() - len_);
    if (r == 0) {
      why = "connection closed by the broker";
      break;
    }
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      why = std::string("read: ") + std::strerror(errno);
      break;
    }
    len_ += static_cast<std::size_t>(r);
    ok = parse(why);
  }
  if (stopping_.load()) {
    const uint8_t disconnect[2] = {0xE0, 0x00};
    std::string ignored;
    send_all(disconnect, sizeof disconnect, ignored);
    why = "stopped";
  }
  return why;
}

void NativeSubscriber::run() {
  int failures = 0;
  while (!stopping_.load()) {
    const uint64_t connects_before = connects();
    const std::string why = session();
    const bool was_connected = connects() != connects_before;
    close_socket();
    if (was_connected) {
      disconnects_.fetch_add(1, std::memory_order_relaxed);
      failures = 0;
      if (callbacks_.on_disconnected) callbacks_.on_disconnected();
    }
    set_health(Health::kDown);
    if (stopping_.load()) break;
    // An immediate retry after a lost connection, then min, 2 min, 4 min ... max.
    const int64_t delay = failures == 0 ? 0
                                        : std::min(config_.reconnect_max_ms,
                                                   config_.reconnect_min_ms << std::min(failures - 1, 20));
    ++failures;
    if (was_connected) {
      spdlog::warn("{}: disconnected from {}:{} ({}); reconnecting", name_, config_.host, config_.port, why);
    } else if (failures <= 2 || delay >= config_.reconnect_max_ms) {
      spdlog::warn("{}: cannot connect to {}:{} ({}); retrying in {} ms", name_, config_.host, config_.port, why, delay);
    }
    if (delay > 0) {
      pollfd wake = {wake_fd_, POLLIN, 0};
      ::poll(&wake, 1, static_cast<int>(delay));
    }
  }
}

}  // namespace edgeloop
