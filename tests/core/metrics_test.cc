#include "core/metrics.h"

#include <gtest/gtest.h>

namespace edgeloop {

TEST(Metrics, RendersCountersAndHistogramsInPrometheusFormat) {
  Metrics m;
  m.counter("edgeloop_records_total", "Records in.", {{"source", "t1"}}).add(3);
  auto& h = m.histogram("edgeloop_latency_seconds", "Receive to action.");
  h.record_ns(50'000);
  h.record_ns(150'000);
  const std::string text = m.render_prometheus();
  EXPECT_NE(text.find("# TYPE edgeloop_records_total counter"), std::string::npos);
  EXPECT_NE(text.find("edgeloop_records_total{source=\"t1\"} 3"), std::string::npos);
  EXPECT_NE(text.find("edgeloop_latency_seconds_count 2"), std::string::npos);
  EXPECT_NE(text.find("edgeloop_latency_seconds_bucket{le=\"+Inf\"} 2"), std::string::npos);
  EXPECT_EQ(m.value("edgeloop_records_total", {{"source", "t1"}}), 3);
}

TEST(Histogram, QuantilesLandInTheRightBucket) {
  Histogram h;
  for (int i = 0; i < 99; ++i) h.record_ns(10'000);  // 10 us
  h.record_ns(5'000'000);                              // 5 ms
  EXPECT_LT(h.quantile_s(0.5), 13e-6);
  EXPECT_GE(h.quantile_s(0.5), 10e-6);
  EXPECT_GE(h.quantile_s(1.0), 5e-3);
  EXPECT_LT(h.quantile_s(1.0), 6.8e-3);
}

}  // namespace edgeloop
