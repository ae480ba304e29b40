// The T1 chain (count window of 10 + hysteresis rule) over 1,000 keys, and op.window alone per
// aggregate set, on one core. items_per_second = readings per second through the stages.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "core/registry.h"
#include "operators/builtins.h"
#include "rules/builtins.h"

namespace edgeloop {
namespace {

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_operators(reg);
    register_rules(reg);
    return reg;
  }();
  return r;
}

Mark mark() { return Mark{std::make_shared<std::string>("bench.yaml"), 1, 1}; }

ConfigNode node(std::vector<std::pair<std::string, std::string>> kv, std::vector<std::string> aggs = {}) {
  ConfigNode m = ConfigNode::map(mark());
  for (auto& [k, v] : kv) m.set(k, ConfigNode::scalar(v, mark()));
  if (!aggs.empty()) {
    ConfigNode seq = ConfigNode::sequence(mark());
    for (auto& a : aggs) seq.push(ConfigNode::scalar(a, mark()));
    m.set("aggregates", std::move(seq));
  }
  return m;
}

std::unique_ptr<Stage> make(const std::string& step, const ConfigNode& n, const Schema& input, uint16_t index) {
  static const std::string pipeline = "bench";
  StageContext ctx;
  ctx.pipeline = pipeline;
  ctx.pipeline_name = &pipeline;
  ctx.name = step;
  ctx.stage_index = index;
  ctx.input = &input;
  auto s = registry().make_stage(step, n, "pipelines.bench.steps[" + std::to_string(index) + "]." + step, ctx);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    std::abort();
  }
  return std::move(*s);
}

class Sink final : public Emitter {
 public:
  void forward(const Record& r) override {
    ++records;
    benchmark::DoNotOptimize(r.f[0]);
  }
  void emit(Event&& e) override {
    ++events;
    benchmark::DoNotOptimize(e.ts_ns);
  }
  uint64_t records = 0, events = 0;
};

class Link final : public Emitter {
 public:
  Link(Stage& next, Emitter& next_out) : next_(next), next_out_(next_out) {}
  void forward(const Record& r) override { next_.process(r, next_out_); }
  void emit(Event&& e) override { next_out_.emit(std::move(e)); }

 private:
  Stage& next_;
  Emitter& next_out_;
};

constexpr uint32_t kKeys = 1000;

// The T1 stream: rounds over the keys, reading k of key d = 100 if (k + d) mod 40 >= 20 else 60.
// 40 rounds repeat forever; the event time advances 1 us per reading.
std::vector<Record> t1_stream() {
  std::vector<Record> v;
  for (uint32_t k = 0; k < 40; ++k) {
    for (uint32_t d = 0; d < kKeys; ++d) {
      Record r;
      r.key = d;
      r.slot = d;
      r.nfields = 1;
      r.f[0] = (k + d) % 40 >= 20 ? 100 : 60;
      v.push_back(r);
    }
  }
  return v;
}

void run_stream(benchmark::State& state, Stage& first, Emitter& out) {
  const std::vector<Record> stream = t1_stream();
  int64_t ts = 1'700'000'000'000'000'000;
  std::size_t i = 0;
  Record r;
  for (auto _ : state) {
    r = stream[i];
    r.ts_ns = ts;
    r.recv_ns = ts;
    ts += 1000;
    first.process(r, out);
    if (++i == stream.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_T1Chain(benchmark::State& state) {
  const Schema input({"v"});
  auto window = make("window", node({{"size", "10"}, {"hop", "1"}}, {"mean"}), input, 0);
  auto rule = make("rule", node({{"name", "t1"}, {"when", "mean > 80"}, {"clear", "mean < 75"}}), window->output_schema(), 1);
  Sink sink;
  Link link(*rule, sink);
  run_stream(state, *window, link);
  state.counters["alerts_per_reading"] =
      benchmark::Counter(static_cast<double>(sink.events) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_T1Chain);

// The window alone, per aggregate set; arg 0: sliding count (size 10, hop 1), 1: tumbling count
// (size 10), 2: sliding time (10 ms, hop 1 ms: 10 panes, about 10 readings per key per window).
const std::vector<std::vector<std::string>> kAggSets = {
    {"mean"}, {"mean", "min", "max"}, {"mean", "stddev"}, {"first", "last", "rate"},
    {"mean", "min", "max", "sum", "count", "stddev", "first", "last"},
};

void BM_Window(benchmark::State& state) {
  const Schema input({"v"});
  const auto& aggs = kAggSets[static_cast<std::size_t>(state.range(0))];
  std::unique_ptr<Stage> w;
  switch (state.range(1)) {
    case 0: w = make("window", node({{"size", "10"}, {"hop", "1"}}, aggs), input, 0); break;
    case 1: w = make("window", node({{"size", "10"}}, aggs), input, 0); break;
    default: w = make("window", node({{"duration", "10ms"}, {"hop", "1ms"}}, aggs), input, 0); break;
  }
  std::string label;
  for (const auto& a : aggs) label += (label.empty() ? "" : ",") + a;
  label += state.range(1) == 0 ? " sliding count" : state.range(1) == 1 ? " tumbling count" : " sliding time";
  state.SetLabel(label);
  Sink sink;
  run_stream(state, *w, sink);
}
BENCHMARK(BM_Window)->ArgsProduct({{0, 1, 2, 3, 4}, {0, 1, 2}});

// A rule with a compound condition and `for`, alone.
void BM_RuleCompound(benchmark::State& state) {
  const Schema input({"mean", "max"});
  auto rule = make("rule", node({{"when", "mean > 80 and max - mean < 50 or abs(mean) > 1000"}, {"for", "3"}}), input, 0);
  Sink sink;
  run_stream(state, *rule, sink);
}
BENCHMARK(BM_RuleCompound);

}  // namespace
}  // namespace edgeloop
