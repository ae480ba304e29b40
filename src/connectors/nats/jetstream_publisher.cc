#include "connectors/nats/jetstream_publisher.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

namespace edgeloop {

bool JetStreamAck::permanent() const {
  return js_error == JSStreamMessageExceedsMaximumErr || status == NATS_MAX_PAYLOAD;
}

JetStreamPublisher::JetStreamPublisher(NatsClient& client, Completion done, int64_t ack_timeout_ms, int max_pending)
    : client_(client), done_(std::move(done)), ack_timeout_ms_(ack_timeout_ms), max_pending_(max_pending) {}

JetStreamPublisher::~JetStreamPublisher() { stop(); }

Status JetStreamPublisher::start() {
  if (js_) return make_error(Errc::kInternal, "JetStream publisher started twice");
  if (!client_.connection()) return make_error(Errc::kInternal, "JetStream publisher: the NATS client is not started");
  hook_ = new_nats_callback_hook(this);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = std::max<int64_t>(client_.config().connect_timeout_ms, 1000);
  jo.PublishAsync.MaxPending = max_pending_;
  jo.PublishAsync.AckHandler = &JetStreamPublisher::ack_cb;
  jo.PublishAsync.AckHandlerClosure = hook_;
  const natsStatus s = natsConnection_JetStream(&js_, client_.connection(), &jo);
  if (s != NATS_OK) return make_error(Errc::kInternal, std::string("JetStream context: ") + natsStatus_GetText(s));
  return Status::Ok();
}

void JetStreamPublisher::stop() {
  if (!js_) return;
  {
    std::lock_guard lock(hook_->mu);  // waits for a completion that runs now
    hook_->owner = nullptr;
  }
  jsCtx_Destroy(js_);
  js_ = nullptr;
}

Status JetStreamPublisher::ensure_stream(const JetStreamStreamConfig& stream) {
  if (!js_) return make_error(Errc::kInternal, "JetStream publisher not started");
  if (!client_.connected()) return make_error(Errc::kUnavailable, "not connected");
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, stream.name.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    if (si->Config && si->Config->Duplicates < stream.duplicate_window_ns) {
      spdlog::warn("JetStream stream {}: its duplicate window ({} s) is shorter than the configured {} s; a retry after "
                   "that long may be stored twice",
                   stream.name, si->Config->Duplicates / 1'000'000'000, stream.duplicate_window_ns / 1'000'000'000);
    }
    jsStreamInfo_Destroy(si);
    return Status::Ok();
  }
  const bool missing = jerr == JSStreamNotFoundErr || s == NATS_NOT_FOUND;
  if (!missing) {
    return make_error(Errc::kUnavailable, "stream " + stream.name + ": " + natsStatus_GetText(s) +
                                              (jerr ? " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")" : ""));
  }
  if (!stream.create) {
    return make_error(Errc::kUnavailable, "stream " + stream.name + " does not exist (and create_stream is off)");
  }
  std::vector<const char*> subjects;
  for (const auto& subj : stream.subjects) subjects.push_back(subj.c_str());
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = stream.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Storage = js_FileStorage;
  cfg.Replicas = stream.replicas;
  cfg.Duplicates = stream.duplicate_window_ns;
  jerr = static_cast<jsErrCode>(0);
  s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
  if (si) jsStreamInfo_Destroy(si);
  if (s != NATS_OK && jerr != JSStreamNameExistErr) {  // another gateway may have created it meanwhile
    return make_error(Errc::kUnavailable, "create stream " + stream.name + ": " + natsStatus_GetText(s) +
                                              (jerr ? " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")" : ""));
  }
  spdlog::info("JetStream: created stream {} (subjects {}, duplicate window {} s, {} replica(s))", stream.name,
               stream.subjects.empty() ? std::string() : stream.subjects.front(), stream.duplicate_window_ns / 1'000'000'000,
               stream.replicas);
  return Status::Ok();
}

Status JetStreamPublisher::publish_async(const std::string& subject, std::string_view data, const std::string& msg_id) {
  if (!js_) return make_error(Errc::kInternal, "JetStream publisher not started");
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id.c_str());
  if (s == NATS_OK) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = ack_timeout_ms_;
    s = js_PublishMsgAsync(js_, &msg, &po);
  }
  natsMsg_Destroy(msg);  // a no-op once the library took it
  if (s == NATS_OK) return Status::Ok();
  return make_error(s == NATS_MAX_PAYLOAD ? Errc::kTooLarge : Errc::kUnavailable,
                    std::string("publish to ") + subject + ": " + natsStatus_GetText(s));
}

void JetStreamPublisher::ack_cb(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* hook_ptr) {
  auto* hook = static_cast<NatsCallbackHook*>(hook_ptr);
  {
    std::lock_guard lock(hook->mu);
    if (auto* self = static_cast<JetStreamPublisher*>(hook->owner)) {
      const char* id = nullptr;
      if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK) id = nullptr;
      JetStreamAck ack;
      if (pa) {
        ack.ok = true;
        ack.duplicate = pa->Duplicate;
        ack.stream_seq = pa->Sequence;
      } else if (pae) {
        ack.status = static_cast<int>(pae->Err);
        ack.js_error = static_cast<int>(pae->ErrCode);
        ack.error = pae->ErrText && *pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err);
      } else {
        ack.status = static_cast<int>(NATS_ERR);
        ack.error = "no acknowledgement";
      }
      if (self->done_) self->done_(id ? std::string_view(id) : std::string_view(), ack);
    }
  }
  natsMsg_Destroy(msg);
}

}  // namespace edgeloop
