#include "operators/count_window.h"

#include <cmath>

namespace edgeloop {

CountWindow::CountWindow(WindowSpec spec) : spec_(std::move(spec)) {
  nf_ = spec_.fields.size();
  sliding_ = spec_.hop < spec_.size;
  // Emissions fall on readings n = size + k * hop (1-based); with `partial`, also on those
  // before the window is full (k < 0, n >= 1).
  first_emit_ = spec_.partial && sliding_ ? (spec_.size - 1) % spec_.hop + 1 : spec_.size;
}

void CountWindow::grow(uint32_t slot) {
  std::size_t n = keys_.size();
  const std::size_t want = static_cast<std::size_t>(slot) + 1;
  n = n * 2 > want ? n * 2 : want;
  const std::size_t old = keys_.size();
  keys_.resize(n);
  for (std::size_t s = old; s < n; ++s) keys_[s].to_emit = first_emit_;
  if (sliding_) {
    ring_.resize(n * nf_ * spec_.size);
    if (spec_.needs_ts) ts_ring_.resize(n * spec_.size);
    sums_.resize(n * nf_);
    if (spec_.needs_minmax) {
      mono_.resize(n * nf_ * 2);
      entries_.resize(n * nf_ * 2 * spec_.size);
    }
  } else {
    acc_.resize(n * nf_);
  }
}

void CountWindow::process(const Record& r, Emitter& out) {
  if (r.slot >= keys_.size()) grow(r.slot);
  Key& k = keys_[r.slot];
  if (sliding_) process_sliding(r, k, out);
  else process_tumbling(r, k, out);
}

void CountWindow::process_tumbling(const Record& r, Key& k, Emitter& out) {
  // Readings at positions [0, size) of each hop period form a window; the rest (hop > size) fall
  // between windows.
  FieldAcc* acc = &acc_[static_cast<std::size_t>(r.slot) * nf_];
  if (k.phase < spec_.size) {
    if (k.phase == 0) {
      for (std::size_t fi = 0; fi < nf_; ++fi) acc[fi].reset();
      k.first_ts = r.ts_ns;
    }
    const uint64_t n = k.phase + 1;
    for (std::size_t fi = 0; fi < nf_; ++fi) {
      const double x = r.f[spec_.fields[fi]];
      acc[fi].add(x, n, spec_.needs_welford);
      if (n == 1) acc[fi].first = x;
      acc[fi].last = x;
    }
    if (n == spec_.size) {
      Summary s[kMaxFields];
      for (std::size_t fi = 0; fi < nf_; ++fi) {
        SummaryBuilder b;
        b.add(acc[fi], n, k.first_ts, r.ts_ns);
        s[fi] = b.finish();
      }
      emit(r, s, out);
    }
  }
  if (++k.phase == spec_.hop) k.phase = 0;
}

void CountWindow::mono_push(Mono& m, MonoEntry* e, double x, uint64_t idx, bool is_min) const {
  const uint32_t cap = static_cast<uint32_t>(spec_.size);
  // Drop what left the window, then what can never be the extreme again.
  while (m.len && e[m.head].idx + spec_.size <= idx) {
    m.head = m.head + 1 == cap ? 0 : m.head + 1;
    --m.len;
  }
  if (x != x) return;  // NaN: min and max ignore it
  while (m.len) {
    uint32_t back = m.head + m.len - 1;
    if (back >= cap) back -= cap;
    if (is_min ? e[back].v < x : e[back].v > x) break;
    --m.len;
  }
  uint32_t at = m.head + m.len;
  if (at >= cap) at -= cap;
  e[at] = MonoEntry{x, idx};
  ++m.len;
}

void CountWindow::recompute(uint32_t slot, const Key& k) {
  // Running sums drift when readings are not exact in binary; recomputing them once per `size`
  // evictions bounds the drift at O(1) amortized cost, and re-centres the variance shift.
  const std::size_t size = spec_.size;
  const uint64_t count = k.n < size ? k.n : size;
  for (std::size_t fi = 0; fi < nf_; ++fi) {
    const double* ring = &ring_[(static_cast<std::size_t>(slot) * nf_ + fi) * size];
    Sums& s = sums_[static_cast<std::size_t>(slot) * nf_ + fi];
    double sum = 0;
    uint64_t finite = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (std::isfinite(ring[i])) {
        sum += ring[i];
        ++finite;
      }
    }
    s.sum = sum;
    s.shift = finite ? sum / static_cast<double>(finite) : 0.0;
    s.ssum = 0;
    s.qsum = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (std::isfinite(ring[i])) {
        const double d = ring[i] - s.shift;
        s.ssum += d;
        s.qsum += d * d;
      }
    }
  }
}

