#include "app/bench_t1.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "app/t1_reference.h"
#include "config/app_config.h"
#include "config/yaml_loader.h"
#include "core/clock.h"
#include "runtime/runtime.h"

namespace edgeloop {
namespace {

class T1ReplaySource final : public Source {
 public:
  T1ReplaySource(std::unique_ptr<Codec> codec, int devices, int64_t per_device, int64_t ts0, bool decode)
      : codec_(std::move(codec)), devices_(devices), per_device_(per_device), ts0_(ts0), decode_(decode) {
    // Payloads are generated before the clock starts: the bench measures edgeloop, not printf.
    const int64_t n = devices_ * per_device_;
    if (decode_) {
      payloads_.reserve(static_cast<std::size_t>(n));
      char buf[96];
      for (int64_t k = 0; k < per_device_; ++k) {
        for (int i = 0; i < devices_; ++i) {
          const int len = std::snprintf(buf, sizeof buf, "{\"ts\":%lld,\"v\":%g}", static_cast<long long>(ts0_ + k * devices_ + i),
                                        t1::value(k, i));
          payloads_.emplace_back(buf, static_cast<std::size_t>(len));
        }
      }
    }
  }
  const Schema& schema() const override { return codec_->schema(); }
  Status start(SourceContext& ctx) override {
    ctx_ = ctx;
    for (int i = 0; i < devices_; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "d%04d", i);
      EDGELOOP_ASSIGN_OR_RETURN(KeyId id, ctx_.keys->intern(name, std::string("bench/t1/") + name + "/temp", ctx_.index));
      ids_.push_back(id);
    }
    return Status::Ok();
  }
  // Runs on the caller's thread (the bench's), like a connector thread would.
  Status replay() {
    std::vector<Record> batch;
    int64_t n = 0;
    for (int64_t k = 0; k < per_device_; ++k) {
      for (int i = 0; i < devices_; ++i, ++n) {
        const int64_t recv = 0;  // latency is not what this bench measures
        if (decode_) {
          batch.clear();
          EDGELOOP_TRY(codec_->decode(payloads_[static_cast<std::size_t>(n)], recv, batch));
          for (auto& r : batch) {
            r.key = ids_[static_cast<std::size_t>(i)];
            r.source = ctx_.index;
            ctx_.output->push(std::move(r));
          }
        } else {
          Record r;
          r.key = ids_[static_cast<std::size_t>(i)];
          r.source = ctx_.index;
          r.nfields = 1;
          r.ts_ns = ts0_ + n;
          r.f[0] = t1::value(k, i);
          ctx_.output->push(std::move(r));
        }
      }
    }
    return Status::Ok();
  }
  void stop() override {}
  Health health() const override { return Health::kConnected; }

 private:
  std::unique_ptr<Codec> codec_;
  int devices_;
  int64_t per_device_;
  int64_t ts0_;
  bool decode_;
  std::vector<std::string> payloads_;
  std::vector<KeyId> ids_;
  SourceContext ctx_;
};

class CountingAction final : public Action {
 public:
  Status start(ActionContext& ctx) override {
    keys_ = ctx.keys;
    return Status::Ok();
  }
  void on_event(const Event& e) override {
    if (e.kind != EventKind::kAlert || e.state != AlertState::kRaised) return;
    alerts_.push_back({e.key, e.ts_ns, e.f[0]});
    received_.fetch_add(1, std::memory_order_release);
  }
  void stop() override {}
  uint64_t received() const { return received_.load(std::memory_order_acquire); }
  struct Got {
    KeyId key;
    int64_t ts;
    double mean;
  };
  const std::vector<Got>& alerts() const { return alerts_; }

 private:
  KeyTable* keys_ = nullptr;
  std::vector<Got> alerts_;
  std::atomic<uint64_t> received_{0};
};

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

constexpr const char* kBenchConfig = R"yaml(
sources:
  t1: {type: inproc, fields: [v]}
pipelines:
  t1:
    from: t1
    steps:
      - window: {size: 10, hop: 1, aggregates: [mean]}
      - rule: {name: t1, when: "mean > 80", clear: "mean < 75"}
)yaml";

}  // namespace

