// codec.json on the T1 payload and friends, and (when the MQTT connector is built) the whole
// receive path of source.mqtt after libmosquitto: key from the topic, decode, intern, push.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "codecs/json_codec.h"

#ifdef EDGELOOP_BENCH_HAS_MQTT
#include "actions/template.h"
#include "codecs/builtins.h"
#include "connectors/mqtt/builtins.h"
#include "connectors/mqtt/mqtt_source.h"
#include "core/registry.h"
#endif

namespace edgeloop {
namespace {

std::unique_ptr<JsonCodec> make(JsonCodecConfig c) {
  auto r = JsonCodec::create(std::move(c));
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

void run(benchmark::State& state, JsonCodec& codec, const std::string& payload, std::size_t records_per_payload) {
  std::vector<Record> out;
  out.reserve(64);
  for (auto _ : state) {
    out.clear();
    Status st = codec.decode(payload, 1, out);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records_per_payload));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
}

// The T1 reading: {"ts":<int64 ns>,"v":<number>}.
void BM_JsonT1(benchmark::State& state) {
  auto codec = make({});
  run(state, *codec, R"({"ts":1732540000123456789,"v":100})", 1);
}
BENCHMARK(BM_JsonT1);

void BM_JsonT1Fraction(benchmark::State& state) {
  auto codec = make({});
  run(state, *codec, R"({"ts":1732540000123456789,"v":21.537})", 1);
}
BENCHMARK(BM_JsonT1Fraction);

// A wider device message: nested paths, four values, fields to skip.
void BM_JsonNested(benchmark::State& state) {
  JsonCodecConfig c;
  c.timestamp = "meta.time";
  c.values = {{"temp", "data.temp"}, {"hum", "data.hum"}, {"pres", "data.pres"}, {"rssi", "radio.rssi"}};
  auto codec = make(c);
  run(state, *codec,
      R"({"device":"pump-3","meta":{"fw":"1.2.3","time":1732540000123},"data":{"temp":21.5,"hum":40.25,"pres":1013.2,)"
      R"("flags":[1,2,3]},"radio":{"rssi":-67,"snr":9.5}})",
      1);
}
BENCHMARK(BM_JsonNested);

// A batch of N T1 readings in one payload.
void BM_JsonBatch(benchmark::State& state) {
  auto codec = make({});
  std::string payload = "[";
  for (int i = 0; i < state.range(0); ++i) {
    if (i) payload += ',';
    payload += R"({"ts":)" + std::to_string(1732540000123456789 + i) + R"(,"v":)" + std::to_string(60 + i % 40) + "}";
  }
  payload += ']';
  run(state, *codec, payload, static_cast<std::size_t>(state.range(0)));
}
BENCHMARK(BM_JsonBatch)->Arg(10)->Arg(100);

void BM_JsonMalformed(benchmark::State& state) {
  auto codec = make({});
  run(state, *codec, R"({"ts":1732540000123456789,"v":)", 0);
}
BENCHMARK(BM_JsonMalformed);

#ifdef EDGELOOP_BENCH_HAS_MQTT
class NullOutput final : public RecordOutput {
 public:
  void push(Record&& r) override { benchmark::DoNotOptimize(r); }
};

// source.mqtt's work per message once libmosquitto delivered it (1000 devices, as T1).
void BM_MqttSourceMessage(benchmark::State& state) {
  Registry reg;
  register_codecs(reg);
  register_mqtt(reg);
  ConfigNode n = ConfigNode::map(Mark{});
  n.set("subscribe", ConfigNode::scalar("bench/t1/+/temp", Mark{}));
  n.set("key", ConfigNode::scalar("{2}", Mark{}));
  auto opts = reg.options_for("source", "mqtt", n, "sources.t1");
  auto source = MqttSource::from_options(*opts, reg);
  if (!source.ok()) std::abort();
  auto keys = std::make_unique<KeyTable>(100000);
  NullOutput out;
  Metrics metrics;
  SourceContext ctx;
  ctx.name = "t1";
  ctx.keys = keys.get();
  ctx.output = &out;
  ctx.metrics = &metrics;
  if (!(*source)->bind(ctx).ok()) std::abort();
  std::vector<std::string> topics;
  char dev[16];
  for (int i = 0; i < 1000; ++i) {
    std::snprintf(dev, sizeof dev, "d%04d", i);
    topics.push_back(std::string("bench/t1/") + dev + "/temp");
  }
  const std::string payload = R"({"ts":1732540000123456789,"v":100})";
  std::size_t i = 0;
  for (auto _ : state) {
    (*source)->handle_message(topics[i], payload, 1);
    if (++i == topics.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_MqttSourceMessage);

// The T1 alert: topic and payload rendered per event.
void BM_TemplateT1Alert(benchmark::State& state) {
  auto keys = std::make_unique<KeyTable>(16);
  const KeyId id = *keys->intern("d0007", "bench/t1/d0007/temp", 0);
  Schema schema({"mean"});
  Event e;
  e.key = id;
  e.nfields = 1;
  e.f[0] = 82.5;
  e.ts_ns = 1732540000123456789;
  e.schema = &schema;
  auto topic = EventTemplate::compile("bench/t1/{key}/alert");
  auto payload = EventTemplate::compile(R"({"ts":{ts},"mean":{mean}})", EventTemplate::Escape::kJson);
  std::string t, p;
  for (auto _ : state) {
    t.clear();
    p.clear();
    topic->render(e, *keys, t);
    payload->render(e, *keys, p);
    benchmark::DoNotOptimize(t.data());
    benchmark::DoNotOptimize(p.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TemplateT1Alert);
#endif

}  // namespace
}  // namespace edgeloop
