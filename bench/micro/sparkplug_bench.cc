// source.sparkplug's message path: DDATA payloads of 20 aliased metrics (Int32, Int64, Float,
// Double, Boolean) parsed, aliases resolved, values decoded and records pushed, as a host
// application does on libmosquitto's thread. Counter `items_per_second` = metrics/s.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "connectors/sparkplug/host_source.h"

namespace edgeloop::sparkplug {
namespace {

class NullOutput final : public RecordOutput {
 public:
  void push(Record&& r) override { benchmark::DoNotOptimize(r.f[0]); }
};

constexpr int kMetrics = 20;
constexpr uint32_t kTypes[] = {pb::Int32, pb::Int64, pb::Float, pb::Double, pb::Boolean};

std::string name_of(int i) { return "line1/sensor" + std::to_string(i); }

std::string payload(int seq, bool birth, double base) {
  PbPayload p;
  p.set_timestamp(1700000000000 + static_cast<uint64_t>(seq));
  p.set_seq(static_cast<uint64_t>(seq));
  if (birth && seq == 0) {
    PbMetric* bd = p.add_metrics();
    bd->set_name("bdSeq");
    bd->set_datatype(pb::UInt64);
    bd->set_long_value(0);
    return p.SerializeAsString();
  }
  for (int i = 0; i < kMetrics; ++i) {
    PbMetric* m = p.add_metrics();
    if (birth) m->set_name(name_of(i));
    m->set_alias(static_cast<uint64_t>(100 + i));
    m->set_timestamp(1700000000000 + static_cast<uint64_t>(seq));
    set_metric_number(*m, kTypes[i % 5], base + i);
  }
  return p.SerializeAsString();
}

void run(benchmark::State& state, std::vector<std::string> metrics) {
  HostConfig c;
  c.metrics = std::move(metrics);
  auto s = HostSource::create(std::move(c));
  if (!s.ok()) {
    state.SkipWithError(s.error().message.c_str());
    return;
  }
  KeyTable keys(100000);
  NullOutput out;
  Metrics m;
  SourceContext ctx;
  ctx.name = "bench";
  ctx.keys = &keys;
  ctx.output = &out;
  ctx.metrics = &m;
  if (!(*s)->bind(ctx, nullptr).ok()) return;
  (*s)->handle_message("spBv1.0/plant/NBIRTH/n1", payload(0, true, 0), 1);
  (*s)->handle_message("spBv1.0/plant/DBIRTH/n1/d1", payload(1, true, 0), 1);
  std::vector<std::string> data;
  for (int seq = 0; seq < 256; ++seq) data.push_back(payload(seq, false, seq));
  std::size_t seq = 2;
  for (auto _ : state) {
    (*s)->handle_message("spBv1.0/plant/DDATA/n1/d1", data[seq], 2);
    seq = (seq + 1) & 255;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kMetrics);
  state.counters["records"] = m.value("edgeloop_source_records_total", {{"source", "bench"}});
  state.counters["gaps"] = m.value("edgeloop_sparkplug_seq_gaps_total", {{"source", "bench"}});
}

// One record per metric (no `metrics` option): 20 records per DDATA.
void BM_SparkplugDecodeLong(benchmark::State& state) { run(state, {}); }
BENCHMARK(BM_SparkplugDecodeLong);

// 15 of the 20 metrics as fields of one record per DDATA.
void BM_SparkplugDecodeWide(benchmark::State& state) {
  std::vector<std::string> names;
  for (int i = 0; i < 15; ++i) names.push_back(name_of(i));
  run(state, names);
}
BENCHMARK(BM_SparkplugDecodeWide);

}  // namespace
}  // namespace edgeloop::sparkplug