std::string BenchT1Result::to_json() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"bench\":\"t1_engine\",\"messages\":%lld,\"seconds\":%.3f,\"readings_per_s\":%.0f,\"cpu_s\":%.2f,"
                "\"expected_alerts\":%llu,\"received_alerts\":%llu,\"wrong_alerts\":%llu,\"correct\":%s}",
                static_cast<long long>(messages), seconds, readings_per_s, cpu_seconds,
                static_cast<unsigned long long>(expected_alerts), static_cast<unsigned long long>(received_alerts),
                static_cast<unsigned long long>(wrong_alerts), correct ? "true" : "false");
  return buf;
}

Result<BenchT1Result> run_bench_t1(const BenchT1Options& options, const Registry& registry) {
  if (options.pin) {
    // Every thread started from here inherits the mask: the figure is for one core.
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  EDGELOOP_ASSIGN_OR_RETURN(ConfigNode root, load_yaml_string(kBenchConfig, "<bench t1>"));
  EDGELOOP_ASSIGN_OR_RETURN(AppConfig config, parse_app_config(root));
  config.runtime.shards = options.shards;
  config.runtime.summary_interval_ns = 0;
  EDGELOOP_ASSIGN_OR_RETURN(auto rt, Runtime::build(config, registry));

  const int64_t per_device = options.messages / options.devices;
  const int64_t ts0 = 1'700'000'000'000'000'000;
  auto expected = t1::reference_alerts(options.devices, per_device, ts0);
  uint64_t n_expected = 0;
  for (const auto& v : expected) n_expected += v.size();

  auto action = std::make_unique<CountingAction>();
  CountingAction* counter = action.get();
  ActionContext actx;
  actx.keys = &rt->keys();
  (void)counter->start(actx);
  rt->add_event_listener([counter](const Event& e) { counter->on_event(e); });

  ConfigNode codec_node = ConfigNode::scalar("json", {});
  EDGELOOP_ASSIGN_OR_RETURN(auto codec, registry.make_codec(codec_node, "codec"));
  T1ReplaySource source(std::move(codec), options.devices, per_device, ts0, options.decode);
  // The replay source feeds source 0 (`inproc`) through its router output.
  EDGELOOP_TRY(rt->start());
  SourceContext ctx = rt->source_context(0);
  EDGELOOP_TRY(source.start(ctx));

  const double cpu0 = process_cpu_seconds();
  const int64_t t0 = mono_now_ns();
  EDGELOOP_TRY(source.replay());
  while (counter->received() < n_expected && mono_now_ns() - t0 < 600 * kNsPerSec) std::this_thread::yield();
  const int64_t t1 = mono_now_ns();
  const double cpu1 = process_cpu_seconds();
  rt->stop();

  BenchT1Result res;
  res.messages = per_device * options.devices;
  res.seconds = static_cast<double>(t1 - t0) * 1e-9;
  res.readings_per_s = static_cast<double>(res.messages) / res.seconds;
  res.cpu_seconds = cpu1 - cpu0;
  res.expected_alerts = n_expected;
  res.received_alerts = counter->received();
  // Every alert must match its device's next expected alert exactly (ts and mean).
  std::vector<std::size_t> next(static_cast<std::size_t>(options.devices), 0);
  for (const auto& got : counter->alerts()) {
    const std::string& name = rt->keys().name(got.key);
    const auto dev = static_cast<std::size_t>(std::stoi(name.substr(1)));
    auto& want = expected[dev];
    if (next[dev] < want.size() && want[next[dev]].ts == got.ts && std::abs(want[next[dev]].mean - got.mean) < 1e-9) {
      ++next[dev];
    } else {
      ++res.wrong_alerts;
    }
  }
  res.correct = res.wrong_alerts == 0 && res.received_alerts == n_expected;
  return res;
}

}  // namespace edgeloop
