// The Store on its own: queues, batches, queries, rollups, retention, restart, queries while
// writing.
#include "store/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "store/store_reader.h"
#include "store_test_util.h"

namespace edgeloop::store {
namespace {

using namespace testing;

struct Fixture {
  TempDir dir;
  KeyTable keys;
  Schema schema{{"temp", "hum"}};
  KeyId key(const std::string& name) { return *keys.intern(name, "t/" + name, 0); }
};

std::shared_ptr<Store> open(const StoreSettings& s) {
  auto store = Store::open_shared(s);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store.ok() ? *store : nullptr;
}

ReadingQuery readings_of(const std::string& key) {
  ReadingQuery q;
  q.key = key;
  return q;
}

TEST(Store, WritesAndQueriesExactRows) {
  Fixture fx;
  auto store = open(settings_at(fx.dir.file("s.db")));
  ASSERT_TRUE(store);
  auto q = store->add_reading_queue(fx.schema, &fx.keys, 1024, nullptr);
  const KeyId a = fx.key("line1/pump-1"), b = fx.key("line1/pump-2");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(q->push(record(a, kT0 + i * kSec, {20.0 + i, 50.5 - i})));
    ASSERT_TRUE(q->push(record(b, kT0 + i * kSec, {-1.0 * i, 0.25})));
  }
  ASSERT_TRUE(store->flush().ok());

  auto rows = store->raw(readings_of("line1/pump-1"));
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 10u);
  for (int i = 0; i < 10; ++i) {
    const auto& r = (*rows)[static_cast<std::size_t>(i)];
    EXPECT_EQ(r.ts_ns, kT0 + i * kSec);
    ASSERT_EQ(r.fields.size(), 2u);
    EXPECT_EQ(r.fields[0].first, "temp");
    EXPECT_EQ(r.fields[0].second, 20.0 + i);
    EXPECT_EQ(r.fields[1].first, "hum");
    EXPECT_EQ(r.fields[1].second, 50.5 - i);
  }

  // Time range [from, to), one field, newest first, a limit.
  ReadingQuery rq = readings_of("line1/pump-2");
  rq.from_ns = kT0 + 2 * kSec;
  rq.to_ns = kT0 + 7 * kSec;
  rq.field = "temp";
  rq.descending = true;
  rq.limit = 3;
  auto some = store->raw(rq);
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 3u);
  EXPECT_EQ((*some)[0].ts_ns, kT0 + 6 * kSec);
  EXPECT_EQ((*some)[2].ts_ns, kT0 + 4 * kSec);
  ASSERT_EQ((*some)[0].fields.size(), 1u);
  EXPECT_EQ((*some)[0].fields[0].first, "temp");
  EXPECT_EQ((*some)[0].fields[0].second, -6.0);

  auto json = store->readings_json(rq);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)[0], R"({"key":"line1/pump-2","ts_ns":1732536006000000000,"fields":{"temp":-6.0}})");

  // Unknown key or field: nothing, not an error.
  auto none = store->raw(readings_of("nope"));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  rq.field = "pressure";
  none = store->raw(rq);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  const StoreStats st = store->stats();
  EXPECT_EQ(st.written.readings, 20);
  EXPECT_EQ(st.queue_drops, 0u);
  EXPECT_EQ(st.write_errors, 0u);
  EXPECT_GE(st.batches, 1u);
}

