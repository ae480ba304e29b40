// The local store: rows/s from a producer's queue through the writer thread into SQLite (WAL,
// synchronous=NORMAL), one transaction per batch; and the shard-side cost of a push.
//
// BM_StoreWrite/rollups:R/batch_rows:B: 100 keys x 4 fields, pushed as fast as the queue takes
// them (the bench waits when it is full; op.store would drop), then flushed: items_per_second
// = readings committed per second. R = 0 (raw only) or 1 (a 1m rollup kept too), B = the
// largest transaction. The database is a fresh file in $TMPDIR (or /tmp).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/key_table.h"
#include "store/store.h"

namespace edgeloop::store {
namespace {

constexpr int kKeys = 100;
constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'732'536'000LL * kSec;

struct TempDb {
  std::string dir;
  TempDb() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgeloop-store-bench-XXXXXX").string();
    dir = mkdtemp(tmpl.data()) ? tmpl : std::string("/tmp");
  }
  ~TempDb() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

void BM_StoreWrite(benchmark::State& state) {
  TempDb tmp;
  StoreSettings s;
  s.path = tmp.dir + "/bench.db";
  s.max_bytes = 0;
  s.rollup_intervals_ns = state.range(0) ? std::vector<int64_t>{60 * kSec} : std::vector<int64_t>{};
  s.batch_rows = state.range(1);
  auto store = Store::open_shared(s);
  if (!store.ok()) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  KeyTable keys;
  std::vector<KeyId> ids;
  for (int k = 0; k < kKeys; ++k) ids.push_back(*keys.intern("line1/asset-" + std::to_string(k), "", 0));
  auto queue =
      (*store)->add_reading_queue(Schema({"temperature", "vibration", "current", "pressure"}), &keys, 65536, nullptr);
  constexpr int kRowsPerIteration = 100000;
  int64_t ts = kT0;
  for (auto _ : state) {
    for (int i = 0; i < kRowsPerIteration; ++i) {
      Record r;
      r.key = ids[static_cast<std::size_t>(i % kKeys)];
      r.ts_ns = ts;
      r.nfields = 4;
      r.f[0] = 20.0 + (i % 17);
      r.f[1] = 0.5 * (i % 13);
      r.f[2] = 16.0;
      r.f[3] = 4.0 + 0.01 * (i % 7);
      if (i % kKeys == kKeys - 1) ts += 100'000'000;  // every key at 10 Hz
      while (!queue->push(r)) std::this_thread::yield();
    }
    if (!(*store)->flush().ok()) state.SkipWithError("flush failed");
  }
  state.SetItemsProcessed(state.iterations() * kRowsPerIteration);
  const StoreStats st = (*store)->stats();
  state.counters["batches"] = static_cast<double>(st.batches);
  state.counters["rows_per_batch"] =
      st.batches ? static_cast<double>(st.written.readings) / static_cast<double>(st.batches) : 0;
  state.counters["bytes_per_row"] =
      static_cast<double>(std::filesystem::file_size(s.path)) / static_cast<double>(st.written.readings);
}
BENCHMARK(BM_StoreWrite)
    ->ArgNames({"rollups", "batch_rows"})
    ->Args({0, 20000})
    ->Args({1, 20000})
    ->Args({1, 1000})
    ->Args({1, 100})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The shard thread's side: one push into a queue that the writer drains (commit every 50 ms).
void BM_QueuePush(benchmark::State& state) {
  TempDb tmp;
  StoreSettings s;
  s.path = tmp.dir + "/bench.db";
  s.rollup_intervals_ns = {};
  auto store = Store::open_shared(s);
  if (!store.ok()) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  KeyTable keys;
  const KeyId k = *keys.intern("k", "", 0);
  auto queue = (*store)->add_reading_queue(Schema({"v"}), &keys, 1 << 20, nullptr);
  Record r;
  r.key = k;
  r.nfields = 1;
  int64_t n = 0;
  for (auto _ : state) {
    r.ts_ns = ++n;
    benchmark::DoNotOptimize(queue->push(r));
    if ((n & 0x7ffff) == 0) {
      state.PauseTiming();  // let the writer catch up: the bench measures pushes, not drops
      (void)(*store)->flush();
      state.ResumeTiming();
    }
  }
  state.counters["dropped"] = static_cast<double>(queue->dropped());
}
BENCHMARK(BM_QueuePush)->Iterations(4'000'000);

}  // namespace
}  // namespace edgeloop::store

BENCHMARK_MAIN();
