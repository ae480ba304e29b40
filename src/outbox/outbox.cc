#include "outbox/outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "actions/event_json.h"
#include "core/clock.h"

namespace edgeloop {

namespace {

const char* when_full_name(WhenFull w) { return w == WhenFull::kDropOldest ? "drop_oldest" : "reject_new"; }

// A full barrier between a store and a later load (as runtime/parker.h): TSan does not model
// atomic_thread_fence, so under it a seq_cst read-modify-write of the flag stands in.
void full_fence(std::atomic<uint32_t>& flag) {
#if defined(__SANITIZE_THREAD__)
  flag.fetch_or(0, std::memory_order_seq_cst);
#else
  (void)flag;
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// Database files open in this process: two outboxes on one file would hand out the same
// sequences.
std::mutex& open_paths_mu() {
  static std::mutex mu;
  return mu;
}
std::set<std::string>& open_paths() {
  static std::set<std::string> paths;
  return paths;
}

std::string canonical_path(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  return ec ? path : p.string();
}

}  // namespace

Outbox::Outbox(OutboxConfig config) : config_(std::move(config)), queue_(config_.queue_capacity) {}

Outbox::~Outbox() {
  stop();
  if (!claimed_path_.empty()) {
    std::lock_guard lock(open_paths_mu());
    open_paths().erase(claimed_path_);
  }
}

Result<std::unique_ptr<Outbox>> Outbox::open(OutboxConfig config, std::unique_ptr<UpstreamSink> sink) {
  if (!sink) return make_error(Errc::kInvalidArgument, "the outbox needs a sink");
  if (config.gateway.empty()) return make_error(Errc::kInvalidArgument, "the outbox needs a gateway id");
  if (config.max_events == 0 || config.max_bytes == 0) {
    return make_error(Errc::kInvalidArgument, "max_events and max_bytes must be positive");
  }
  if (config.queue_capacity == 0 || config.batch_max == 0 || config.max_in_flight == 0) {
    return make_error(Errc::kInvalidArgument, "queue, batch and max_in_flight must be positive");
  }
  std::unique_ptr<Outbox> o(new Outbox(std::move(config)));
  {
    const std::string path = canonical_path(o->config_.path);
    std::lock_guard lock(open_paths_mu());
    if (!open_paths().insert(path).second) {
      return make_error(Errc::kInvalidConfig, "outbox " + o->config_.name + ": the database " + o->config_.path +
                                                  " is already used by another outbox in this process");
    }
    o->claimed_path_ = path;
  }
  EDGELOOP_ASSIGN_OR_RETURN(o->store_, OutboxStore::open(o->config_.path, o->config_.sync));
  o->sink_ = std::move(sink);
  o->next_seq_ = o->store_->last_seq() + 1;
  o->rows_ = o->store_->rows_at_open();
  o->bytes_ = o->store_->bytes_at_open();
  o->committed_seq_ = o->store_->last_seq();
  o->backlog_rows_ = o->rows_;
  o->backlog_bytes_ = o->bytes_;
  return o;
}

uint64_t Outbox::dropped(const std::string& reason) const {
  if (reason == "drop_oldest") return dropped_oldest_->value();
  if (reason == "reject_new") return dropped_reject_new_->value();
  if (reason == "queue_full") return dropped_queue_full_->value();
  if (reason == "too_large") return dropped_too_large_->value();
  if (reason == "rejected") return dropped_rejected_->value();
  if (reason == "db_error") return dropped_db_error_->value();
  return 0;
}

Status Outbox::start(const KeyTable* keys, Metrics* metrics, DeadLetterSink* dead_letters) {
  if (started_) return make_error(Errc::kInternal, "outbox " + config_.name + ": started twice");
  keys_ = keys;
  dead_letters_ = dead_letters;
  if (!metrics) {
    own_metrics_ = std::make_unique<Metrics>();
    metrics = own_metrics_.get();
  }
  Metrics& m = *metrics;
  const Metrics::Labels l = {{"outbox", config_.name}};
  accepted_ = &m.counter("edgeloop_outbox_accepted_total",
                         "Events committed to the outbox database: accepted, they will be delivered upstream.", l);
  delivered_ = &m.counter("edgeloop_outbox_delivered_total",
                          "Events the upstream confirmed (MQTT PUBACK, JetStream PubAck, duplicates included).", l);
  retried_ = &m.counter("edgeloop_outbox_retried_total",
                        "Sends that failed or were not confirmed (error, timeout, lost connection) and are sent again.", l);
  duplicates_ = &m.counter("edgeloop_outbox_duplicates_total",
                           "Deliveries the upstream already had: JetStream dropped a re-send by its message id.", l);
  commits_ = &m.counter("edgeloop_outbox_commits_total", "Transactions (group commits) of the outbox writer.", l);
  const std::string drop_help =
      "Events the outbox dropped, by reason: drop_oldest / reject_new (its bound was reached; when_full), queue_full "
      "(the writer fell behind), too_large (one event over max_bytes), rejected (refused by the upstream for good), "
      "db_error (the database refused the batch).";
  auto dropped = [&](const char* reason) {
    return &m.counter("edgeloop_outbox_dropped_total", drop_help, {{"outbox", config_.name}, {"reason", reason}});
  };
  dropped_oldest_ = dropped("drop_oldest");
  dropped_reject_new_ = dropped("reject_new");
  dropped_queue_full_ = dropped("queue_full");
  dropped_too_large_ = dropped("too_large");
  dropped_rejected_ = dropped("rejected");
  dropped_db_error_ = dropped("db_error");
  backlog_gauge_ = &m.gauge("edgeloop_outbox_backlog_events", "Events in the outbox database not yet confirmed upstream.", l);
  backlog_bytes_gauge_ = &m.gauge("edgeloop_outbox_backlog_bytes",
                                  "Bytes (payloads and names) of the events in the outbox database (bounded by max_bytes).", l);
  oldest_age_ = &m.gauge("edgeloop_outbox_oldest_age_seconds", "Age of the oldest event not yet confirmed upstream (0: none).", l);
  batch_size_ = &m.gauge("edgeloop_outbox_commit_batch_events", "Events in the outbox writer's last transaction.", l);
  in_flight_gauge_ = &m.gauge("edgeloop_outbox_in_flight", "Events sent upstream and not yet confirmed.", l);
  commit_latency_ = &m.histogram("edgeloop_outbox_commit_seconds", "Duration of one outbox transaction (with its fsync).", l);
  backlog_gauge_->set(static_cast<double>(rows_));
  backlog_bytes_gauge_->set(static_cast<double>(bytes_));

  EDGELOOP_TRY(sink_->start([this](uint64_t seq, SendOutcome o, std::string_view why) { on_completion(seq, o, why); }));
  if (rows_ > 0) {
    spdlog::info("outbox {}: {} event(s) from an earlier run to deliver (seq up to {})", config_.name, rows_, next_seq_ - 1);
  }
  refresh_oldest(true);
  stop_writer_ = false;
  stop_sender_ = false;
  started_ = true;
  writer_ = std::thread([this] { writer_loop(); });
  sender_ = std::thread([this] { sender_loop(); });
  return Status::Ok();
}

void Outbox::stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard lock(sender_mu_);
    stop_sender_ = true;
  }
  sender_cv_.notify_all();
  if (sender_.joinable()) sender_.join();
  sink_->stop();
  {
    std::lock_guard lock(writer_mu_);
    stop_writer_ = true;
  }
  writer_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  spdlog::info("outbox {}: stopped; accepted {}, delivered {}, {} event(s) wait for the next start", config_.name,
               accepted_->value(), delivered_->value(), rows_);
}

