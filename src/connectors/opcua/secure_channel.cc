#include "connectors/opcua/secure_channel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "connectors/opcua/ua_binary.h"
#include "core/options.h"

namespace edgeloop::opcua {

namespace {
constexpr std::size_t kHeader = 8;  // type(3) chunk(1) size(4)
constexpr std::size_t kMinChunk = 8192;  // Part 6: buffers are at least 8192 bytes

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Result<EndpointUrl> EndpointUrl::parse(std::string_view url) {
  constexpr std::string_view kScheme = "opc.tcp://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return make_error(Errc::kInvalidArgument, "endpoint '" + std::string(url) + "' must start with opc.tcp://");
  }
  std::string_view rest = url.substr(kScheme.size());
  EndpointUrl e;
  const auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) e.path = std::string(rest.substr(slash));
  const auto colon = hostport.rfind(':');
  if (colon != std::string_view::npos && hostport.find(']') == std::string_view::npos) {
    auto port = parse_int(hostport.substr(colon + 1));
    if (!port.ok() || *port < 1 || *port > 65535) {
      return make_error(Errc::kInvalidArgument, "endpoint '" + std::string(url) + "': port is not 1..65535");
    }
    e.port = static_cast<uint16_t>(*port);
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return make_error(Errc::kInvalidArgument, "endpoint '" + std::string(url) + "' has no host");
  e.host = std::string(hostport);
  return e;
}

SecureChannel::SecureChannel(std::unique_ptr<SecurityPolicy> policy, ChannelLimits limits)
    : policy_(std::move(policy)), limits_(limits) {}

SecureChannel::~SecureChannel() { close(); }

void SecureChannel::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  inbuf_.clear();
  inpos_ = 0;
  partial_.clear();
  channel_id_ = token_id_ = 0;
  send_seq_ = 0;
  have_recv_seq_ = false;
}

Status SecureChannel::connect(const std::string& url, int timeout_ms) {
  close();
  EDGELOOP_ASSIGN_OR_RETURN(EndpointUrl ep, EndpointUrl::parse(url));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(ep.port);
  if (const int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return make_error(Errc::kUnavailable, "resolve " + ep.host + ": " + gai_strerror(rc));
  }
  std::string last = "no address";
  for (addrinfo* a = res; a && fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
      int err = rc == 0 ? 0 : ETIMEDOUT;
      socklen_t len = sizeof err;
      if (rc == 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        errno = err;
        rc = -1;
      }
    }
    if (rc != 0) {
      last = std::strerror(errno);
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) return make_error(Errc::kUnavailable, "connect " + ep.host + ":" + port + ": " + last);

  UaWriter w;
  w.raw("HELF");
  w.u32(0);
  w.u32(0);  // protocol version
  w.u32(limits_.receive_buffer);
  w.u32(limits_.send_buffer);
  w.u32(limits_.max_message);
  w.u32(limits_.max_chunks);
  w.string(url);
  w.put_u32_at(4, static_cast<uint32_t>(w.size()));
  if (Status st = write_all(w.buffer()); !st.ok()) {
    close();
    return st;
  }
  bool timed_out = false;
  auto frame = read_frame(timeout_ms, &timed_out);
  if (!frame.ok()) {
    close();
    return frame.take_error();
  }
  UaReader r(*frame);
  const std::string_view type = r.bytes(4);
  (void)r.u32();
  if (type == "ERRF") {
    const uint32_t code = r.u32();
    const std::string reason = r.string();
    close();
    return make_error(Errc::kUnavailable, "server refused Hello: " + status_name(code) + " " + reason);
  }
  if (type != "ACKF") {
    close();
    return make_error(Errc::kParse, "expected Acknowledge, got '" + std::string(type) + "'");
  }
  (void)r.u32();  // protocol version
  peer_receive_buffer_ = r.u32();
  (void)r.u32();  // peer send buffer
  peer_max_message_ = r.u32();
  peer_max_chunks_ = r.u32();
  if (!r.ok() || peer_receive_buffer_ < kMinChunk) {
    close();
    return make_error(Errc::kParse, "malformed Acknowledge" + (r.ok() ? " (receive buffer < 8192)" : ": " + r.error()));
  }
  return Status::Ok();
}

