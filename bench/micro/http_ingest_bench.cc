// source.http over loopback: one keep-alive client POSTs batches of `n` objects (a JSON array,
// or JSON lines) to a real ingest server; the records go to a counting output. Reports records/s
// (items_per_second) and requests/s.
#include <benchmark/benchmark.h>
#include <httplib.h>

#include <atomic>
#include <string>

#include "codecs/json_codec.h"
#include "connectors/http_ingest/http_ingest_source.h"
#include "core/clock.h"

namespace edgeloop {
namespace {

class CountingOutput final : public RecordOutput {
 public:
  void push(Record&& r) override {
    (void)r;
    count.fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic<uint64_t> count{0};
};

std::string body_of(int n, bool lines) {
  std::string s = lines ? "" : "[";
  for (int i = 0; i < n; ++i) {
    if (!lines && i) s += ',';
    s += "{\"device\":\"d" + std::to_string(i % 100) + "\",\"ts\":" + std::to_string(1700000000000 + i) +
         ",\"v\":" + std::to_string(20.0 + i * 0.01) + "}";
    if (lines) s += '\n';
  }
  if (!lines) s += ']';
  return s;
}

void BM_HttpIngest(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const bool lines = state.range(1) != 0;
  HttpIngestConfig config;
  config.port = 0;
  config.key = "{device}";
  config.tokens = {"bench-token"};
  config.queue_records = 100'000;
  std::vector<std::unique_ptr<Codec>> codecs;
  for (int i = 0; i < config.threads; ++i) {
    JsonCodecConfig c;
    codecs.push_back(std::move(JsonCodec::create(c)).value());
  }
  auto source = HttpIngestSource::create(config, std::move(codecs));
  if (!source.ok()) {
    state.SkipWithError(source.error().message.c_str());
    return;
  }
  KeyTable keys;
  CountingOutput out;
  Metrics metrics;
  SourceContext ctx;
  ctx.name = "bench";
  ctx.keys = &keys;
  ctx.output = &out;
  ctx.metrics = &metrics;
  if (!(*source)->start(ctx).ok() || (*source)->port() == 0) {
    state.SkipWithError("the ingest server did not start");
    return;
  }
  httplib::Client client("127.0.0.1", (*source)->port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  const httplib::Headers headers = {{"Authorization", "Bearer bench-token"}};
  const std::string body = body_of(n, lines);
  const char* type = lines ? "application/x-ndjson" : "application/json";
  for (auto _ : state) {
    auto r = client.Post("/ingest", headers, body, type);
    if (!r || r->status != 200) {
      state.SkipWithError("a POST failed");
      break;
    }
  }
  const uint64_t want = static_cast<uint64_t>(state.iterations()) * static_cast<uint64_t>(n);
  const int64_t deadline = mono_now_ns() + 10 * kNsPerSec;
  while (out.count.load() < want && mono_now_ns() < deadline) std::this_thread::yield();
  (*source)->stop();
  state.SetItemsProcessed(static_cast<int64_t>(want));
  state.counters["requests_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["body_bytes"] = static_cast<double>(body.size());
  if (out.count.load() != want) state.SkipWithError("records missing at the output");
}
BENCHMARK(BM_HttpIngest)
    ->ArgsProduct({{100, 1000}, {0, 1}})
    ->ArgNames({"batch", "jsonl"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace edgeloop