bool Outbox::push(const Event& e) {
  if (!queue_.try_push(e)) {
    dropped_queue_full_->add();
    return false;
  }
  // Pairs with the writer's fence between announcing sleep and re-checking the queue.
  full_fence(writer_sleeping_);
  if (writer_sleeping_.load(std::memory_order_relaxed) != 0) wake_writer();
  return true;
}

void Outbox::wake_writer() {
  std::lock_guard lock(writer_mu_);
  writer_cv_.notify_one();
}

// ---------------------------------------------------------------------------------------------
// Writer

void Outbox::writer_loop() {
  std::vector<Event> events;
  events.reserve(config_.batch_max);
  std::vector<uint64_t> deletes;
  while (true) {
    events.clear();
    Event e;
    while (events.size() < config_.batch_max && queue_.try_pop(e)) events.push_back(e);
    {
      std::unique_lock lock(writer_mu_);
      deletes.swap(to_delete_);
      to_delete_.clear();
      if (events.empty() && deletes.empty()) {
        if (stop_writer_.load() && queue_.empty_approx()) break;
        writer_sleeping_.store(1, std::memory_order_relaxed);
        full_fence(writer_sleeping_);
        if (queue_.empty_approx()) {
          writer_cv_.wait_for(lock, std::chrono::milliseconds(100),
                              [&] { return stop_writer_.load() || !to_delete_.empty() || !queue_.empty_approx(); });
        }
        writer_sleeping_.store(0, std::memory_order_relaxed);
        lock.unlock();
        refresh_oldest(false);
        continue;
      }
    }
    write_batch(events, deletes);
    deletes.clear();
    refresh_oldest(false);
  }
}

