// The outbox with a fake sink: ids, order, group commit, restarts, retries, epochs, bounds.
#include "outbox/outbox.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "fake_sink.h"
#include "fakes.h"
#include "process.h"

namespace edgeloop {
namespace {

using namespace std::chrono_literals;
using test::FakeSink;
using test::wait_until;

// Builds alert events the way a rule stage does (names owned here, as by the runtime).
struct Events {
  KeyTable keys;
  Schema schema{std::vector<std::string>{"v"}};
  std::string pipeline = "p";
  std::string stage = "hot";
  Event make(const std::string& key, int64_t ts, double v = 1.0) {
    Event e;
    e.kind = EventKind::kAlert;
    e.state = AlertState::kRaised;
    e.severity = Severity::kWarning;
    e.key = *keys.intern(key, "", 0);
    e.ts_ns = ts;
    e.nfields = 1;
    e.f[0] = v;
    e.schema = &schema;
    e.name = &stage;
    e.pipeline_name = &pipeline;
    return e;
  }
};

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = test::make_temp_dir("edgeloop-outbox-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    config_.name = "up";
    config_.path = dir_ + "/outbox.db";
    config_.gateway = "gw";
    config_.retry_min_ns = 1'000'000;
    config_.retry_max_ns = 5'000'000;
  }
  void TearDown() override {
    outbox_.reset();
    test::remove_tree(dir_);
  }

  // Opens and starts an outbox on config_ with a fresh fake sink (kept in sink_).
  void open(bool ready = true) {
    auto sink = std::make_unique<FakeSink>();
    sink->ready_ = ready;
    sink_ = sink.get();
    auto o = Outbox::open(config_, std::move(sink));
    ASSERT_TRUE(o.ok()) << o.error().message;
    outbox_ = std::move(o).value();
    metrics_ = std::make_unique<Metrics>();
    ASSERT_TRUE(outbox_->start(&events_.keys, metrics_.get(), &dead_letters_).ok());
  }
  void close() {
    outbox_->stop();
    outbox_.reset();
    sink_ = nullptr;
  }
  static std::vector<uint64_t> seqs(const std::vector<OutboxMessage>& msgs) {
    std::vector<uint64_t> out;
    for (const auto& m : msgs) out.push_back(m.seq);
    return out;
  }
  static std::vector<uint64_t> range(uint64_t from, uint64_t to) {
    std::vector<uint64_t> out;
    for (uint64_t s = from; s <= to; ++s) out.push_back(s);
    return out;
  }

  std::string dir_;
  OutboxConfig config_;
  Events events_;
  FakeSink* sink_ = nullptr;
  std::unique_ptr<Metrics> metrics_;
  test::CollectingDeadLetters dead_letters_;
  std::unique_ptr<Outbox> outbox_;
};

TEST_F(OutboxTest, DeliversEveryEventOnceInOrderWithStableIds) {
  open();
  constexpr int kN = 1000;
  for (int i = 0; i < kN; ++i) ASSERT_TRUE(outbox_->push(events_.make("k" + std::to_string(i % 5), 1000 + i, i)));
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == kN && outbox_->backlog() == 0; }, 10s))
      << outbox_->delivered() << " delivered, backlog " << outbox_->backlog();
  const auto sent = sink_->sent();
  ASSERT_EQ(sent.size(), static_cast<std::size_t>(kN));
  EXPECT_EQ(seqs(sent), range(1, kN));
  for (int i = 0; i < kN; ++i) {
    const auto& m = sent[static_cast<std::size_t>(i)];
    EXPECT_EQ(m.id, "gw:" + std::to_string(i + 1));
    EXPECT_EQ(m.key, "k" + std::to_string(i % 5));
    EXPECT_EQ(m.kind, "alert");
    EXPECT_EQ(m.pipeline, "p");
    EXPECT_EQ(m.stage, "hot");
    auto j = nlohmann::json::parse(m.payload);
    EXPECT_EQ(j["id"], m.id);
    EXPECT_EQ(j["gateway"], "gw");
    EXPECT_EQ(j["key"], m.key);
    EXPECT_EQ(j["state"], "raised");
    EXPECT_EQ(j["ts_ns"].get<int64_t>(), 1000 + i);
    EXPECT_EQ(j["fields"]["v"].get<double>(), i);
  }
  EXPECT_EQ(outbox_->accepted(), static_cast<uint64_t>(kN));
  EXPECT_EQ(outbox_->retried(), 0u);
  // Group commit: batches, not a transaction per event (unless the writer always won the race).
  EXPECT_GE(outbox_->commits(), 1u);
  EXPECT_LE(outbox_->commits(), static_cast<uint64_t>(kN) + 1000);  // deletes commit too
  EXPECT_EQ(metrics_->value("edgeloop_outbox_accepted_total", {{"outbox", "up"}}), kN);
  EXPECT_EQ(metrics_->value("edgeloop_outbox_delivered_total", {{"outbox", "up"}}), kN);
  EXPECT_EQ(metrics_->value("edgeloop_outbox_backlog_events", {{"outbox", "up"}}), 0);
}