TEST(Store, NonFiniteValuesAreKeptRawAndLeftOutOfRollups) {
  Fixture fx;
  auto store = open(settings_at(fx.dir.file("s.db")));
  auto q = store->add_reading_queue(fx.schema, &fx.keys, 64, nullptr);
  const KeyId a = fx.key("a");
  q->push(record(a, kT0, {NAN, 1.0}));
  q->push(record(a, kT0 + 1, {3.0, INFINITY}));
  ASSERT_TRUE(store->flush().ok());
  auto rows = store->raw(readings_of("a"));
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_TRUE(std::isnan((*rows)[0].fields[0].second));
  EXPECT_TRUE(std::isinf((*rows)[1].fields[1].second));
  auto json = store->readings_json(readings_of("a"));
  EXPECT_EQ((*json)[0], R"({"key":"a","ts_ns":1732536000000000000,"fields":{"temp":null,"hum":1.0}})");
  ReadingQuery rq = readings_of("a");
  rq.rollup_ns = 60 * kSec;
  auto roll = store->rollups(rq);
  ASSERT_TRUE(roll.ok());
  ASSERT_EQ(roll->size(), 2u);  // hum, temp
  EXPECT_EQ((*roll)[0].field, "hum");
  EXPECT_EQ((*roll)[0].count, 1);
  EXPECT_EQ((*roll)[0].max, 1.0);
  EXPECT_EQ((*roll)[1].field, "temp");
  EXPECT_EQ((*roll)[1].count, 1);
  EXPECT_EQ((*roll)[1].min, 3.0);
}

TEST(Store, RollupsAreExactAndTakeLateReadings) {
  Fixture fx;
  StoreSettings s = settings_at(fx.dir.file("s.db"));
  s.rollup_intervals_ns = {60 * kSec, 3600 * kSec};
  auto store = open(s);
  auto q = store->add_reading_queue(Schema({"v"}), &fx.keys, 4096, nullptr);
  const KeyId k = fx.key("k");
  // Minute 0: 0..59 (one per second); minute 1: 100..159.
  for (int i = 0; i < 60; ++i) q->push(record(k, kT0 + i * kSec, {static_cast<double>(i)}));
  ASSERT_TRUE(store->flush().ok());
  for (int i = 0; i < 60; ++i) q->push(record(k, kT0 + (60 + i) * kSec, {100.0 + i}));
  ASSERT_TRUE(store->flush().ok());

  ReadingQuery rq = readings_of("k");
  rq.rollup_ns = 60 * kSec;
  auto roll = store->rollups(rq);
  ASSERT_TRUE(roll.ok()) << roll.error().message;
  ASSERT_EQ(roll->size(), 2u);
  EXPECT_EQ((*roll)[0].bucket_ns, kT0);
  EXPECT_EQ((*roll)[0].min, 0.0);
  EXPECT_EQ((*roll)[0].max, 59.0);
  EXPECT_EQ((*roll)[0].mean, 29.5);
  EXPECT_EQ((*roll)[0].count, 60);
  EXPECT_EQ((*roll)[1].bucket_ns, kT0 + 60 * kSec);
  EXPECT_EQ((*roll)[1].min, 100.0);
  EXPECT_EQ((*roll)[1].max, 159.0);
  EXPECT_EQ((*roll)[1].mean, 129.5);

  // A late reading in minute 0, committed in a later batch: merged into its row.
  q->push(record(k, kT0 + 30 * kSec, {-50.0}));
  q->push(record(k, kT0 + 31 * kSec, {1000.0}));
  ASSERT_TRUE(store->flush().ok());
  roll = store->rollups(rq);
  ASSERT_TRUE(roll.ok());
  EXPECT_EQ((*roll)[0].min, -50.0);
  EXPECT_EQ((*roll)[0].max, 1000.0);
  EXPECT_EQ((*roll)[0].count, 62);
  EXPECT_EQ((*roll)[0].mean, (59.0 * 60 / 2 + 950.0) / 62);

  // The hour rollup covers all 122.
  rq.rollup_ns = 3600 * kSec;
  roll = store->rollups(rq);
  ASSERT_TRUE(roll.ok());
  ASSERT_EQ(roll->size(), 1u);
  EXPECT_EQ((*roll)[0].bucket_ns, kT0 - (kT0 % (3600 * kSec)));
  EXPECT_EQ((*roll)[0].count, 122);
  EXPECT_EQ((*roll)[0].min, -50.0);
  EXPECT_EQ((*roll)[0].max, 1000.0);

  // A range that starts inside minute 1 still returns minute 1 (it overlaps), not minute 0.
  rq.rollup_ns = 60 * kSec;
  rq.from_ns = kT0 + 90 * kSec;
  roll = store->rollups(rq);
  ASSERT_TRUE(roll.ok());
  ASSERT_EQ(roll->size(), 1u);
  EXPECT_EQ((*roll)[0].bucket_ns, kT0 + 60 * kSec);
  auto json = store->readings_json(rq);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)[0], R"({"key":"k","field":"v","interval_ns":60000000000,"ts_ns":1732536060000000000,)"
                        R"("min":100.0,"mean":129.5,"max":159.0,"count":60})");

  // An interval the store does not keep is a clear error.
  rq.rollup_ns = 300 * kSec;
  roll = store->rollups(rq);
  ASSERT_FALSE(roll.ok());
  EXPECT_EQ(roll.error().message, "parameter 'rollup': this store keeps no 5m rollup (kept: 1m, 1h)");
}