void CountWindow::process_sliding(const Record& r, Key& k, Emitter& out) {
  const std::size_t size = spec_.size;
  const std::size_t slot = r.slot;
  const bool full = k.n >= size;
  const uint64_t idx = k.n;
  for (std::size_t fi = 0; fi < nf_; ++fi) {
    const double x = r.f[spec_.fields[fi]];
    double* ring = &ring_[(slot * nf_ + fi) * size];
    Sums& s = sums_[slot * nf_ + fi];
    if (k.n == 0) s.shift = std::isfinite(x) ? x : 0.0;
    if (full) {
      const double old = ring[k.pos];
      if (std::isfinite(old)) {
        const double d = old - s.shift;
        s.sum -= old;
        s.ssum -= d;
        s.qsum -= d * d;
      } else {
        --s.nonfinite;
      }
    }
    if (std::isfinite(x)) {
      const double d = x - s.shift;
      s.sum += x;
      s.ssum += d;
      s.qsum += d * d;
    } else {
      ++s.nonfinite;
    }
    ring[k.pos] = x;
    if (spec_.needs_minmax) {
      Mono* m = &mono_[(slot * nf_ + fi) * 2];
      MonoEntry* e = &entries_[(slot * nf_ + fi) * 2 * size];
      mono_push(m[0], e, x, idx, true);
      mono_push(m[1], e + size, x, idx, false);
    }
  }
  if (spec_.needs_ts) ts_ring_[slot * size + k.pos] = r.ts_ns;
  if (++k.pos == size) k.pos = 0;
  ++k.n;
  if (full && ++k.evictions >= size) {
    recompute(r.slot, k);
    k.evictions = 0;
  }
  if (--k.to_emit == 0) {
    k.to_emit = spec_.hop;
    Summary s[kMaxFields];
    for (std::size_t fi = 0; fi < nf_; ++fi) s[fi] = sliding_summary(r.slot, fi, k, r.f[spec_.fields[fi]], r.ts_ns);
    emit(r, s, out);
  }
}

Summary CountWindow::sliding_summary(uint32_t slot, std::size_t fi, const Key& k, double last, int64_t last_ts) const {
  const std::size_t size = spec_.size;
  const std::size_t base = static_cast<std::size_t>(slot) * nf_ + fi;
  const double* ring = &ring_[base * size];
  const Sums& sm = sums_[base];
  const bool full = k.n >= size;
  const std::size_t oldest = full ? k.pos : 0;
  Summary s;
  s.n = full ? size : k.n;
  s.last = last;
  s.last_ts = last_ts;
  s.first = ring[oldest];
  s.first_ts = spec_.needs_ts ? ts_ring_[static_cast<std::size_t>(slot) * size + oldest] : 0;
  if (sm.nonfinite == 0) {
    s.sum = sm.sum;
    if (s.n >= 2) {
      const double n = static_cast<double>(s.n);
      s.var = (sm.qsum - sm.ssum * sm.ssum / n) / (n - 1);
      if (s.var < 0) s.var = 0;  // rounding of a (near) constant window
    }
  } else {
    // A NaN or inf in the window: the plain sum says what IEEE says, the variance is NaN.
    double sum = 0;
    for (std::size_t i = 0; i < s.n; ++i) sum += ring[i];
    s.sum = sum;
    s.var = kNaN;
  }
  if (spec_.needs_minmax) {
    const Mono* m = &mono_[base * 2];
    const MonoEntry* e = &entries_[base * 2 * size];
    s.min = m[0].len ? e[m[0].head].v : kNaN;
    s.max = m[1].len ? e[size + m[1].head].v : kNaN;
  }
  return s;
}

void CountWindow::emit(const Record& r, const Summary* sums, Emitter& out) const {
  Record o;
  o.key = r.key;
  o.source = r.source;
  o.slot = r.slot;
  o.ts_ns = r.ts_ns;
  o.recv_ns = r.recv_ns;
  std::size_t j = 0;
  for (std::size_t fi = 0; fi < nf_; ++fi)
    for (Agg a : spec_.aggs) o.f[j++] = agg_value(a, sums[fi]);
  o.nfields = static_cast<uint8_t>(j);
  out.forward(o);
}

}  // namespace edgeloop