TEST_F(OutboxTest, BacklogSurvivesARestartAndSequencesAreNeverReused) {
  open(/*ready=*/false);
  for (int i = 0; i < 300; ++i) outbox_->push(events_.make("k", i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() == 300; }, 10s));
  EXPECT_EQ(sink_->sent_count(), 0u);
  EXPECT_EQ(outbox_->backlog(), 300u);
  EXPECT_TRUE(wait_until([&] { return metrics_->value("edgeloop_outbox_oldest_age_seconds", {{"outbox", "up"}}) > 0; }, 5s));
  close();

  open(/*ready=*/true);
  EXPECT_EQ(outbox_->last_seq(), 300u);
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 300 && outbox_->backlog() == 0; }, 10s));
  EXPECT_EQ(seqs(sink_->sent()), range(1, 300));
  for (int i = 0; i < 10; ++i) outbox_->push(events_.make("k", 300 + i));
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 310 && outbox_->backlog() == 0; }, 10s));
  EXPECT_EQ(seqs(sink_->sent()), range(1, 310));
  close();

  // Every row is gone, yet the next id continues after the last one ever given.
  open(/*ready=*/true);
  EXPECT_EQ(outbox_->backlog(), 0u);
  outbox_->push(events_.make("k", 1));
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 1; }, 10s));
  ASSERT_EQ(sink_->sent().size(), 1u);
  EXPECT_EQ(sink_->sent()[0].id, "gw:311");
}

TEST_F(OutboxTest, AFailedSendIsRetriedFromTheOldestFailedOne) {
  open(/*ready=*/false);
  std::set<uint64_t> failed_once;
  sink_->set_decide([&](const OutboxMessage& m) {
    if ((m.seq == 5 || m.seq == 7) && failed_once.insert(m.seq).second) return SendOutcome::kRetry;
    return SendOutcome::kDelivered;
  });
  for (int i = 0; i < 20; ++i) outbox_->push(events_.make("k" + std::to_string(i % 3), i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() == 20; }, 10s));
  sink_->ready_ = true;
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 20 && outbox_->backlog() == 0; }, 10s));
  // One page of 20, then from 5 again: only what was not confirmed (5 and 7).
  std::vector<uint64_t> want = range(1, 20);
  want.push_back(5);
  want.push_back(7);
  EXPECT_EQ(seqs(sink_->sent()), want);
  EXPECT_EQ(outbox_->retried(), 2u);
}