TEST(Store, EventsAreKeptInFull) {
  Fixture fx;
  auto store = open(settings_at(fx.dir.file("s.db")));
  auto q = store->add_event_queue(&fx.keys, 64, "gw-1", nullptr);
  const std::string pipeline = "vibration", rule = "overheat";
  const Schema schema({"score"});
  const KeyId a = fx.key("pump-1"), b = fx.key("pump-2");
  auto event = [&](KeyId key, EventKind kind, AlertState state, int64_t ts, double score) {
    Event e;
    e.kind = kind;
    e.state = state;
    e.severity = Severity::kWarning;
    e.key = key;
    e.ts_ns = ts;
    e.nfields = 1;
    e.f[0] = score;
    e.schema = &schema;
    e.name = &rule;
    e.pipeline_name = &pipeline;
    return e;
  };
  ASSERT_TRUE(q->push(event(a, EventKind::kAlert, AlertState::kRaised, kT0, 0.93)));
  ASSERT_TRUE(q->push(event(a, EventKind::kInsight, AlertState::kNone, kT0 + 1, 0.5)));
  ASSERT_TRUE(q->push(event(b, EventKind::kAlert, AlertState::kRaised, kT0 + 2, 0.97)));
  ASSERT_TRUE(q->push(event(a, EventKind::kAlert, AlertState::kCleared, kT0 + 3, 0.1)));
  ASSERT_TRUE(store->flush().ok());

  EventQuery eq;
  auto all = store->events(eq);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].json,
            R"({"gateway":"gw-1","pipeline":"vibration","stage":"overheat","key":"pump-1","kind":"alert",)"
            R"("state":"raised","severity":"warning","ts_ns":1732536000000000000,"fields":{"score":0.93}})");
  eq.key = "pump-1";
  eq.kind = "alert";
  auto alerts = store->events(eq);
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 2u);
  EXPECT_EQ((*alerts)[0].ts_ns, kT0);
  EXPECT_EQ((*alerts)[1].ts_ns, kT0 + 3);
  eq.state = "cleared";
  alerts = store->events(eq);
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].ts_ns, kT0 + 3);
  EventQuery range;
  range.from_ns = kT0 + 1;
  range.to_ns = kT0 + 3;
  range.descending = true;
  auto mid = store->events(range);
  ASSERT_EQ(mid->size(), 2u);
  EXPECT_EQ((*mid)[0].ts_ns, kT0 + 2);
  EXPECT_EQ((*mid)[1].ts_ns, kT0 + 1);
  EventQuery other;
  other.pipeline = "other";
  EXPECT_TRUE(store->events(other)->empty());
  EXPECT_EQ(store->stats().written.events, 4);
}

