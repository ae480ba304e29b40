#include "nats_server.h"

#include <arpa/inet.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

namespace edgeloop::test {

using Clock = std::chrono::steady_clock;

bool nats_server_available() { return ::access(kNatsServerPath, X_OK) == 0; }

Result<std::string> http_get_local(int port, const std::string& path, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::kIo, "socket failed");
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return make_error(Errc::kUnavailable, "connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return make_error(Errc::kIo, "send failed");
  }
  std::string resp;
  char buf[8192];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto sp = resp.find(' ');
  if (sp == std::string::npos) return make_error(Errc::kIo, "no HTTP answer from port " + std::to_string(port));
  const int code = std::atoi(resp.c_str() + sp + 1);
  const auto body_at = resp.find("\r\n\r\n");
  std::string body = body_at == std::string::npos ? std::string() : resp.substr(body_at + 4);
  if (code != 200) return make_error(Errc::kUnavailable, "HTTP " + std::to_string(code) + " " + path + ": " + body);
  return body;
}

// ---------------------------------------------------------------------------------------------

NatsServer::NatsServer(NatsServerConfig config) : config_(std::move(config)) {}

NatsServer::~NatsServer() {
  process_.stop();
  remove_tree(dir_);
}

std::string NatsServer::log() const { return dir_.empty() ? std::string() : read_file(log_path()); }

Status NatsServer::prepare() {
  if (dir_.empty()) {
    auto dir = make_temp_dir("edgeloop-nats-");
    if (!dir.ok()) return dir.error();
    dir_ = *dir;
  }
  if (port_ == 0) port_ = free_port();
  if (monitor_port_ == 0) monitor_port_ = free_port();
  if (!config_.cluster_name.empty() && config_.cluster_port == 0) config_.cluster_port = free_port();
  if (port_ <= 0 || monitor_port_ <= 0 || (!config_.cluster_name.empty() && config_.cluster_port <= 0)) {
    return make_error(Errc::kIo, "no free port on 127.0.0.1");
  }
  if (config_.name.empty()) config_.name = "n-" + std::to_string(port_);
  return Status::Ok();
}

Status NatsServer::write_config() {
  std::ofstream out(config_path(), std::ios::trunc);
  out << "server_name: \"" << config_.name << "\"\n"
      << "listen: \"127.0.0.1:" << port_ << "\"\n"
      << "http: \"127.0.0.1:" << monitor_port_ << "\"\n";
  if (config_.jetstream) out << "jetstream {\n  store_dir: \"" << store_dir() << "\"\n}\n";
  if (!config_.cluster_name.empty()) {
    out << "cluster {\n  name: \"" << config_.cluster_name << "\"\n  listen: \"127.0.0.1:" << config_.cluster_port
        << "\"\n  routes: [\n";
    for (int p : config_.route_ports) {
      if (p != config_.cluster_port) out << "    \"nats-route://127.0.0.1:" << p << "\"\n";
    }
    out << "  ]\n}\n";
  }
  out << config_.extra_config << "\n";
  if (!out) return make_error(Errc::kIo, "cannot write " + config_path());
  return Status::Ok();
}

Status NatsServer::start(std::chrono::milliseconds timeout, bool wait_for_ready) {
  if (process_.running()) return Status::Ok();
  if (!nats_server_available()) {
    return make_error(Errc::kNotFound, std::string(kNatsServerPath) + " not found (apt-get install nats-server)");
  }
  if (auto st = prepare(); !st.ok()) return st;
  if (auto st = write_config(); !st.ok()) return st;
  ProcessOptions po;
  po.log_file = log_path();
  auto p = Process::start({kNatsServerPath, "-c", config_path()}, po);
  if (!p.ok()) return p.error();
  process_ = std::move(p).value();
  const auto deadline = Clock::now() + timeout;
  while (!wait_port_open(port_, std::chrono::milliseconds(20))) {
    if (!process_.running()) {
      return make_error(Errc::kUnavailable, "nats-server exited at start (port " + std::to_string(port_) + "): " + log());
    }
    if (Clock::now() >= deadline) {
      process_.stop();
      return make_error(Errc::kUnavailable, "nats-server did not open port " + std::to_string(port_) + ": " + log());
    }
  }
  if (!wait_for_ready) return Status::Ok();
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return wait_ready(std::max(left, std::chrono::milliseconds(1)));
}

Status NatsServer::wait_ready(std::chrono::milliseconds timeout) {
  Result<std::string> last = make_error(Errc::kUnavailable, "not asked yet");
  const bool ok = wait_until(
      [&] {
        if (!process_.running()) return false;
        last = http_get_local(monitor_port_, "/healthz", std::chrono::milliseconds(500));
        return last.ok();
      },
      timeout, std::chrono::milliseconds(20));
  if (ok) return Status::Ok();
  return make_error(Errc::kUnavailable, "nats-server " + config_.name + " not healthy: " +
                                            (last.ok() ? std::string("?") : last.error().message) + "\n" + log());
}

void NatsServer::stop() {
  if (!process_.started()) return;
  process_.stop(std::chrono::seconds(10));
  wait_port_closed(port_, std::chrono::seconds(2));
}

void NatsServer::kill() {
  if (!process_.started()) return;
  process_.kill();
  wait_port_closed(port_, std::chrono::seconds(2));
}

Status NatsServer::restart(std::chrono::milliseconds timeout, bool wait_for_ready) {
  stop();
  return start(timeout, wait_for_ready);
}

// ---------------------------------------------------------------------------------------------

NatsCluster::NatsCluster(int nodes, std::string name) : name_(std::move(name)) {
  for (int i = 0; i < nodes; ++i) {
    NatsServerConfig c;
    c.name = name_ + "-n" + std::to_string(i + 1);
    c.cluster_name = name_;
    nodes_.push_back(std::make_unique<NatsServer>(std::move(c)));
  }
}