TEST_F(OutboxTest, NothingNewIsSentWhileSendsOfALostConnectionAreUnresolved) {
  open(/*ready=*/false);
  sink_->hold_ = true;
  for (int i = 0; i < 10; ++i) outbox_->push(events_.make("k", i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() == 10; }, 10s));
  sink_->ready_ = true;
  ASSERT_TRUE(wait_until([&] { return sink_->held() == 10; }, 10s));
  // The connection is lost: its 10 sends are in doubt. New events must not overtake them.
  sink_->epoch_ = 1;
  for (int i = 10; i < 20; ++i) outbox_->push(events_.make("k", i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() == 20; }, 10s));
  std::this_thread::sleep_for(100ms);  // a wrong implementation would send 11..20 within this
  EXPECT_EQ(sink_->sent_count(), 10u);
  // They time out: everything goes again, in order, from 1.
  sink_->hold_ = false;
  EXPECT_EQ(sink_->release(SendOutcome::kRetry), 10u);
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 20 && outbox_->backlog() == 0; }, 10s));
  std::vector<uint64_t> want = range(1, 10);
  for (uint64_t s : range(1, 20)) want.push_back(s);
  EXPECT_EQ(seqs(sink_->sent()), want);
  EXPECT_EQ(outbox_->retried(), 10u);
}

TEST_F(OutboxTest, InFlightIsBounded) {
  config_.max_in_flight = 7;
  open(/*ready=*/false);
  sink_->hold_ = true;
  for (int i = 0; i < 30; ++i) outbox_->push(events_.make("k", i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() == 30; }, 10s));
  sink_->ready_ = true;
  ASSERT_TRUE(wait_until([&] { return sink_->held() == 7; }, 10s));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(sink_->sent_count(), 7u);
  EXPECT_EQ(outbox_->in_flight(), 7u);
  sink_->hold_ = false;
  sink_->release(SendOutcome::kDelivered);
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 30 && outbox_->backlog() == 0; }, 10s));
  EXPECT_EQ(seqs(sink_->sent()), range(1, 30));
}

TEST_F(OutboxTest, DropOldestKeepsTheNewestAndCountsExactly) {
  config_.max_events = 100;
  config_.when_full = WhenFull::kDropOldest;
  open(/*ready=*/false);
  for (int i = 0; i < 150; ++i) outbox_->push(events_.make("k", i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() == 150; }, 10s));
  EXPECT_EQ(outbox_->dropped("drop_oldest"), 50u);
  EXPECT_EQ(outbox_->dropped("reject_new"), 0u);
  EXPECT_EQ(outbox_->backlog(), 100u);
  EXPECT_EQ(metrics_->value("edgeloop_outbox_dropped_total", {{"outbox", "up"}, {"reason", "drop_oldest"}}), 50);
  sink_->ready_ = true;
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 100 && outbox_->backlog() == 0; }, 10s));
  EXPECT_EQ(seqs(sink_->sent()), range(51, 150));
}

TEST_F(OutboxTest, RejectNewKeepsTheOldestAndCountsExactly) {
  config_.max_events = 100;
  config_.when_full = WhenFull::kRejectNew;
  open(/*ready=*/false);
  for (int i = 0; i < 150; ++i) outbox_->push(events_.make("k", i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() + outbox_->dropped("reject_new") == 150; }, 10s));
  EXPECT_EQ(outbox_->accepted(), 100u);
  EXPECT_EQ(outbox_->dropped("reject_new"), 50u);
  EXPECT_EQ(outbox_->dropped("drop_oldest"), 0u);
  EXPECT_EQ(outbox_->backlog(), 100u);
  sink_->ready_ = true;
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 100 && outbox_->backlog() == 0; }, 10s));
  // A rejected event took no sequence: the ids go on without a gap.
  outbox_->push(events_.make("k", 500));
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 101; }, 10s));
  EXPECT_EQ(seqs(sink_->sent()), range(1, 101));
}

TEST_F(OutboxTest, MaxBytesBoundsTheStoredBytes) {
  // The size of one row first (ids gw:1..gw:9 and these payloads all have the same length).
  open(/*ready=*/false);
  outbox_->push(events_.make("k", 10));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() == 1; }, 10s));
  const uint64_t row = outbox_->backlog_bytes();
  ASSERT_GT(row, 50u);
  close();
  test::remove_tree(dir_);
  auto dir = test::make_temp_dir("edgeloop-outbox-");
  ASSERT_TRUE(dir.ok());
  dir_ = *dir;
  config_.path = dir_ + "/outbox.db";
  config_.max_bytes = 5 * row + row / 2;
  config_.when_full = WhenFull::kRejectNew;
  open(/*ready=*/false);
  for (int i = 0; i < 9; ++i) outbox_->push(events_.make("k", 10 + i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() + outbox_->dropped("reject_new") == 9; }, 10s));
  EXPECT_EQ(outbox_->accepted(), 5u);
  EXPECT_EQ(outbox_->dropped("reject_new"), 4u);
  EXPECT_EQ(outbox_->backlog_bytes(), 5 * row);
  EXPECT_EQ(metrics_->value("edgeloop_outbox_backlog_bytes", {{"outbox", "up"}}), static_cast<double>(5 * row));
}