TEST(Store, AFullQueueDropsAndCountsAndNeverWaits) {
  Fixture fx;
  StoreSettings s = settings_at(fx.dir.file("s.db"));
  s.commit_interval_ns = 60 * kSec;  // the writer sleeps between flushes
  auto store = open(s);
  auto q = store->add_reading_queue(Schema({"v"}), &fx.keys, 16, nullptr);
  ASSERT_TRUE(store->flush().ok());  // the writer has made its first pass and sleeps
  const KeyId k = fx.key("k");
  int accepted = 0;
  for (int i = 0; i < 100; ++i) accepted += q->push(record(k, kT0 + i, {1.0 * i})) ? 1 : 0;
  EXPECT_EQ(accepted, 16);
  EXPECT_EQ(q->dropped(), 84u);
  ASSERT_TRUE(store->flush().ok());
  EXPECT_EQ(store->stats().queue_drops, 84u);
  EXPECT_EQ(store->stats().written.readings, 16);
  auto rows = store->raw(readings_of("k"));
  ASSERT_EQ(rows->size(), 16u);
  EXPECT_EQ(rows->back().ts_ns, kT0 + 15);  // the first 16 made it
}

TEST(Store, RetentionByAgeFollowsTheNewestEventTime) {
  Fixture fx;
  StoreSettings s = settings_at(fx.dir.file("s.db"));
  s.raw_retention_ns = 3600 * kSec;
  s.rollup_retention_ns = 2 * 3600 * kSec;
  s.event_retention_ns = 3 * 3600 * kSec;
  s.retention_interval_ns = 10'000'000;
  auto store = open(s);
  auto rq_ = store->add_reading_queue(Schema({"v"}), &fx.keys, 4096, nullptr);
  auto eq_ = store->add_event_queue(&fx.keys, 64, "gw", nullptr);
  const KeyId k = fx.key("k");
  // One reading and one event every 10 minutes over 5 hours (kT0 is in the past: the
  // reference time is the newest event time, kT0 + 5h).
  const Schema es({"x"});
  const std::string name = "r";
  int n = 0;
  for (int64_t t = kT0; t <= kT0 + 5 * 3600 * kSec; t += 600 * kSec, ++n) {
    rq_->push(record(k, t, {1.0 * n}));
    Event e;
    e.kind = EventKind::kAlert;
    e.key = k;
    e.ts_ns = t;
    e.schema = &es;
    e.name = &name;
    e.pipeline_name = &name;
    eq_->push(e);
  }
  ASSERT_EQ(n, 31);
  ASSERT_TRUE(store->flush().ok());
  const int64_t newest = kT0 + 5 * 3600 * kSec;
  ASSERT_TRUE(wait_for([&] {
    const auto st = store->stats();
    return st.deleted_by_age.readings == 24 && st.deleted_by_age.events == 12 && st.deleted_by_age.rollups == 18;
  })) << store->stats().deleted_by_age.readings
      << " " << store->stats().deleted_by_age.rollups << " " << store->stats().deleted_by_age.events;
  auto rows = store->raw(readings_of("k"));
  ASSERT_EQ(rows->size(), 7u);  // newest - 1h .. newest
  EXPECT_EQ(rows->front().ts_ns, newest - 3600 * kSec);
  ReadingQuery roll = readings_of("k");
  roll.rollup_ns = 60 * kSec;
  auto rolls = store->rollups(roll);
  ASSERT_EQ(rolls->size(), 13u);
  EXPECT_EQ(rolls->front().bucket_ns, newest - 2 * 3600 * kSec);
  auto events = store->events(EventQuery{});
  ASSERT_EQ(events->size(), 19u);
  EXPECT_EQ(events->front().ts_ns, newest - 3 * 3600 * kSec);
}

