#include "runtime/dispatcher.h"

#include "core/clock.h"

namespace edgeloop {

bool EventSelector::matches(const Event& e) const {
  if (pipeline >= 0 && e.pipeline != pipeline) return false;
  switch (what) {
    case What::kAll: return true;
    case What::kAlert: return e.kind == EventKind::kAlert;
    case What::kRaised: return e.kind == EventKind::kAlert && e.state == AlertState::kRaised;
    case What::kCleared: return e.kind == EventKind::kAlert && e.state == AlertState::kCleared;
    case What::kInsight: return e.kind == EventKind::kInsight;
    case What::kCommand: return e.kind == EventKind::kCommand;
  }
  return false;
}

Result<EventSelector> EventSelector::parse(std::string_view s) {
  EventSelector sel;
  if (s.empty() || s == "*" || s == "all") sel.what = What::kAll;
  else if (s == "alert" || s == "alerts") sel.what = What::kAlert;
  else if (s == "raised") sel.what = What::kRaised;
  else if (s == "cleared") sel.what = What::kCleared;
  else if (s == "insight" || s == "insights") sel.what = What::kInsight;
  else if (s == "command" || s == "commands") sel.what = What::kCommand;
  else return make_error(Errc::kInvalidConfig, "unknown event selector '" + std::string(s) +
                                                   "' (all, alert, raised, cleared, insight, command)");
  return sel;
}

Dispatcher::Dispatcher(Metrics& metrics, std::vector<std::string> pipeline_names) : metrics_(metrics) {
  for (const auto& p : pipeline_names) {
    per_pipeline_.push_back(PipelineMetrics{
        &metrics_.histogram("edgeloop_event_latency_seconds",
                            "From receipt of the reading that caused an event to its hand-off to every action.",
                            {{"pipeline", p}}),
        &metrics_.counter("edgeloop_events_total", "Events out of a pipeline.", {{"pipeline", p}, {"kind", "alert_raised"}}),
        &metrics_.counter("edgeloop_events_total", "Events out of a pipeline.", {{"pipeline", p}, {"kind", "alert_cleared"}}),
        &metrics_.counter("edgeloop_events_total", "Events out of a pipeline.", {{"pipeline", p}, {"kind", "insight"}}),
        &metrics_.counter("edgeloop_events_total", "Events out of a pipeline.", {{"pipeline", p}, {"kind", "command"}}),
    });
  }
}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::add_action(Action* action, EventSelector selector, std::string name) {
  bindings_.push_back(Binding{action, selector,
                              &metrics_.counter("edgeloop_action_dispatched_total", "Events handed to an action.",
                                                {{"action", name}})});
}

void Dispatcher::start() {
  if (thread_.joinable()) return;
  stop_.store(false);
  thread_ = std::thread([this] { run(); });
}

void Dispatcher::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  parker_.wake();
  thread_.join();
}

void Dispatcher::dispatch(Event& e) {
  e.seq = seq_.fetch_add(1, std::memory_order_relaxed) + 1;
  for (auto& b : bindings_) {
    if (!b.selector.matches(e)) continue;
    b.action->on_event(e);
    b.delivered->add();
  }
  for (auto& l : listeners_) l(e);
  if (e.pipeline < per_pipeline_.size()) {
    auto& m = per_pipeline_[e.pipeline];
    if (e.recv_ns > 0) m.latency->record_ns(unix_now_ns() - e.recv_ns);
    switch (e.kind) {
      case EventKind::kAlert: (e.state == AlertState::kCleared ? m.cleared : m.raised)->add(); break;
      case EventKind::kInsight: m.insights->add(); break;
      case EventKind::kCommand: m.commands->add(); break;
    }
  }
}

bool Dispatcher::drain_once() {
  bool got = false;
  for (auto* ring : rings_) {
    for (int i = 0; i < 256; ++i) {
      Event* e = ring->front();
      if (!e) break;
      dispatch(*e);
      ring->pop();
      got = true;
    }
  }
  return got;
}

void Dispatcher::run() {
  while (true) {
    if (drain_once()) continue;
    if (stop_.load(std::memory_order_acquire)) {
      if (!drain_once()) break;
      continue;
    }
    parker_.prepare_park();
    bool found = false;
    for (auto* ring : rings_) found = found || !ring->empty_approx();
    if (found || stop_.load(std::memory_order_acquire)) {
      parker_.cancel_park();
      continue;
    }
    parker_.park(100'000'000);
  }
}

}  // namespace edgeloop
