// Durable events per second into the outbox: events pushed as the dispatch thread does, timed
// until every one is committed (accepted). Nothing is sent (the sink is never ready), so this
// is the writer alone: JSON rendering, inserts, and one fsync per transaction.
//   outbox_bench --benchmark_filter=Durable
// Arguments: synchronous (0: FULL, fsync per commit; 1: NORMAL), batch (events per transaction
// at most; 1 = no group commit). The database lives under $EDGELOOP_BENCH_DIR (default /tmp):
// it must be a real disk, not a tmpfs, for the fsync to mean anything.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "outbox/outbox.h"

namespace edgeloop {
namespace {

class NeverReady final : public UpstreamSink {
 public:
  Status start(Completion) override { return Status::Ok(); }
  void stop() override {}
  bool ready() override { return false; }
  uint64_t epoch() const override { return 0; }
  Status send(const OutboxMessage&) override { return make_error(Errc::kUnavailable, "never"); }
  Health health() const override { return Health::kDown; }
  std::string describe() const override { return "none"; }
};

std::string temp_dir() {
  const char* base = std::getenv("EDGELOOP_BENCH_DIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/edgeloop-outbox-bench-XXXXXX";
  if (!::mkdtemp(templ.data())) return {};
  return templ;
}

void BM_OutboxDurable(benchmark::State& state) {
  const bool normal = state.range(0) == 1;
  const auto batch = static_cast<std::size_t>(state.range(1));
  const int n = batch == 1 ? 500 : 50'000;
  KeyTable keys;
  Schema schema(std::vector<std::string>{"temperature", "vibration", "current"});
  const std::string pipeline = "bearing_health", stage = "overheat";
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) {
    Event e;
    e.kind = EventKind::kAlert;
    e.state = AlertState::kRaised;
    e.key = *keys.intern("line1/pump-" + std::to_string(i % 100), "", 0);
    e.ts_ns = 1'732'540'000'000'000'000 + i;
    e.nfields = 3;
    e.f[0] = 81.25 + i % 7;
    e.f[1] = 4.5;
    e.f[2] = 12.75;
    e.schema = &schema;
    e.name = &stage;
    e.pipeline_name = &pipeline;
    events.push_back(e);
  }
  uint64_t commits = 0, accepted = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = temp_dir();
    OutboxConfig c;
    c.path = dir + "/outbox.db";
    c.gateway = "gw-1";
    c.sync = normal ? OutboxSync::kNormal : OutboxSync::kFull;
    c.batch_max = batch;
    c.queue_capacity = 65536;
    auto o = Outbox::open(c, std::make_unique<NeverReady>());
    if (!o.ok()) {
      state.SkipWithError(o.error().message.c_str());
      break;
    }
    Metrics metrics;
    if (!(*o)->start(&keys, &metrics).ok()) {
      state.SkipWithError("start failed");
      break;
    }
    state.ResumeTiming();
    for (const auto& e : events) {
      while (!(*o)->push(e)) std::this_thread::yield();  // not reached: the queue holds them all
    }
    while ((*o)->accepted() < static_cast<uint64_t>(n)) std::this_thread::sleep_for(std::chrono::microseconds(50));
    state.PauseTiming();
    commits += (*o)->commits();
    accepted += (*o)->accepted();
    (*o)->stop();
    o->reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(accepted));
  state.counters["events_per_commit"] = commits ? static_cast<double>(accepted) / static_cast<double>(commits) : 0;
}

BENCHMARK(BM_OutboxDurable)
    ->ArgNames({"normal", "batch"})
    ->Args({0, 8192})
    ->Args({1, 8192})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(5);

}  // namespace
}  // namespace edgeloop

BENCHMARK_MAIN();