TEST(Store, MaxBytesBoundsTheFileDeletingTheOldestFirst) {
  Fixture fx;
  StoreSettings s = settings_at(fx.dir.file("s.db"));
  s.max_bytes = 1024 * 1024;
  s.batch_rows = 1000;
  s.rollup_intervals_ns = {};
  auto store = open(s);
  auto q = store->add_reading_queue(Schema({"a", "b", "c", "d"}), &fx.keys, 2048, nullptr);
  std::vector<KeyId> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(fx.key("key-" + std::to_string(i)));
  constexpr int kRows = 60000;  // ~5 MB of rows and indexes
  int64_t max_seen = 0;
  for (int i = 0; i < kRows; ++i) {
    const Record r = record(ids[static_cast<std::size_t>(i % 10)], kT0 + i * 1000, {1.0 * i, 2.0, 3.0, 4.0});
    ASSERT_TRUE(wait_for([&] { return q->push(r); }));  // the test never drops: it waits
    if (i % 1000 == 999) {
      ASSERT_TRUE(store->flush().ok());
      const int64_t bytes = store->stats().disk_bytes;
      EXPECT_LE(bytes, s.max_bytes) << "after " << i + 1 << " rows: file " << std::filesystem::file_size(s.path)
                                    << ", WAL " << std::filesystem::file_size(s.path + "-wal");
      max_seen = std::max(max_seen, bytes);
    }
  }
  ASSERT_TRUE(store->flush().ok());
  const StoreStats st = store->stats();
  EXPECT_EQ(st.written.readings, kRows);
  EXPECT_GT(st.deleted_by_size.readings, 0);
  EXPECT_EQ(q->dropped(), 0u);
  EXPECT_LE(max_seen, s.max_bytes);
  EXPECT_LE(st.disk_bytes, s.max_bytes);
  const auto on_disk = static_cast<int64_t>(std::filesystem::file_size(s.path));
  EXPECT_LE(on_disk, s.max_bytes);
  // The oldest went first: what is left is exactly the newest rows of each key.
  int64_t left = 0;
  for (int i = 0; i < 10; ++i) {
    ReadingQuery rq = readings_of("key-" + std::to_string(i));
    rq.limit = kMaxQueryLimit;
    auto rows = store->raw(rq);
    ASSERT_TRUE(rows.ok());
    ASSERT_FALSE(rows->empty());
    EXPECT_EQ(rows->back().ts_ns, kT0 + (kRows - 10 + i) * 1000);  // the newest is there
    left += static_cast<int64_t>(rows->size());
  }
  EXPECT_EQ(left + st.deleted_by_size.readings, kRows);
  ReadingQuery first = readings_of("key-0");
  auto oldest = store->raw(first);
  const int64_t cutoff = oldest->front().ts_ns;
  EXPECT_GT(cutoff, kT0);
  // No key kept anything older than the oldest row left for key 0 minus one round of keys.
  for (int i = 1; i < 10; ++i) {
    auto rows = store->raw(readings_of("key-" + std::to_string(i)));
    EXPECT_GE(rows->front().ts_ns, cutoff - 10 * 1000);
  }
}

TEST(Store, ALoweredBoundShrinksTheFile) {
  Fixture fx;
  StoreSettings s = settings_at(fx.dir.file("s.db"));
  s.max_bytes = 0;
  s.rollup_intervals_ns = {};
  const KeyId k = fx.key("k");
  constexpr int kRows = 40000;
  {
    auto store = open(s);
    auto q = store->add_reading_queue(Schema({"a", "b", "c", "d"}), &fx.keys, 4096, nullptr);
    for (int i = 0; i < kRows; ++i) {
      const Record r = record(k, kT0 + i, {1.0 * i, 2.0, 3.0, 4.0});
      ASSERT_TRUE(wait_for([&] { return q->push(r); }));
    }
  }
  const auto before = static_cast<int64_t>(std::filesystem::file_size(s.path));
  s.max_bytes = 1024 * 1024;
  ASSERT_GT(before, 2 * s.max_bytes);
  auto store = open(s);
  auto q = store->add_reading_queue(Schema({"a", "b", "c", "d"}), &fx.keys, 64, nullptr);
  q->push(record(k, kT0 + kRows, {0, 0, 0, 0}));
  ASSERT_TRUE(store->flush().ok());
  const StoreStats st = store->stats();
  EXPECT_GT(st.deleted_by_size.readings, kRows / 2);
  EXPECT_LE(static_cast<int64_t>(std::filesystem::file_size(s.path)), s.max_bytes);
  EXPECT_LE(st.disk_bytes, s.max_bytes);
  ReadingQuery rq = readings_of("k");
  rq.descending = true;
  rq.limit = 1;
  auto newest = store->raw(rq);
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].ts_ns, kT0 + kRows);
}

