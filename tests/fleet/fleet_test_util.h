// Helpers for the fleet's integration tests: events in the gateways' JSON shape (written by
// actions/event_json.h, the one contract) and a JetStream publisher that retries with the
// same Nats-Msg-Id until it has a PubAck, as the outbox does.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "actions/event_json.h"
#include "core/key_table.h"
#include "core/record.h"
#include "core/result.h"

namespace edgeloop::fleet::test {

struct EventSpec {
  std::string id;
  std::string gateway;
  std::string stage;
  std::string key;
  EventKind kind = EventKind::kAlert;
  AlertState state = AlertState::kRaised;
  Severity severity = Severity::kWarning;
  int64_t ts_ns = 0;
  std::vector<std::pair<std::string, double>> fields;
  std::string pipeline = "vibration";
};

inline std::string event_json(const EventSpec& s) {
  KeyTable keys(16);
  const KeyId key = *keys.intern(s.key, "t", 0);
  std::vector<std::string> names;
  for (const auto& f : s.fields) names.push_back(f.first);
  Schema schema{names};
  Event e;
  e.kind = s.kind;
  e.state = s.kind == EventKind::kAlert ? s.state : AlertState::kNone;
  e.severity = s.severity;
  e.key = key;
  e.ts_ns = s.ts_ns;
  e.nfields = static_cast<uint8_t>(s.fields.size());
  for (std::size_t i = 0; i < s.fields.size(); ++i) e.f[i] = s.fields[i].second;
  e.schema = &schema;
  e.name = &s.stage;
  e.pipeline_name = &s.pipeline;
  std::string out;
  append_event_json(out, e, {&keys, s.gateway, s.id});
  return out;
}

inline std::string subject_of(const EventSpec& s) {
  return "edgeloop." + s.gateway + "." + event_kind_name(s.kind);
}

class JsPublisher {
 public:
  ~JsPublisher() { close(); }

  // `urls`: one or more, separated by commas. libnats reconnects (and fails over) by itself.
  Status connect(const std::string& urls) {
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    std::vector<std::string> list;
    for (std::size_t start = 0; start <= urls.size();) {
      std::size_t comma = urls.find(',', start);
      if (comma == std::string::npos) comma = urls.size();
      if (comma > start) list.push_back(urls.substr(start, comma - start));
      start = comma + 1;
    }
    std::vector<const char*> ptrs;
    for (const auto& u : list) ptrs.push_back(u.c_str());
    if (s == NATS_OK) s = natsOptions_SetServers(opts, ptrs.data(), static_cast<int>(ptrs.size()));
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 100);
    if (s == NATS_OK) s = natsConnection_Connect(&nc_, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) return make_error(Errc::kUnavailable, std::string("connect: ") + natsStatus_GetText(s));
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 2000;
    s = natsConnection_JetStream(&js_, nc_, &jo);
    if (s != NATS_OK) return make_error(Errc::kUnavailable, std::string("JetStream: ") + natsStatus_GetText(s));
    return Status::Ok();
  }

  struct Ack {
    uint64_t seq = 0;
    bool duplicate = false;
    int attempts = 0;
  };

  // Publishes until a PubAck arrives (the same id each time), up to `timeout`.
  Result<Ack> publish(const std::string& subject, const std::string& data, const std::string& msg_id,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    Ack ack;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      ack.attempts++;
      natsMsg* m = nullptr;
      natsStatus s = natsMsg_Create(&m, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
      if (s == NATS_OK && !msg_id.empty()) s = natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id.c_str());
      jsPubAck* pa = nullptr;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      if (s == NATS_OK) s = js_PublishMsg(&pa, js_, m, nullptr, &jerr);
      natsMsg_Destroy(m);
      if (s == NATS_OK && pa != nullptr) {
        ack.seq = pa->Sequence;
        ack.duplicate = pa->Duplicate;
        jsPubAck_Destroy(pa);
        return ack;
      }
      if (pa) jsPubAck_Destroy(pa);
      last = std::string(natsStatus_GetText(s)) + " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return make_error(Errc::kUnavailable, "publish " + msg_id + ": no PubAck: " + last);
  }

  Result<Ack> publish(const EventSpec& e) { return publish(subject_of(e), event_json(e), e.id); }

  void close() {
    if (js_) jsCtx_Destroy(js_);
    js_ = nullptr;
    if (nc_) natsConnection_Destroy(nc_);
    nc_ = nullptr;
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

}  // namespace edgeloop::fleet::test