void Outbox::write_batch(std::vector<Event>& events, std::vector<uint64_t>& deletes) {
  const uint64_t rows0 = rows_, bytes0 = bytes_, next0 = next_seq_;
  uint64_t inserted = 0, dropped_oldest = 0, rejected_new = 0, too_large = 0;
  const int64_t t0 = mono_now_ns();
  Status st = store_->begin();
  if (st.ok()) st = apply_batch(events, deletes, inserted, dropped_oldest, rejected_new, too_large);
  if (st.ok()) st = store_->commit();
  if (!st.ok()) {
    store_->rollback();
    rows_ = rows0;
    bytes_ = bytes0;
    next_seq_ = next0;
    dropped_db_error_->add(events.size());
    // First and then every 100th: a full disk fails every batch.
    if (db_error_logs_++ % 100 == 0) {
      spdlog::error("outbox {}: a batch of {} event(s) could not be written ({} failed batches so far): {}", config_.name,
                    events.size(), db_error_logs_, st.error().message);
    }
    // The confirmed rows are deleted with a later batch.
    std::lock_guard lock(writer_mu_);
    to_delete_.insert(to_delete_.end(), deletes.begin(), deletes.end());
    return;
  }
  commit_latency_->record_ns(mono_now_ns() - t0);
  // The backlog first: whoever sees the counters move sees the backlog that goes with them.
  backlog_rows_.store(rows_, std::memory_order_release);
  backlog_bytes_.store(bytes_, std::memory_order_release);
  backlog_gauge_->set(static_cast<double>(rows_));
  backlog_bytes_gauge_->set(static_cast<double>(bytes_));
  batch_size_->set(static_cast<double>(inserted));
  if (dropped_oldest) dropped_oldest_->add(dropped_oldest);
  if (rejected_new) dropped_reject_new_->add(rejected_new);
  if (too_large) dropped_too_large_->add(too_large);
  accepted_->add(inserted);
  commits_->add();
  note_full(dropped_oldest + rejected_new, rows_ * 10 <= config_.max_events * 9 && bytes_ * 10 <= config_.max_bytes * 9);
  if (inserted) {
    {
      std::lock_guard lock(sender_mu_);
      committed_seq_.store(next_seq_ - 1, std::memory_order_release);
    }
    sender_cv_.notify_one();
  }
}

