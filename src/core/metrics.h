// Counters and latency histograms, readable from any thread, exported in Prometheus text
// format. Writers use relaxed atomics; a metric lives as long as its Metrics registry.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace edgeloop {

class Counter {
 public:
  void add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Latency in nanoseconds, in log-spaced buckets: 4 per power of two from 1 us to ~17 s.
class Histogram {
 public:
  static constexpr int kSub = 4;
  static constexpr int kOctaves = 25;  // 2^0 .. 2^24 us
  static constexpr int kBuckets = kSub * kOctaves + 1;

  void record_ns(int64_t ns);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum_seconds() const { return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) * 1e-9; }
  // Upper bound of bucket i in seconds (the last one is +Inf).
  static double bucket_upper_s(int i);
  uint64_t bucket(int i) const { return buckets_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed); }
  // Approximate quantile (q in [0,1]) in seconds: the upper bound of the bucket that holds it.
  double quantile_s(double q) const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<int64_t> sum_ns_{0};
};

// Owns metrics by name and labels. Lookups take a mutex: fetch the pointer once, at setup.
class Metrics {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {});

  // Prometheus text exposition format 0.0.4.
  std::string render_prometheus() const;
  // Value of a counter or gauge (0 when absent), for tests and summaries.
  double value(const std::string& name, const Labels& labels = {}) const;
  const Histogram* find_histogram(const std::string& name, const Labels& labels = {}) const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::size_t> series;  // rendered labels -> index into the deque
  };
  static std::string render_labels(const Labels& labels);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::deque<Counter> counters_;
  std::deque<Gauge> gauges_;
  std::deque<Histogram> histograms_;
};

}  // namespace edgeloop