NatsCluster::~NatsCluster() { stop(); }

Status NatsCluster::start(std::chrono::milliseconds timeout) {
  std::vector<int> routes;
  for (auto& n : nodes_) {
    if (auto st = n->prepare(); !st.ok()) return st;
    routes.push_back(n->cluster_port());
  }
  for (auto& n : nodes_) n->config().route_ports = routes;
  const auto deadline = Clock::now() + timeout;
  for (auto& n : nodes_) {
    if (auto st = n->start(timeout, false); !st.ok()) return st;
  }
  for (auto& n : nodes_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (auto st = n->wait_ready(std::max(left, std::chrono::milliseconds(1))); !st.ok()) return st;
  }
  return Status::Ok();
}

void NatsCluster::stop() {
  for (auto& n : nodes_) n->stop();
}

Status NatsCluster::restart_node(std::size_t i, std::chrono::milliseconds timeout) {
  return node(i).restart(timeout, true);
}

std::vector<std::string> NatsCluster::url_list() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) out.push_back(n->url());
  return out;
}

std::string NatsCluster::urls() const {
  std::string out;
  for (const auto& u : url_list()) {
    if (!out.empty()) out += ',';
    out += u;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

namespace {

// A connection and a JetStream context, destroyed together.
struct JsHandle {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  ~JsHandle() {
    if (js) jsCtx_Destroy(js);
    if (nc) natsConnection_Destroy(nc);
  }
};

Error nats_error(const std::string& what, natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string msg = what + ": " + natsStatus_GetText(s);
  if (jerr != 0) msg += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  return Error{Errc::kUnavailable, msg};
}

Status open_js(JsHandle& h, const std::string& url) {
  std::vector<std::string> urls;
  for (std::size_t at = 0; at <= url.size();) {
    const auto comma = std::min(url.find(',', at), url.size());
    if (comma > at) urls.push_back(url.substr(at, comma - at));
    at = comma + 1;
  }
  std::vector<const char*> servers;
  for (const auto& u : urls) servers.push_back(u.c_str());
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, 60);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 100);
  if (s == NATS_OK) s = natsConnection_Connect(&h.nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) return nats_error("connect " + url, s);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  s = natsConnection_JetStream(&h.js, h.nc, &jo);
  if (s != NATS_OK) return nats_error("JetStream context", s);
  return Status::Ok();
}

}  // namespace

Result<NatsStreamState> nats_stream_state(const std::string& url, const std::string& stream) {
  JsHandle h;
  if (auto st = open_js(h, url); !st.ok()) return st.error();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetStreamInfo(&si, h.js, stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return nats_error("stream info " + stream, s, jerr);
  NatsStreamState out;
  out.messages = si->State.Msgs;
  out.first_seq = si->State.FirstSeq;
  out.last_seq = si->State.LastSeq;
  out.replicas = static_cast<int>(si->Config->Replicas);
  out.duplicate_window_ns = si->Config->Duplicates;
  jsStreamInfo_Destroy(si);
  return out;
}

Result<std::vector<StoredNatsMessage>> nats_read_stream(const std::string& url, const std::string& stream,
                                                        std::chrono::milliseconds timeout) {
  auto state = nats_stream_state(url, stream);
  if (!state.ok()) return state.error();
  JsHandle h;
  if (auto st = open_js(h, url); !st.ok()) return st.error();
  std::vector<StoredNatsMessage> out;
  out.reserve(state->messages);
  const auto deadline = Clock::now() + timeout;
  for (uint64_t seq = state->first_seq; state->messages > 0 && seq <= state->last_seq; ++seq) {
    if (Clock::now() >= deadline) return make_error(Errc::kUnavailable, "reading stream " + stream + " took too long");
    natsMsg* m = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetMsg(&m, h.js, stream.c_str(), seq, nullptr, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue;  // a deleted sequence
    if (s != NATS_OK) {
      // One retry for a leader change in a cluster.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      jerr = static_cast<jsErrCode>(0);
      s = js_GetMsg(&m, h.js, stream.c_str(), seq, nullptr, &jerr);
      if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue;
      if (s != NATS_OK) return nats_error("get message " + std::to_string(seq) + " of " + stream, s, jerr);
    }
    StoredNatsMessage sm;
    sm.seq = seq;
    if (const char* subj = natsMsg_GetSubject(m)) sm.subject = subj;
    const char* id = nullptr;
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id) sm.msg_id = id;
    if (const char* d = natsMsg_GetData(m)) sm.data.assign(d, static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    natsMsg_Destroy(m);
    out.push_back(std::move(sm));
  }
  return out;
}

Status nats_add_stream(const std::string& url, const std::string& stream, const std::vector<std::string>& subjects,
                       int replicas, std::chrono::milliseconds duplicate_window) {
  JsHandle h;
  if (auto st = open_js(h, url); !st.ok()) return st;
  std::vector<const char*> subj;
  for (const auto& s : subjects) subj.push_back(s.c_str());
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = stream.c_str();
  cfg.Subjects = subj.data();
  cfg.SubjectsLen = static_cast<int>(subj.size());
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  cfg.Duplicates = static_cast<int64_t>(duplicate_window.count()) * 1000000;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(&si, h.js, &cfg, nullptr, &jerr);
  if (s != NATS_OK && jerr == JSStreamNameExistErr) s = js_UpdateStream(&si, h.js, &cfg, nullptr, &jerr);
  if (si) jsStreamInfo_Destroy(si);
  if (s != NATS_OK) return nats_error("add stream " + stream, s, jerr);
  return Status::Ok();
}

}  // namespace edgeloop::test
