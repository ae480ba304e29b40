#include "fleet/jetstream_consumer.h"

#include <nats/nats.h>

#include <deque>
#include <mutex>
#include <utility>

namespace edgeloop::fleet {

namespace {

constexpr jsErrCode kNoJsError = static_cast<jsErrCode>(0);

Error nats_error(const std::string& what, natsStatus s, jsErrCode jerr = kNoJsError) {
  std::string msg = what + ": " + natsStatus_GetText(s);
  if (jerr != kNoJsError) msg += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  // libnats' detail, without its "(file.c:123): " prefix, when it says more than the status.
  std::string detail = nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : "";
  if (!detail.empty() && detail.front() == '(') {
    const auto end = detail.find("): ");
    if (end != std::string::npos) detail = detail.substr(end + 3);
  }
  if (!detail.empty() && msg.find(detail) == std::string::npos) msg += ": " + detail;
  return make_error(s == NATS_NOT_FOUND ? Errc::kNotFound : Errc::kUnavailable, msg);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

JetStreamMessage::JetStreamMessage(natsMsg* msg) : msg_(msg) {
  jsMsgMetaData* meta = nullptr;
  if (msg_ != nullptr && natsMsg_GetMetaData(&meta, msg_) == NATS_OK && meta != nullptr) {
    stream_seq_ = meta->Sequence.Stream;
    num_pending_ = meta->NumPending;
    num_delivered_ = meta->NumDelivered;
    jsMsgMetaData_Destroy(meta);
  }
}

JetStreamMessage::~JetStreamMessage() {
  if (msg_ != nullptr) natsMsg_Destroy(msg_);
}

JetStreamMessage::JetStreamMessage(JetStreamMessage&& o) noexcept
    : msg_(std::exchange(o.msg_, nullptr)),
      stream_seq_(o.stream_seq_),
      num_pending_(o.num_pending_),
      num_delivered_(o.num_delivered_) {}

JetStreamMessage& JetStreamMessage::operator=(JetStreamMessage&& o) noexcept {
  if (this != &o) {
    if (msg_ != nullptr) natsMsg_Destroy(msg_);
    msg_ = std::exchange(o.msg_, nullptr);
    stream_seq_ = o.stream_seq_;
    num_pending_ = o.num_pending_;
    num_delivered_ = o.num_delivered_;
  }
  return *this;
}

std::string_view JetStreamMessage::subject() const {
  const char* s = msg_ ? natsMsg_GetSubject(msg_) : nullptr;
  return s ? std::string_view(s) : std::string_view();
}

std::string_view JetStreamMessage::data() const {
  const char* d = msg_ ? natsMsg_GetData(msg_) : nullptr;
  if (d == nullptr) return {};
  return std::string_view(d, static_cast<std::size_t>(natsMsg_GetDataLength(msg_)));
}

std::string JetStreamMessage::msg_id() const {
  const char* id = nullptr;
  if (msg_ != nullptr && natsMsgHeader_Get(msg_, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) return id;
  return {};
}

// ---------------------------------------------------------------------------------------------

JetStreamConsumer::JetStreamConsumer(JetStreamConsumerConfig config)
    : config_(std::move(config)), link_(new_link_counters()) {}

JetStreamConsumer::~JetStreamConsumer() {
  close();
}

JetStreamConsumer::LinkCounters* JetStreamConsumer::new_link_counters() {
  static std::mutex mu;
  static auto* all = new std::deque<LinkCounters>();  // never freed: see LinkCounters
  std::lock_guard lock(mu);
  return &all->emplace_back();
}

void JetStreamConsumer::on_disconnected(natsConnection*, void* link) {
  static_cast<LinkCounters*>(link)->disconnects.fetch_add(1, std::memory_order_relaxed);
}

void JetStreamConsumer::on_reconnected(natsConnection*, void* link) {
  static_cast<LinkCounters*>(link)->reconnects.fetch_add(1, std::memory_order_relaxed);
}

Status JetStreamConsumer::connect() {
  if (nc_ != nullptr) return Status::Ok();
  if (config_.servers.empty()) return make_error(Errc::kInvalidArgument, "nats: no server URL");
  std::vector<const char*> servers;
  for (const auto& s : config_.servers) servers.push_back(s.c_str());
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetName(opts, config_.client_name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, config_.connect_timeout_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);  // forever: the fleet outlives outages
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, config_.reconnect_wait_ms);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, config_.ping_interval_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, &JetStreamConsumer::on_disconnected, link_);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, &JetStreamConsumer::on_reconnected, link_);
  if (s == NATS_OK) s = natsConnection_Connect(&nc_, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    nc_ = nullptr;
    std::string urls;
    for (const auto& u : config_.servers) urls += (urls.empty() ? "" : ",") + u;
    return nats_error("nats: cannot connect to " + urls, s);
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = config_.api_wait_ms;
  if (!config_.domain.empty()) jo.Domain = config_.domain.c_str();
  s = natsConnection_JetStream(&js_, nc_, &jo);
  if (s != NATS_OK) {
    close();
    return nats_error("nats: JetStream context", s);
  }
  return Status::Ok();
}

bool JetStreamConsumer::connected() const {
  return nc_ != nullptr && natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

Result<StreamProgress> JetStreamConsumer::stream_progress() {
  if (js_ == nullptr) return make_error(Errc::kUnavailable, "nats: not connected");
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = kNoJsError;
  const natsStatus s = js_GetStreamInfo(&si, js_, config_.stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return nats_error("nats: stream " + config_.stream, s, jerr);
  StreamProgress p;
  p.first_seq = si->State.FirstSeq;
  p.last_seq = si->State.LastSeq;
  p.messages = si->State.Msgs;
  p.created_ns = si->Created;
  jsStreamInfo_Destroy(si);
  return p;
}

Status JetStreamConsumer::create_stream(int replicas, int64_t duplicate_window_ns) {
  if (js_ == nullptr) return make_error(Errc::kUnavailable, "nats: not connected");
  const char* subjects[] = {config_.subject.c_str()};
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = config_.stream.c_str();
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  cfg.Duplicates = duplicate_window_ns;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = kNoJsError;
  const natsStatus s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
  if (si != nullptr) jsStreamInfo_Destroy(si);
  if (s == NATS_OK || jerr == JSStreamNameExistErr) return Status::Ok();
  return nats_error("nats: create stream " + config_.stream, s, jerr);
}

Result<ConsumerProgress> JetStreamConsumer::consumer_progress() {
  if (js_ == nullptr) return make_error(Errc::kUnavailable, "nats: not connected");
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = kNoJsError;
  const natsStatus s = js_GetConsumerInfo(&ci, js_, config_.stream.c_str(), config_.durable.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND && jerr == JSConsumerNotFoundErr) return ConsumerProgress{};
  if (s != NATS_OK) return nats_error("nats: consumer " + config_.durable + " of " + config_.stream, s, jerr);
  ConsumerProgress p;
  p.exists = true;
  p.ack_floor_stream_seq = ci->AckFloor.Stream;
  p.delivered_stream_seq = ci->Delivered.Stream;
  p.num_pending = ci->NumPending;
  p.num_ack_pending = ci->NumAckPending;
  jsConsumerInfo_Destroy(ci);
  return p;
}

Status JetStreamConsumer::delete_consumer() {
  if (js_ == nullptr) return make_error(Errc::kUnavailable, "nats: not connected");
  drop_subscription();
  jsErrCode jerr = kNoJsError;
  const natsStatus s = js_DeleteConsumer(js_, config_.stream.c_str(), config_.durable.c_str(), nullptr, &jerr);
  if (s == NATS_OK || (s == NATS_NOT_FOUND && jerr == JSConsumerNotFoundErr)) return Status::Ok();
  return nats_error("nats: delete consumer " + config_.durable, s, jerr);
}

Status JetStreamConsumer::subscribe(bool exists, uint64_t start_seq) {
  if (js_ == nullptr) return make_error(Errc::kUnavailable, "nats: not connected");
  drop_subscription();
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = config_.stream.c_str();
  if (exists) {
    // Bind as it is: its delivery policy and position are the server's, not ours to check.
    so.Consumer = config_.durable.c_str();
  } else {
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = config_.ack_wait_ns;
    so.Config.MaxAckPending = config_.max_ack_pending;
    if (start_seq > 0) {
      so.Config.DeliverPolicy = js_DeliverByStartSequence;
      so.Config.OptStartSeq = start_seq;
    } else {
      so.Config.DeliverPolicy = js_DeliverAll;
    }
  }
  jsErrCode jerr = kNoJsError;
  natsSubscription* sub = nullptr;
  const natsStatus s =
      js_PullSubscribe(&sub, js_, config_.subject.c_str(), config_.durable.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) {
    return nats_error("nats: pull subscribe " + config_.subject + " (durable " + config_.durable + ")", s, jerr);
  }
  sub_ = sub;
  return Status::Ok();
}

void JetStreamConsumer::drop_subscription() {
  // Destroy only: since libnats 3.4 that leaves the durable consumer on the server.
  if (sub_ != nullptr) natsSubscription_Destroy(sub_);
  sub_ = nullptr;
}

Status JetStreamConsumer::fetch(int batch, int64_t timeout_ms, std::vector<JetStreamMessage>& out) {
  out.clear();
  if (sub_ == nullptr) return make_error(Errc::kUnavailable, "nats: not subscribed");
  natsMsgList list{nullptr, 0};
  jsErrCode jerr = kNoJsError;
  const natsStatus s = natsSubscription_Fetch(&list, sub_, batch, timeout_ms, &jerr);
  if (s == NATS_TIMEOUT) {
    natsMsgList_Destroy(&list);
    return Status::Ok();
  }
  if (s != NATS_OK) {
    natsMsgList_Destroy(&list);
    return nats_error("nats: fetch", s, jerr);
  }
  out.reserve(static_cast<std::size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    out.emplace_back(list.Msgs[i]);
    list.Msgs[i] = nullptr;  // owned by `out` now
  }
  natsMsgList_Destroy(&list);
  return Status::Ok();
}

Status JetStreamConsumer::ack(const JetStreamMessage& m) {
  if (m.raw() == nullptr) return make_error(Errc::kInvalidArgument, "nats: ack of an empty message");
  const natsStatus s = natsMsg_Ack(m.raw(), nullptr);
  if (s != NATS_OK) return nats_error("nats: ack", s);
  return Status::Ok();
}

Status JetStreamConsumer::flush(int64_t timeout_ms) {
  if (nc_ == nullptr) return make_error(Errc::kUnavailable, "nats: not connected");
  const natsStatus s = natsConnection_FlushTimeout(nc_, timeout_ms);
  if (s != NATS_OK) return nats_error("nats: flush", s);
  return Status::Ok();
}

void JetStreamConsumer::close() {
  drop_subscription();
  if (js_ != nullptr) jsCtx_Destroy(js_);
  js_ = nullptr;
  if (nc_ != nullptr) {
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
  nc_ = nullptr;
}

}  // namespace edgeloop::fleet