Status SecureChannel::write_all(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 5000) <= 0) return make_error(Errc::kIo, "send timed out");
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return make_error(Errc::kIo, std::string("send: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status SecureChannel::send(const char* type, uint32_t request_id, std::string_view body) {
  if (fd_ < 0) return make_error(Errc::kUnavailable, "not connected");
  const bool asym = std::strcmp(type, "OPN") == 0;
  // The security header: asymmetric (policy URI, certificate, thumbprint) or the token id.
  UaWriter sec;
  sec.u32(channel_id_);
  if (asym) {
    sec.string(policy_->uri());
    const std::string cert = policy_->sender_certificate();
    const std::string thumb = policy_->receiver_thumbprint();
    if (cert.empty()) sec.null_string(); else sec.string(cert);
    if (thumb.empty()) sec.null_string(); else sec.string(thumb);
  } else {
    sec.u32(token_id_);
  }
  const std::size_t fixed = kHeader + sec.size() + 8 + policy_->chunk_overhead(asym);
  const std::size_t chunk_limit = peer_receive_buffer_;
  if (fixed >= chunk_limit) return make_error(Errc::kInternal, "peer buffer too small for a chunk header");
  const std::size_t max_body = chunk_limit - fixed;
  if (peer_max_message_ && body.size() > peer_max_message_) {
    return make_error(Errc::kTooLarge, "request of " + std::to_string(body.size()) + " bytes exceeds the server's " +
                                           std::to_string(peer_max_message_));
  }
  const std::size_t nchunks = body.empty() ? 1 : (body.size() + max_body - 1) / max_body;
  if (asym && nchunks > 1) return make_error(Errc::kTooLarge, "OpenSecureChannel request does not fit one chunk");
  if (peer_max_chunks_ && nchunks > peer_max_chunks_) return make_error(Errc::kTooLarge, "request needs too many chunks");
  std::string out;
  for (std::size_t c = 0; c < nchunks; ++c) {
    const std::string_view part = body.substr(c * max_body, max_body);
    UaWriter w;
    w.raw(type);
    w.u8(c + 1 == nchunks ? 'F' : 'C');
    w.u32(0);
    w.raw(sec.buffer());
    const std::size_t plain_start = w.size();
    w.u32(++send_seq_);
    w.u32(request_id);
    w.raw(part);
    std::string& chunk = w.buffer();
    EDGELOOP_TRY(policy_->protect(chunk, plain_start, asym));
    w.put_u32_at(4, static_cast<uint32_t>(chunk.size()));
    out.append(chunk);
  }
  return write_all(out);
}

Status SecureChannel::read_exact(std::string& out, std::size_t n, int timeout_ms, bool* timed_out) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (inbuf_.size() - inpos_ < n) {
    if (inpos_ > 0) {
      inbuf_.erase(0, inpos_);
      inpos_ = 0;
    }
    if (stop_ && stop_->load(std::memory_order_relaxed)) return make_error(Errc::kUnavailable, "stopping");
    const int64_t left = deadline - now_ms();
    if (left <= 0) {
      if (timed_out) *timed_out = true;
      return make_error(Errc::kUnavailable, "timed out waiting for the server");
    }
    pollfd p{fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left < 100 ? left : 100));
    if (rc < 0 && errno != EINTR) return make_error(Errc::kIo, std::string("poll: ") + std::strerror(errno));
    if (rc <= 0) continue;
    char buf[65536];
    const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
    if (got == 0) return make_error(Errc::kIo, "connection closed by the server");
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return make_error(Errc::kIo, std::string("recv: ") + std::strerror(errno));
    }
    bytes_in_ += static_cast<uint64_t>(got);
    inbuf_.append(buf, static_cast<std::size_t>(got));
  }
  out.append(inbuf_, inpos_, n);
  inpos_ += n;
  return Status::Ok();
}

Result<uint32_t> SecureChannel::parse_message_header(std::string_view header, uint32_t max_size) {
  if (header.size() < kHeader) return make_error(Errc::kParse, "message header shorter than 8 bytes");
  const auto* p = reinterpret_cast<const uint8_t*>(header.data());
  const uint32_t size = static_cast<uint32_t>(p[4]) | (static_cast<uint32_t>(p[5]) << 8) |
                        (static_cast<uint32_t>(p[6]) << 16) | (static_cast<uint32_t>(p[7]) << 24);
  const std::string_view type(header.data(), 3);
  if (type != "ACK" && type != "ERR" && type != "OPN" && type != "MSG" && type != "CLO") {
    return make_error(Errc::kParse, "unknown message type '" + std::string(type) + "' (BadTcpMessageTypeInvalid)");
  }
  const char chunk = header[3];
  if (chunk != 'F' && chunk != 'C' && chunk != 'A') {
    return make_error(Errc::kParse, "unknown chunk type in " + std::string(type) + " (BadTcpMessageTypeInvalid)");
  }
  if (size < kHeader || size > max_size) {
    return make_error(Errc::kParse, "chunk size " + std::to_string(size) + " outside 8.." + std::to_string(max_size) +
                                        " (BadTcpMessageTooLarge)");
  }
  return size;
}