TEST(Store, ReopeningKeepsTheData) {
  Fixture fx;
  const StoreSettings s = settings_at(fx.dir.file("s.db"));
  {
    auto store = open(s);
    auto q = store->add_reading_queue(fx.schema, &fx.keys, 64, nullptr);
    q->push(record(fx.key("a"), kT0, {1.0, 2.0}));
    q->push(record(fx.key("b"), kT0, {3.0, 4.0}));
  }  // the queue detaches (its rows are committed), the store closes
  EXPECT_TRUE(Store::open_stores().empty());
  KeyTable other;  // a new process: other KeyIds
  (void)other.intern("zzz", "", 0);
  auto store = open(s);
  auto q = store->add_reading_queue(Schema({"temp", "hum", "extra"}), &other, 64, nullptr);
  q->push(record(*other.intern("b", "", 0), kT0 + 1, {5.0, 6.0, 7.0}));
  ASSERT_TRUE(store->flush().ok());
  auto a = store->raw(readings_of("a"));
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].fields[1].second, 2.0);
  auto b = store->raw(readings_of("b"));
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[0].fields.size(), 2u);
  EXPECT_EQ((*b)[1].fields.size(), 3u);
  EXPECT_EQ((*b)[1].fields[2].first, "extra");
  EXPECT_EQ((*b)[1].fields[2].second, 7.0);
  ReadingQuery rq = readings_of("b");
  rq.rollup_ns = 60 * kSec;
  rq.field = "temp";
  auto roll = store->rollups(rq);
  ASSERT_EQ(roll->size(), 1u);
  EXPECT_EQ((*roll)[0].count, 2);
  EXPECT_EQ((*roll)[0].mean, 4.0);
}

TEST(Store, RollupsOfAnEarlierConfigurationStayQueryable) {
  Fixture fx;
  StoreSettings s = settings_at(fx.dir.file("s.db"));
  {
    auto store = open(s);
    auto q = store->add_reading_queue(Schema({"v"}), &fx.keys, 64, nullptr);
    q->push(record(fx.key("k"), kT0, {2.0}));
  }
  s.rollup_intervals_ns = {3600 * kSec};
  auto store = open(s);
  ReadingQuery rq = readings_of("k");
  rq.rollup_ns = 60 * kSec;
  auto old = store->rollups(rq);
  ASSERT_TRUE(old.ok()) << old.error().message;
  ASSERT_EQ(old->size(), 1u);
  EXPECT_EQ((*old)[0].mean, 2.0);
  rq.rollup_ns = 300 * kSec;
  auto none = store->rollups(rq);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, "parameter 'rollup': this store keeps no 5m rollup (kept: 1h)");
}

TEST(Store, QueriesRunWhileTheWriterWrites) {
  Fixture fx;
  auto store = open(settings_at(fx.dir.file("s.db")));
  auto q = store->add_reading_queue(Schema({"v"}), &fx.keys, 8192, nullptr);
  const KeyId k = fx.key("k");
  constexpr int kRows = 50000;
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (int i = 0; i < kRows; ++i) {
      const Record r = record(k, kT0 + i, {1.0 * i});
      while (!q->push(r)) std::this_thread::yield();
    }
    done = true;
  });
  std::size_t last = 0;
  int queries = 0, grew = 0;
  ReadingQuery rq = readings_of("k");
  rq.limit = kMaxQueryLimit;
  while (!done.load() || queries < 3) {
    auto rows = store->raw(rq);
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    ASSERT_GE(rows->size(), last);  // each query sees a committed prefix
    for (std::size_t i = 0; i < rows->size(); i += 997) ASSERT_EQ((*rows)[i].ts_ns, kT0 + static_cast<int64_t>(i));
    grew += rows->size() > last ? 1 : 0;
    last = rows->size();
    ++queries;
  }
  producer.join();
  ASSERT_TRUE(store->flush().ok());
  auto rows = store->raw(rq);
  EXPECT_EQ(rows->size(), static_cast<std::size_t>(kRows));
  EXPECT_GE(queries, 3);
  EXPECT_EQ(store->stats().written.readings, kRows);
}