TEST_F(OutboxTest, ARefusalForGoodIsDroppedCountedAndDeadLettered) {
  open(/*ready=*/false);
  sink_->set_decide([](const OutboxMessage& m) { return m.seq == 3 ? SendOutcome::kRejected : SendOutcome::kDelivered; });
  int sync_failures = 0;
  sink_->send_error_ = [&](const OutboxMessage& m) -> std::optional<Error> {
    if (m.seq == 6) return make_error(Errc::kTooLarge, "too large for the upstream");
    if (m.seq == 8 && sync_failures++ == 0) return make_error(Errc::kUnavailable, "not connected");
    return std::nullopt;
  };
  for (int i = 0; i < 10; ++i) outbox_->push(events_.make("k", i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() == 10; }, 10s));
  sink_->ready_ = true;
  ASSERT_TRUE(wait_until([&] { return outbox_->backlog() == 0; }, 10s)) << outbox_->backlog();
  EXPECT_EQ(outbox_->delivered(), 8u);
  EXPECT_EQ(outbox_->dropped("rejected"), 2u);
  EXPECT_EQ(outbox_->retried(), 1u);
  ASSERT_TRUE(dead_letters_.wait_for_count(2, 5s));
  std::map<std::string, std::string> letters;  // id -> reason (the synchronous refusal comes first)
  for (const auto& d : dead_letters_.letters()) letters[d.topic] = d.reason;
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_NE(letters["gw:3"].find("fake failure"), std::string::npos) << letters["gw:3"];
  EXPECT_NE(letters["gw:6"].find("too large"), std::string::npos) << letters["gw:6"];
  // 6 and 8 were never confirmed as sent: 8 went again after its failure, 3 and 6 not.
  std::vector<uint64_t> want = {1, 2, 3, 4, 5, 7, 8, 9, 10};
  EXPECT_EQ(seqs(sink_->sent()), want);
}

TEST_F(OutboxTest, DuplicatesReportedByTheUpstreamAreCounted) {
  open(/*ready=*/false);
  sink_->delivered_why_ = std::string(kDuplicateDelivery);
  for (int i = 0; i < 7; ++i) outbox_->push(events_.make("k", i));
  ASSERT_TRUE(wait_until([&] { return outbox_->accepted() == 7; }, 10s));
  sink_->ready_ = true;
  ASSERT_TRUE(wait_until([&] { return outbox_->delivered() == 7; }, 10s));
  EXPECT_EQ(outbox_->duplicates(), 7u);
  EXPECT_EQ(metrics_->value("edgeloop_outbox_duplicates_total", {{"outbox", "up"}}), 7);
}

TEST_F(OutboxTest, OneDatabaseFileOneOutbox) {
  open();
  auto second = Outbox::open(config_, std::make_unique<FakeSink>());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("already used by another outbox"), std::string::npos);
  close();
  auto again = Outbox::open(config_, std::make_unique<FakeSink>());
  EXPECT_TRUE(again.ok()) << again.error().message;  // released with the first one
}

TEST_F(OutboxTest, StopCommitsWhatWasPushed) {
  open(/*ready=*/false);
  for (int i = 0; i < 5000; ++i) outbox_->push(events_.make("k" + std::to_string(i % 7), i));
  close();  // no wait: stop drains the queue into the database
  open(/*ready=*/false);
  EXPECT_EQ(outbox_->backlog(), 5000u);
  EXPECT_EQ(outbox_->last_seq(), 5000u);
}

}  // namespace
}  // namespace edgeloop