Result<std::string> SecureChannel::read_frame(int timeout_ms, bool* timed_out) {
  if (fd_ < 0) return make_error(Errc::kUnavailable, "not connected");
  std::string frame;
  // Only the wait for the first byte may time out harmlessly; a frame cut in the middle is an error.
  EDGELOOP_TRY(read_exact(frame, kHeader, timeout_ms, timed_out));
  EDGELOOP_ASSIGN_OR_RETURN(const uint32_t size, parse_message_header(frame, limits_.receive_buffer));
  bool partial_timeout = false;
  EDGELOOP_TRY(read_exact(frame, size - kHeader, timeout_ms < 5000 ? 5000 : timeout_ms, &partial_timeout));
  return frame;
}

Result<ReceivedMessage> SecureChannel::receive(int timeout_ms, bool* timed_out) {
  if (timed_out) *timed_out = false;
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    const int64_t left = deadline - now_ms();
    EDGELOOP_ASSIGN_OR_RETURN(std::string frame, read_frame(static_cast<int>(left > 0 ? left : 0), timed_out));
    ReceivedMessage m;
    EDGELOOP_ASSIGN_OR_RETURN(const bool whole, accept_chunk(frame, m));
    if (whole) return m;
  }
}

Result<bool> SecureChannel::accept_chunk(std::string& frame, ReceivedMessage& out) {
  EDGELOOP_TRY(parse_message_header(frame, UINT32_MAX));
  UaReader r(frame);
  const std::string type(r.bytes(3));
  const char chunk_type = static_cast<char>(r.u8());
  const uint32_t size = r.u32();
  if (size != frame.size()) return make_error(Errc::kParse, "chunk size field differs from the chunk's length");
  ++chunks_in_;
  if (type == "ERR") {
    const uint32_t code = r.u32();
    const std::string reason = r.string();
    return make_error(Errc::kIo, "server error " + status_name(code) + (reason.empty() ? "" : ": " + reason));
  }
  if (type == "ACK") return make_error(Errc::kParse, "unexpected Acknowledge");
  const bool asym = type == "OPN";
  const uint32_t channel_id = r.u32();
  if (asym) {
    const std::string uri = r.string();
    (void)r.string();  // sender certificate
    (void)r.string();  // receiver thumbprint
    if (r.ok() && uri != policy_->uri()) return make_error(Errc::kParse, "server answered with policy '" + uri + "'");
  } else {
    (void)r.u32();  // token id: the old one stays valid for a while after a renewal
    if (r.ok() && channel_id != channel_id_) {
      return make_error(Errc::kParse, "message for channel " + std::to_string(channel_id) + ", ours is " +
                                          std::to_string(channel_id_));
    }
  }
  if (!r.ok()) return make_error(Errc::kParse, type + " security header: " + r.error());
  const std::size_t plain_start = r.pos();
  EDGELOOP_TRY(policy_->unprotect(frame, plain_start, asym));
  UaReader s(std::string_view(frame).substr(plain_start));
  const uint32_t seq = s.u32();
  const uint32_t request_id = s.u32();
  if (!s.ok()) return make_error(Errc::kParse, type + " sequence header: " + s.error());
  // Sequence numbers rise by one; they may wrap below 1024 after passing UINT32_MAX - 1024.
  if (have_recv_seq_ && seq != recv_seq_ + 1 && !(recv_seq_ > UINT32_MAX - 1024 && seq < 1024)) {
    return make_error(Errc::kParse, "sequence number " + std::to_string(seq) + " after " + std::to_string(recv_seq_));
  }
  have_recv_seq_ = true;
  recv_seq_ = seq;
  const std::string_view body = s.rest();
  if (chunk_type == 'A') {
    partial_.erase(request_id);
    UaReader a(body);
    const uint32_t code = a.u32();
    const std::string reason = a.string();
    return make_error(Errc::kIo, "server aborted message " + std::to_string(request_id) + ": " + status_name(code) +
                                     " " + reason);
  }
  Partial& part = partial_[request_id];
  if (part.body.size() + body.size() > limits_.max_message || ++part.chunks > limits_.max_chunks) {
    partial_.erase(request_id);
    return make_error(Errc::kParse, "message " + std::to_string(request_id) + " exceeds " +
                                        std::to_string(limits_.max_message) + " bytes or " +
                                        std::to_string(limits_.max_chunks) + " chunks");
  }
  part.body.append(body);
  if (chunk_type == 'C') return false;
  std::memcpy(out.type, type.data(), 3);
  out.type[3] = 0;
  out.request_id = request_id;
  out.body = std::move(part.body);
  partial_.erase(request_id);
  ++messages_in_;
  return true;
}

}  // namespace edgeloop::opcua
