#include "core/metrics.h"

#include <cmath>
#include <cstdio>

namespace edgeloop {

void Histogram::record_ns(int64_t ns) {
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
  const double us = static_cast<double>(ns) * 1e-3;
  int i = 0;
  if (us > 1.0) {
    i = static_cast<int>(std::ceil(std::log2(us) * kSub));
    if (i >= kBuckets - 1) i = kBuckets - 1;
  }
  buckets_[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
}

double Histogram::bucket_upper_s(int i) {
  if (i >= kBuckets - 1) return INFINITY;
  return std::exp2(static_cast<double>(i) / kSub) * 1e-6;
}

double Histogram::quantile_s(double q) const {
  const uint64_t n = count();
  if (n == 0) return 0;
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += bucket(i);
    if (seen >= rank && seen > 0) return i == kBuckets - 1 ? bucket_upper_s(i - 1) : bucket_upper_s(i);
  }
  return bucket_upper_s(kBuckets - 2);
}

std::string Metrics::render_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string s = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) s += ',';
    s += labels[i].first;
    s += "=\"";
    for (char c : labels[i].second) {
      if (c == '\\' || c == '"') s += '\\';
      if (c == '\n') { s += "\\n"; continue; }
      s += c;
    }
    s += '"';
  }
  return s + "}";
}

template <class T>
static T& get_or_add(std::map<std::string, std::size_t>& series, std::deque<T>& store, const std::string& key) {
  auto it = series.find(key);
  if (it != series.end()) return store[it->second];
  store.emplace_back();
  series.emplace(key, store.size() - 1);
  return store.back();
}

Counter& Metrics::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& fam = families_.try_emplace(name, Family{Type::kCounter, help, {}}).first->second;
  return get_or_add(fam.series, counters_, render_labels(labels));
}

Gauge& Metrics::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& fam = families_.try_emplace(name, Family{Type::kGauge, help, {}}).first->second;
  return get_or_add(fam.series, gauges_, render_labels(labels));
}

Histogram& Metrics::histogram(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& fam = families_.try_emplace(name, Family{Type::kHistogram, help, {}}).first->second;
  return get_or_add(fam.series, histograms_, render_labels(labels));
}

static std::string fmt_double(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Inserts an extra label into a rendered label set.
static std::string with_label(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

std::string Metrics::render_prometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(4096);
  for (const auto& [name, fam] : families_) {
    const char* type = fam.type == Type::kCounter ? "counter" : fam.type == Type::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + fam.help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, idx] : fam.series) {
      switch (fam.type) {
        case Type::kCounter:
          out += name + labels + " " + std::to_string(counters_[idx].value()) + "\n";
          break;
        case Type::kGauge:
          out += name + labels + " " + fmt_double(gauges_[idx].value()) + "\n";
          break;
        case Type::kHistogram: {
          const Histogram& h = histograms_[idx];
          uint64_t cum = 0;
          // Export every 4th fine bucket (one per power of two) plus +Inf: enough resolution
          // for dashboards at a fraction of the series count.
          for (int i = 0; i < Histogram::kBuckets; ++i) {
            cum += h.bucket(i);
            if (i % Histogram::kSub != 0 && i != Histogram::kBuckets - 1) continue;
            out += name + "_bucket" + with_label(labels, "le=\"" + fmt_double(Histogram::bucket_upper_s(i)) + "\"") +
                   " " + std::to_string(cum) + "\n";
          }
          out += name + "_sum" + labels + " " + fmt_double(h.sum_seconds()) + "\n";
          out += name + "_count" + labels + " " + std::to_string(h.count()) + "\n";
          break;
        }
      }
    }
  }
  return out;
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto s = f->second.series.find(render_labels(labels));
  if (s == f->second.series.end()) return 0;
  if (f->second.type == Type::kCounter) return static_cast<double>(counters_[s->second].value());
  if (f->second.type == Type::kGauge) return gauges_[s->second].value();
  return static_cast<double>(histograms_[s->second].count());
}

const Histogram* Metrics::find_histogram(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end() || f->second.type != Type::kHistogram) return nullptr;
  auto s = f->second.series.find(render_labels(labels));
  return s == f->second.series.end() ? nullptr : &histograms_[s->second];
}

}  // namespace edgeloop
