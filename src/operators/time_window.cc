#include "operators/time_window.h"

#include <numeric>

namespace edgeloop {

namespace {

// Floor division for a positive divisor (event times before 1970 are negative).
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b) != 0 && a < 0) --q;
  return q;
}

int64_t floor_mod(int64_t a, int64_t b) {
  const int64_t m = a % b;
  return m < 0 ? m + b : m;
}

}  // namespace

TimeWindow::TimeWindow(WindowSpec spec, const StageContext& ctx) : spec_(std::move(spec)) {
  nf_ = spec_.fields.size();
  pane_ns_ = std::gcd(spec_.duration_ns, spec_.hop_ns);
  panes_ = spec_.duration_ns / pane_ns_;
  if (ctx.metrics) {
    late_total_ = &ctx.metrics->counter("edgeloop_stage_late_total",
                                        "Readings a time window dropped because their windows had closed.",
                                        stage_labels(ctx));
  }
}

void TimeWindow::grow(uint32_t slot) {
  std::size_t n = keys_.size();
  const std::size_t want = static_cast<std::size_t>(slot) + 1;
  n = n * 2 > want ? n * 2 : want;
  keys_.resize(n);
  panes_state_.resize(n * static_cast<std::size_t>(panes_));
  acc_.resize(n * static_cast<std::size_t>(panes_) * nf_);
}

std::size_t TimeWindow::pane_at(uint32_t slot, int64_t id) const {
  return static_cast<std::size_t>(slot) * static_cast<std::size_t>(panes_) + static_cast<std::size_t>(floor_mod(id, panes_));
}

void TimeWindow::process(const Record& r, Emitter& out) {
  if (r.slot >= keys_.size()) grow(r.slot);
  Key& k = keys_[r.slot];
  const int64_t ts = r.ts_ns;
  const int64_t hop = spec_.hop_ns, dur = spec_.duration_ns;
  if (!k.active) {
    k.active = true;
    k.key = r.key;
    k.source = r.source;
    k.open = floor_div(ts - dur, hop) + 1;  // the oldest window that holds ts or a later time
    k.wm = ts;
  } else {
    if (ts < k.open * hop) {  // older than the oldest open window
      ++late_;
      if (late_total_) late_total_->add();
      return;
    }
    if (ts > k.wm) {
      close_until(r.slot, k, ts, out);
      k.wm = ts;
    }
  }
  // Between windows (hop > duration): no window holds this reading.
  if (ts >= floor_div(ts, hop) * hop + dur) return;
  const int64_t id = floor_div(ts, pane_ns_);
  const std::size_t at = pane_at(r.slot, id);
  Pane& p = panes_state_[at];
  FieldAcc* acc = &acc_[at * nf_];
  if (p.id != id) {
    p = Pane{};
    p.id = id;
    for (std::size_t fi = 0; fi < nf_; ++fi) acc[fi].reset();
  }
  // first and last by event time (ties: the later arrival is last).
  const bool is_first = p.n == 0 || ts < p.first_ts;
  const bool is_last = p.n == 0 || ts >= p.last_ts;
  ++p.n;
  for (std::size_t fi = 0; fi < nf_; ++fi) {
    const double x = r.f[spec_.fields[fi]];
    acc[fi].add(x, p.n, spec_.needs_welford);
    if (is_first) acc[fi].first = x;
    if (is_last) acc[fi].last = x;
  }
  if (is_first) p.first_ts = ts;
  if (is_last) {
    p.last_ts = ts;
    p.last_recv = r.recv_ns;
  }
}

void TimeWindow::close_until(uint32_t slot, Key& k, int64_t t, Emitter& out) {
  const int64_t hop = spec_.hop_ns, dur = spec_.duration_ns;
  while (k.open * hop + dur <= t) {
    if (k.open * hop > k.wm) {
      // This window and every later one that ends by t start after the newest reading: empty.
      // Jump over them (a key quiet for a day with hop 1s is not 86400 iterations).
      const int64_t next = floor_div(t - dur, hop) + 1;
      if (next > k.open) k.open = next;
      break;
    }
    emit_window(slot, k, k.open, out);
    ++k.open;
  }
}

void TimeWindow::emit_window(uint32_t slot, const Key& k, int64_t index, Emitter& out) {
  const int64_t first_pane = floor_div(index * spec_.hop_ns, pane_ns_);
  SummaryBuilder b[kMaxFields];
  uint64_t n = 0;
  int64_t last_recv = 0;
  for (int64_t id = first_pane; id < first_pane + panes_; ++id) {
    const std::size_t at = pane_at(slot, id);
    const Pane& p = panes_state_[at];
    if (p.id != id || p.n == 0) continue;
    n += p.n;
    last_recv = p.last_recv;
    for (std::size_t fi = 0; fi < nf_; ++fi) b[fi].add(acc_[at * nf_ + fi], p.n, p.first_ts, p.last_ts);
  }
  if (n == 0) return;
  Record o;
  o.key = k.key;
  o.source = k.source;
  o.slot = slot;
  o.recv_ns = last_recv;
  std::size_t j = 0;
  for (std::size_t fi = 0; fi < nf_; ++fi) {
    const Summary s = b[fi].finish();
    o.ts_ns = s.last_ts;
    for (Agg a : spec_.aggs) o.f[j++] = agg_value(a, s);
  }
  o.nfields = static_cast<uint8_t>(j);
  out.forward(o);
}

void TimeWindow::tick(int64_t now_ns, Emitter& out) {
  if (spec_.idle_close_ns <= 0) return;
  const int64_t t = now_ns - spec_.idle_close_ns;
  const int64_t hop = spec_.hop_ns, dur = spec_.duration_ns;
  for (std::size_t slot = 0; slot < keys_.size(); ++slot) {
    Key& k = keys_[slot];
    if (k.active && k.open * hop + dur <= t) close_until(static_cast<uint32_t>(slot), k, t, out);
  }
}

}  // namespace edgeloop
