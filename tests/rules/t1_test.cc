// The T1 reference workload (shared/bench/WORKLOADS.md) through window + rule, checked alert by
// alert against the reference simulation of shared/bench/t1/gen.c.
#include <gtest/gtest.h>

#include <vector>

#include "operators/stage_harness.h"

namespace edgeloop {
namespace {

using testing::Collect;
using testing::Link;
using testing::make_stage;
using testing::options_node;
using Strs = std::vector<std::string>;

constexpr long kDevices = 50;
constexpr long kPerDevice = 400;
constexpr int64_t kBaseTs = 1'700'000'000'000'000'000;

// Message k of device i (gen.c: reading()).
int reading(long dev, long k) { return (k + dev) % 40 >= 20 ? 100 : 60; }
// The generator sends in rounds: reading k of every device, then reading k + 1.
int64_t ts_of(long dev, long k) { return kBaseTs + (k * kDevices + dev) * 1000; }

struct Expected {
  std::vector<long> fire_k;
  std::vector<double> fire_mean;
  std::vector<long> rearm_k;
};

// gen.c's simulate(), plus the readings that re-arm.
Expected simulate(long dev, long count) {
  Expected e;
  int ring[10] = {0}, n = 0, pos = 0, sum = 0, armed = 1;
  for (long k = 0; k < count; k++) {
    const int v = reading(dev, k);
    if (n == 10) sum -= ring[pos];
    else n++;
    ring[pos] = v;
    sum += v;
    pos = (pos + 1) % 10;
    if (n < 10) continue;
    const double mean = sum / 10.0;
    if (armed && mean > 80) {
      e.fire_k.push_back(k);
      e.fire_mean.push_back(mean);
      armed = 0;
    } else if (!armed && mean < 75) {
      e.rearm_k.push_back(k);
      armed = 1;
    }
  }
  return e;
}

TEST(T1, WindowAndRuleRaiseExactlyTheReferenceAlerts) {
  const Schema input({"v"});
  auto window = make_stage("window", options_node({{"size", "10"}, {"hop", "1"}, {"aggregates", Strs{"mean"}}}), input);
  ASSERT_TRUE(window.ok()) << window.error().message;
  auto rule = make_stage("rule", options_node({{"name", "t1"}, {"when", "mean > 80"}, {"clear", "mean < 75"}}),
                         (*window)->output_schema(), nullptr, 1);
  ASSERT_TRUE(rule.ok()) << rule.error().message;

  Collect sink;
  Link link(**rule, sink, sink);
  for (long s = 0; s < kDevices * kPerDevice; ++s) {
    const long k = s / kDevices, d = s % kDevices;
    Record r;
    r.key = static_cast<KeyId>(1000 + d);
    r.slot = static_cast<uint32_t>(d);
    r.ts_ns = ts_of(d, k);
    r.recv_ns = r.ts_ns + 1;
    r.nfields = 1;
    r.f[0] = reading(d, k);
    (*window)->process(r, link);
  }
  // Every window output passed through the rule: 391 per device.
  EXPECT_EQ(sink.records.size(), static_cast<std::size_t>(kDevices * (kPerDevice - 9)));

  std::vector<std::vector<const Event*>> raised(kDevices), cleared(kDevices);
  for (const Event& e : sink.events) {
    ASSERT_GE(e.key, 1000u);
    ASSERT_LT(e.key, 1000u + kDevices);
    (e.state == AlertState::kRaised ? raised : cleared)[e.key - 1000].push_back(&e);
    EXPECT_EQ(*e.name, "t1");
    EXPECT_EQ(e.stage, 1);
  }
  std::size_t total = 0;
  for (long d = 0; d < kDevices; ++d) {
    const Expected want = simulate(d, kPerDevice);
    ASSERT_EQ(raised[d].size(), want.fire_k.size()) << "device " << d;
    for (std::size_t i = 0; i < want.fire_k.size(); ++i) {
      EXPECT_EQ(raised[d][i]->ts_ns, ts_of(d, want.fire_k[i])) << "device " << d << " alert " << i;
      EXPECT_EQ(raised[d][i]->recv_ns, ts_of(d, want.fire_k[i]) + 1);
      ASSERT_EQ(raised[d][i]->nfields, 1);
      EXPECT_EQ(raised[d][i]->f[0], want.fire_mean[i]) << "device " << d << " alert " << i;
    }
    ASSERT_EQ(cleared[d].size(), want.rearm_k.size()) << "device " << d;
    for (std::size_t i = 0; i < want.rearm_k.size(); ++i) EXPECT_EQ(cleared[d][i]->ts_ns, ts_of(d, want.rearm_k[i]));
    total += want.fire_k.size();
  }
  // 400 readings cover 10 periods of 40: about one alert per period per device.
  EXPECT_GE(total, static_cast<std::size_t>(kDevices * 9));
}

}  // namespace
}  // namespace edgeloop