TEST(Store, OneStorePerPath) {
  Fixture fx;
  auto a = open(settings_at(fx.dir.file("s.db")));
  auto b = open(settings_at(fx.dir.file("s.db")));
  auto c = open(settings_at(fx.dir.file("t.db")));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(Store::open_stores().size(), 2u);
}

TEST(Store, ReaderErrorsAreClear) {
  Fixture fx;
  auto missing = StoreReader::open(fx.dir.file("none.db"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_NE(missing.error().message.find("no store at"), std::string::npos);
  {
    std::FILE* f = std::fopen(fx.dir.file("junk.db").c_str(), "w");
    std::fputs("not a database, just text that is long enough to be a header...............................", f);
    std::fclose(f);
  }
  auto junk = StoreReader::open(fx.dir.file("junk.db"));
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.error().message.find("is not an edgeloop store"), std::string::npos) << junk.error().message;
}

TEST(Store, BadQueriesGiveClearErrors) {
  const int64_t now = kT0;
  auto reading_error = [&](QueryParams p) {
    auto q = reading_query_from(p, now);
    EXPECT_FALSE(q.ok());
    return q.ok() ? std::string() : q.error().message;
  };
  EXPECT_EQ(reading_error({}), "parameter 'key': required: the stream key whose readings to return");
  EXPECT_EQ(reading_error({{"key", "k"}, {"limit", "0"}}),
            "parameter 'limit': expected an integer from 1 to 100000, got '0'");
  EXPECT_EQ(reading_error({{"key", "k"}, {"order", "up"}}), "parameter 'order': expected asc or desc, got 'up'");
  EXPECT_EQ(reading_error({{"key", "k"}, {"rollup", "soon"}}),
            "parameter 'rollup': expected a rollup interval like 1m, or raw, got 'soon'");
  EXPECT_EQ(reading_error({{"key", "k"}, {"from", "2024-11-25T13:00Z"}, {"to", "2024-11-25T12:00Z"}}),
            "parameter 'to': the range is empty: 'to' must be after 'from'");
  EXPECT_EQ(reading_error({{"key", "k"}, {"colour", "red"}}),
            "unknown parameter 'colour' (known: field, from, key, limit, order, rollup, to)");
  EXPECT_NE(reading_error({{"key", "k"}, {"from", "yesterday"}}).find("parameter 'from': bad time 'yesterday'"),
            std::string::npos);
  auto event_error = [&](QueryParams p) {
    auto q = event_query_from(p, now);
    EXPECT_FALSE(q.ok());
    return q.ok() ? std::string() : q.error().message;
  };
  EXPECT_EQ(event_error({{"kind", "alarm"}}), "parameter 'kind': expected alert, insight or command, got 'alarm'");
  EXPECT_EQ(event_error({{"state", "open"}}), "parameter 'state': expected raised, cleared or none, got 'open'");

  auto ok = reading_query_from({{"key", "k"},
                                {"from", "-1h"},
                                {"to", "now"},
                                {"rollup", "1m"},
                                {"limit", "5"},
                                {"order", "desc"},
                                {"field", "v"}},
                               now);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->from_ns, now - 3600 * kSec);
  EXPECT_EQ(ok->to_ns, now);
  EXPECT_EQ(ok->rollup_ns, 60 * kSec);
  EXPECT_EQ(ok->limit, 5);
  EXPECT_TRUE(ok->descending);
  EXPECT_EQ(ok->field, "v");
}

}  // namespace
}  // namespace edgeloop::store