Status Outbox::apply_batch(std::vector<Event>& events, const std::vector<uint64_t>& deletes, uint64_t& inserted,
                           uint64_t& dropped_oldest, uint64_t& rejected_new, uint64_t& too_large) {
  for (uint64_t seq : deletes) {
    EDGELOOP_ASSIGN_OR_RETURN(std::optional<uint64_t> bytes, store_->remove(seq));
    if (bytes) {
      --rows_;
      bytes_ -= std::min(bytes_, *bytes);
    }
  }
  OutboxMessage m;
  const int64_t now = unix_now_ns();
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    m.seq = next_seq_;
    m.id = config_.gateway;
    m.id.push_back(':');
    m.id += std::to_string(m.seq);
    m.created_ns = now;
    m.key = keys_ && e.key != kNoKey ? keys_->name(e.key) : std::to_string(e.key);
    m.kind = event_kind_name(e.kind);
    m.pipeline = e.pipeline_name ? *e.pipeline_name : std::string();
    m.stage = e.name ? *e.name : std::string();
    m.payload.clear();
    EventJsonContext ctx;
    ctx.keys = keys_;
    ctx.gateway = config_.gateway;
    ctx.id = m.id;
    append_event_json(m.payload, e, ctx);
    const uint64_t b = OutboxStore::row_bytes(m);
    if (b > config_.max_bytes) {
      ++too_large;
      continue;
    }
    if (config_.when_full == WhenFull::kRejectNew) {
      if (rows_ + 1 > config_.max_events || bytes_ + b > config_.max_bytes) {
        ++rejected_new;
        continue;
      }
    } else {
      // Rows for the rest of the batch at once: every one of them will be inserted.
      if (rows_ + 1 > config_.max_events) {
        const uint64_t need = std::min(rows_, rows_ + (events.size() - i) - config_.max_events);
        uint64_t r = 0, by = 0;
        EDGELOOP_TRY(store_->drop_oldest(std::max<uint64_t>(need, 1), r, by));
        rows_ -= r;
        bytes_ -= std::min(bytes_, by);
        dropped_oldest += r;
      }
      while (bytes_ + b > config_.max_bytes && rows_ > 0) {
        const uint64_t avg = std::max<uint64_t>(1, bytes_ / rows_);
        const uint64_t need = (bytes_ + b - config_.max_bytes + avg - 1) / avg;
        uint64_t r = 0, by = 0;
        EDGELOOP_TRY(store_->drop_oldest(std::max<uint64_t>(need, 1), r, by));
        if (r == 0) break;
        rows_ -= r;
        bytes_ -= std::min(bytes_, by);
        dropped_oldest += r;
      }
    }
    EDGELOOP_TRY(store_->insert(m));
    ++rows_;
    bytes_ += b;
    ++next_seq_;
    ++inserted;
  }
  if (inserted) EDGELOOP_TRY(store_->set_last_seq(next_seq_ - 1));
  return Status::Ok();
}

void Outbox::note_full(uint64_t dropped_now, bool fits_again) {
  if (dropped_now > 0) {
    if (!full_episode_) {
      full_episode_ = true;
      episode_dropped_ = 0;
      spdlog::warn("outbox {}: full (max_events {}, max_bytes {}): {} (counted in edgeloop_outbox_dropped_total)",
                   config_.name, config_.max_events, config_.max_bytes,
                   config_.when_full == WhenFull::kDropOldest ? "dropping the oldest events" : "rejecting new events");
    }
    episode_dropped_ += dropped_now;
  } else if (full_episode_ && fits_again) {
    full_episode_ = false;
    spdlog::info("outbox {}: below its bound again; {} event(s) dropped ({}) while it was full", config_.name,
                 episode_dropped_, when_full_name(config_.when_full));
  }
}

