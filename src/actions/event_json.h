// The one JSON shape of an event outside the process: what the outbox sends upstream (MQTT,
// NATS JetStream), what the store keeps and the HTTP API returns, what `edgeloop fleet` reads.
//
//   {"id":"gw-1:42","gateway":"gw-1","pipeline":"vibration","stage":"overheat",
//    "key":"line1/pump-1","kind":"alert","state":"raised","severity":"warning",
//    "ts_ns":1732540000000000000,"fields":{"score":0.93,"temperature":81.2}}
//
// `id` and `gateway` are left out when empty; `state` is "none" for insights and commands;
// `stage` is the emitting stage's name (a rule's `name`); non-finite values are null.
#pragma once

#include <string>
#include <string_view>

#include "core/key_table.h"
#include "core/record.h"

namespace edgeloop {

struct EventJsonContext {
  const KeyTable* keys = nullptr;  // names the key; without it "key" is the numeric KeyId
  std::string_view gateway;        // the gateway's id
  std::string_view id;             // the event's stable message id (e.g. "gw-1:42")
};

// Appends the event's JSON object to `out` (no allocation beyond out's growth).
void append_event_json(std::string& out, const Event& e, const EventJsonContext& ctx);

}  // namespace edgeloop