void Outbox::refresh_oldest(bool force) {
  const int64_t now = mono_now_ns();
  if (!force && now - last_oldest_refresh_ns_ < 250'000'000) return;
  last_oldest_refresh_ns_ = now;
  auto oldest = store_->oldest_created_ns();
  if (!oldest.ok() || !oldest->has_value()) {
    if (oldest_age_) oldest_age_->set(0);
    return;
  }
  if (oldest_age_) oldest_age_->set(std::max<double>(0, static_cast<double>(unix_now_ns() - **oldest) * 1e-9));
  if (queue_.size_approx() * 2 > queue_.capacity() && dropped_queue_full_->value() > 0) {
    // Logged at most every refresh while drops happen (the dispatch thread does not log).
    static thread_local uint64_t last_logged = 0;
    const uint64_t n = dropped_queue_full_->value();
    if (n != last_logged) {
      spdlog::warn("outbox {}: the writer falls behind; {} event(s) dropped so far (queue_full)", config_.name, n);
      last_logged = n;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Sender

void Outbox::on_completion(uint64_t seq, SendOutcome outcome, std::string_view why) {
  {
    std::lock_guard lock(sender_mu_);
    completions_.push_back(Completion{seq, outcome, std::string(why)});
  }
  sender_cv_.notify_one();
}

int64_t Outbox::backoff_ns(int failures) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t d = config_.retry_min_ns;
  for (int i = 1; i < failures && d < config_.retry_max_ns; ++i) d *= 2;
  d = std::min(d, config_.retry_max_ns);
  // Full back-off times a factor in [0.5, 1): gateways that lost the same upstream spread out.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return static_cast<int64_t>(static_cast<double>(d) * jitter(rng));
}

void Outbox::reject(const OutboxMessage& m, const std::string& why) {
  dropped_rejected_->add();
  if (reject_logs_.fetch_add(1) % 1000 == 0) {
    spdlog::error("outbox {}: {} refused {} for good ({}); dropped", config_.name, sink_->describe(), m.id, why);
  }
  if (!dead_letters_) return;
  DeadLetter d;
  d.source = config_.name;
  d.reason = "upstream refused it: " + why;
  d.topic = m.id;
  d.payload = m.payload;
  d.recv_ns = m.created_ns;
  dead_letters_->write(std::move(d));
}

void Outbox::sender_loop() {
  struct Flight {
    uint64_t epoch;
  };
  uint64_t cursor = 0;                // rows up to here were handed to the sink (or skipped)
  std::map<uint64_t, Flight> flying;  // sent, not resolved
  std::set<uint64_t> skip;            // confirmed above the resync point: not sent again
  uint64_t failed_min = UINT64_MAX;   // oldest failed seq of this round
  bool resync = false;
  int failures = 0;
  bool failing_logged = false;
  std::string last_why;
  std::vector<Completion> done;
  std::vector<OutboxMessage> page;
  std::vector<uint64_t> deletes;
  int64_t next_try_ns = 0;  // mono: no sending before (back-off)

  // A seq resolved while an older one is unresolved: if that one fails, the re-send from it
  // must not send this one again.
  auto resolved_above_unresolved = [&](uint64_t seq) {
    return (failed_min != UINT64_MAX && seq > failed_min) || (!flying.empty() && flying.begin()->first < seq);
  };
  // Skips below every unresolved seq can never be read again.
  auto prune_skip = [&] {
    if (skip.empty()) return;
    const uint64_t low = std::min(failed_min, flying.empty() ? cursor + 1 : flying.begin()->first);
    skip.erase(skip.begin(), skip.lower_bound(low));
  };
  auto old_epoch_in_flight = [&] {
    const uint64_t ep = sink_->epoch();
    for (const auto& [seq, f] : flying)
      if (f.epoch != ep) return true;
    return false;
  };

  while (true) {
    {
      std::unique_lock lock(sender_mu_);
      const auto can_read = [&] {
        return !resync && flying.size() < config_.max_in_flight &&
               committed_seq_.load(std::memory_order_acquire) > cursor && mono_now_ns() >= next_try_ns;
      };
      if (!stop_sender_ && completions_.empty() && !can_read()) {
        // Woken by a completion or a commit; a timeout for back-off, sink readiness and epochs.
        int64_t wait_ns = resync || !flying.empty() ? 20'000'000 : 100'000'000;
        const int64_t until_try = next_try_ns - mono_now_ns();
        if (until_try > 0) wait_ns = std::min(wait_ns, until_try);
        sender_cv_.wait_for(lock, std::chrono::nanoseconds(std::max<int64_t>(wait_ns, 1'000'000)));
      }
      if (stop_sender_) break;
      done.swap(completions_);
      completions_.clear();
    }

    for (auto& c : done) {
      const bool known = flying.erase(c.seq) > 0;
      switch (c.outcome) {
        case SendOutcome::kDelivered:
          if (known) delivered_->add();
          if (c.why == kDuplicateDelivery) duplicates_->add();
          deletes.push_back(c.seq);
          if (resolved_above_unresolved(c.seq)) skip.insert(c.seq);
          failures = 0;
          if (failing_logged && flying.empty() && !resync) {
            spdlog::info("outbox {}: delivering to {} again", config_.name, sink_->describe());
            failing_logged = false;
          }
          break;
        case SendOutcome::kRejected: {
          OutboxMessage m;
          m.seq = c.seq;
          m.id = config_.gateway + ":" + std::to_string(c.seq);
          reject(m, c.why);
          deletes.push_back(c.seq);
          if (resolved_above_unresolved(c.seq)) skip.insert(c.seq);
          break;
        }
        case SendOutcome::kRetry:
          if (!known) break;
          retried_->add();
          failed_min = std::min(failed_min, c.seq);
          resync = true;
          last_why = c.why;
          break;
      }
    }
    done.clear();
    prune_skip();
    if (!deletes.empty()) {
      {
        std::lock_guard lock(writer_mu_);
        to_delete_.insert(to_delete_.end(), deletes.begin(), deletes.end());
      }
      writer_cv_.notify_one();
      deletes.clear();
    }
    in_flight_count_.store(flying.size(), std::memory_order_relaxed);
    in_flight_gauge_->set(static_cast<double>(flying.size()));

    if (resync) {
      if (!flying.empty()) continue;  // every send of this round resolved first: then in order
      ++failures;
      if (!failing_logged) {
        spdlog::warn("outbox {}: delivery to {} failed ({}); re-sending from {}:{} with back-off", config_.name,
                     sink_->describe(), last_why, config_.gateway, failed_min);
        failing_logged = true;
      }
      cursor = failed_min - 1;
      failed_min = UINT64_MAX;
      resync = false;
      next_try_ns = mono_now_ns() + backoff_ns(failures);
      continue;
    }
    if (mono_now_ns() < next_try_ns) continue;
    if (flying.size() >= config_.max_in_flight) continue;
    if (committed_seq_.load(std::memory_order_acquire) <= cursor) continue;
    if (!flying.empty() && old_epoch_in_flight()) {  // let the older connection's sends resolve first
      next_try_ns = mono_now_ns() + 20'000'000;
      continue;
    }
    if (!sink_->ready()) {
      next_try_ns = mono_now_ns() + std::min<int64_t>(config_.retry_min_ns, 100'000'000);
      continue;
    }

    page.clear();
    const std::size_t room = std::min<std::size_t>(config_.max_in_flight - flying.size(), 512);
    Status st = store_->read_after(cursor, room, page);
    if (!st.ok()) {
      spdlog::error("outbox {}: {}", config_.name, st.error().message);
      next_try_ns = mono_now_ns() + backoff_ns(++failures);
      continue;
    }
    if (page.empty()) {
      // Rows up to the commit went (dropped while full, or confirmed): nothing left below it.
      cursor = std::max(cursor, committed_seq_.load(std::memory_order_acquire));
      continue;
    }
    for (const OutboxMessage& m : page) {
      cursor = m.seq;
      if (skip.erase(m.seq)) continue;
      flying[m.seq] = Flight{sink_->epoch()};
      Status sent = sink_->send(m);
      if (sent.ok()) continue;
      flying.erase(m.seq);
      if (sent.error().code == Errc::kTooLarge || sent.error().code == Errc::kInvalidArgument) {
        reject(m, sent.error().message);
        deletes.push_back(m.seq);
        continue;
      }
      retried_->add();
      failed_min = std::min(failed_min, m.seq);
      resync = true;
      last_why = sent.error().message;
      break;
    }
    prune_skip();
    in_flight_count_.store(flying.size(), std::memory_order_relaxed);
    in_flight_gauge_->set(static_cast<double>(flying.size()));
  }
  in_flight_count_.store(0, std::memory_order_relaxed);
  if (in_flight_gauge_) in_flight_gauge_->set(0);
  if (!deletes.empty()) {
    std::lock_guard lock(writer_mu_);
    to_delete_.insert(to_delete_.end(), deletes.begin(), deletes.end());
  }
}

}  // namespace edgeloop
