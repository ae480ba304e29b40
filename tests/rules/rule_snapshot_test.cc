// op.rule across restarts: its per-key state (raised, the pending `for`, the cooldown) is
// snapshotted at flush (or from tick) and restored by key name, so that a restart neither
// repeats a raise nor loses a clear. Each restart case is also compared with the same records
// through one uninterrupted stage.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "operators/stage_harness.h"
#include "rules/rule_stage.h"
#include "state/snapshot_store.h"

namespace edgeloop {
namespace {

namespace fs = std::filesystem;
using testing::Collect;
using testing::kSec;
using testing::options_node;
using OptList = std::initializer_list<std::pair<std::string, testing::OptValue>>;

const std::string kPipeline = "plant";

std::string testing_read(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// One process's view: its own KeyTable (keys interned in its own order) and metrics.
struct Process {
  KeyTable keys;
  Metrics metrics;
  std::string runtime_state_dir;
  uint32_t next_slot = 0;
  std::map<KeyId, uint32_t> slots;  // as a shard assigns them: in order of first record

  Record record(const std::string& key, int64_t ts, double v) {
    Record r;
    r.key = *keys.intern(key, "plant/" + key + "/temp", 0);
    auto [it, fresh] = slots.try_emplace(r.key, next_slot);
    if (fresh) ++next_slot;
    r.slot = it->second;
    r.ts_ns = ts;
    r.recv_ns = ts;
    r.f[r.nfields++] = v;
    return r;
  }
  double metric(const std::string& name) { return metrics.value(name, {{"pipeline", kPipeline}, {"stage", "1:hot"}}); }
};

const Schema kInput({"v"});

class RuleSnapshots : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeloop_rule_state_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The rule `hot` as step 1 of pipeline `plant`, with `state_dir` = dir_ unless options say.
  std::unique_ptr<RuleStage> make(Process& p, OptList opts, bool own_dir = true) {
    std::vector<std::pair<std::string, testing::OptValue>> kv = {{"name", "hot"}};
    if (own_dir) kv.emplace_back("state_dir", dir_.string());
    for (const auto& o : opts) kv.push_back(o);
    ConfigNode node = ConfigNode::map(testing::test_mark());
    for (const auto& [k, v] : kv) node.set(k, ConfigNode::scalar(std::get<std::string>(v), testing::test_mark()));
    StageContext ctx;
    ctx.pipeline = kPipeline;
    ctx.pipeline_name = &kPipeline;
    ctx.name = "rule";
    ctx.stage_index = 1;
    ctx.input = &kInput;
    ctx.metrics = &p.metrics;
    ctx.keys = &p.keys;
    ctx.state_dir = p.runtime_state_dir;
    auto s = testing::registry().make_stage("rule", node, "pipelines.plant.steps[1].rule", ctx);
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (!s.ok()) return nullptr;
    return std::unique_ptr<RuleStage>(static_cast<RuleStage*>(s->release()));
  }

  // Feeds (key, second, v) and returns the events as "<key>:R<second>" / "<key>:C<second>".
  static std::string feed(Process& p, RuleStage& st, const std::vector<std::tuple<std::string, int, double>>& in) {
    Collect out;
    std::string s;
    for (const auto& [key, sec, v] : in) {
      const std::size_t before = out.events.size();
      const Record r = p.record(key, int64_t{sec} * kSec, v);
      st.process(r, out);
      for (std::size_t e = before; e < out.events.size(); ++e) {
        EXPECT_EQ(out.events[e].key, r.key);
        s += (s.empty() ? "" : " ") + key + ":" + (out.events[e].state == AlertState::kRaised ? "R" : "C") +
             std::to_string(sec);
      }
    }
    return s;
  }
  static void stop(RuleStage& st, int64_t now = 5 * kSec) {
    Collect out;
    st.flush(now, out);
    EXPECT_TRUE(out.events.empty());  // flush writes state; it emits nothing
  }

  // Runs `before`, a restart (flush, a new process, a new stage) and `after`; checks that the
  // events equal those of one uninterrupted stage over before + after.
  std::string restart(OptList opts, const std::vector<std::tuple<std::string, int, double>>& before,
                      const std::vector<std::tuple<std::string, int, double>>& after, std::string* first = nullptr) {
    Process ref_p;
    auto ref = make(ref_p, opts, false);
    auto all = before;
    all.insert(all.end(), after.begin(), after.end());
    const std::string want = feed(ref_p, *ref, all);

    std::string got;
    {
      Process p1;
      auto a = make(p1, opts);
      got = feed(p1, *a, before);
      if (first) *first = got;
      stop(*a);
    }
    Process p2;
    (void)p2.keys.intern("unrelated-key-first", "", 0);  // other ids than in the first run
    auto b = make(p2, opts);
    const std::string second = feed(p2, *b, after);
    got += (got.empty() || second.empty() ? "" : " ") + second;
    EXPECT_EQ(got, want) << "a restart changed the alerts";
    return second;
  }

  fs::path dir_;
};

TEST_F(RuleSnapshots, ARaisedAlertIsNotRaisedAgainAndClearsWhenItShould) {
  std::string first;
  const std::string after =
      restart({{"when", "v > 80"}, {"clear", "v < 75"}}, {{"pump", 0, 70}, {"pump", 1, 90}},
              {{"pump", 2, 95}, {"pump", 3, 85}, {"pump", 4, 78}, {"pump", 5, 74}, {"pump", 6, 90}}, &first);
  EXPECT_EQ(first, "pump:R1");
  EXPECT_EQ(after, "pump:C5 pump:R6");
}

TEST_F(RuleSnapshots, APendingForCountCarriesOver) {
  // Two of three hot records before the restart: the third (the first after it) raises.
  EXPECT_EQ(restart({{"when", "v > 80"}, {"for", "3"}}, {{"pump", 0, 90}, {"pump", 1, 90}},
                    {{"pump", 2, 90}, {"pump", 3, 90}, {"pump", 4, 10}}),
            "pump:R2 pump:C4");
}

TEST_F(RuleSnapshots, APendingForDurationCarriesOver) {
  EXPECT_EQ(restart({{"when", "v > 80"}, {"for", "3s"}}, {{"pump", 0, 90}, {"pump", 1, 90}, {"pump", 2, 90}},
                    {{"pump", 3, 90}}),
            "pump:R3");
}

TEST_F(RuleSnapshots, TheCooldownCarriesOver) {
  // Raised at 0 and cleared at 1 before the restart: the cooldown (10 s from 0) holds the next
  // raise until 10, not until the first hot record after the restart.
  std::string first;
  const std::string after =
      restart({{"when", "v > 80"}, {"cooldown", "10s"}}, {{"pump", 0, 90}, {"pump", 1, 70}},
              {{"pump", 2, 90}, {"pump", 5, 90}, {"pump", 9, 90}, {"pump", 10, 90}, {"pump", 11, 70}}, &first);
  EXPECT_EQ(first, "pump:R0 pump:C1");
  EXPECT_EQ(after, "pump:R10 pump:C11");
}

TEST_F(RuleSnapshots, KeysAreRestoredByNameWhateverTheirIdsAndSlots) {
  std::string first;
  const std::string after = restart({{"when", "v > 80"}, {"for", "2"}},
                                    {{"a", 0, 90}, {"b", 0, 90}, {"a", 1, 90}, {"c", 1, 90}, {"c", 2, 90}},
                                    {{"c", 3, 90}, {"b", 3, 90}, {"a", 3, 90}, {"c", 4, 10}, {"a", 4, 10}}, &first);
  EXPECT_EQ(first, "a:R1 c:R2");
  EXPECT_EQ(after, "b:R3 c:C4 a:C4");
}

TEST_F(RuleSnapshots, ExactStateAfterRestoreAndCounters) {
  {
    Process p1;
    auto a = make(p1, {{"when", "v > 80"}, {"for", "4"}, {"cooldown", "1m"}});
    EXPECT_EQ(feed(p1, *a, {{"x", 7, 90}, {"x", 8, 70}, {"y", 9, 90}, {"y", 11, 90}}), "");
    EXPECT_EQ(feed(p1, *a, {{"x", 12, 90}, {"x", 13, 90}, {"x", 14, 90}, {"x", 15, 90}}), "x:R15");
    stop(*a);
    EXPECT_EQ(p1.metric("edgeloop_rule_snapshots_total"), 1.0);
    EXPECT_EQ(p1.metric("edgeloop_rule_restored_keys_total"), 0.0);
  }
  Process p2;
  auto b = make(p2, {{"when", "v > 80"}, {"for", "4"}, {"cooldown", "1m"}});
  EXPECT_TRUE(b->snapshots().has_pending());
  // A record of each key restores it.
  Collect out;
  b->process(p2.record("y", 20 * kSec, 90), out);  // the run of `when` goes on: 3 of 4, since 9 s
  EXPECT_TRUE(out.events.empty());
  const auto* y = b->state_of(p2.slots.at(p2.keys.find("y")));
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->run, 3u);
  EXPECT_EQ(y->since_ts, 9 * kSec);
  EXPECT_FALSE(y->raised);
  EXPECT_FALSE(y->ever_raised);
  b->process(p2.record("x", 21 * kSec, 78), out);  // raised, `clear` (not when) true: clears
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].state, AlertState::kCleared);
  EXPECT_EQ(p2.metric("edgeloop_rule_restored_keys_total"), 2.0);
  EXPECT_EQ(b->snapshots().restored_keys(), 2u);
  EXPECT_FALSE(b->snapshots().has_pending());
  const auto* x = b->state_of(p2.slots.at(p2.keys.find("x")));
  ASSERT_NE(x, nullptr);
  EXPECT_FALSE(x->raised);  // just cleared
  EXPECT_TRUE(x->ever_raised);
  EXPECT_EQ(x->last_raise_ts, 15 * kSec);
  EXPECT_EQ(x->run, 0u);
}

TEST_F(RuleSnapshots, StateBeforeAnyChangeIsExactlyTheSnapshotted) {
  RuleStage::KeyState s;
  s.raised = true;
  s.ever_raised = true;
  s.run = 3;
  s.since_ts = -12345;
  s.last_raise_ts = 1'732'540'000'123'456'789;
  const std::string blob = RuleStage::encode_state(s);
  RuleStage::KeyState d;
  ASSERT_TRUE(RuleStage::decode_state(blob, d));
  EXPECT_TRUE(d.raised);
  EXPECT_TRUE(d.ever_raised);
  EXPECT_EQ(d.run, 3u);
  EXPECT_EQ(d.since_ts, -12345);
  EXPECT_EQ(d.last_raise_ts, 1'732'540'000'123'456'789);
  EXPECT_EQ(RuleStage::encode_state(d), blob);
  // Every truncation, a trailing byte, another version, unknown flags: refused, state untouched.
  for (std::size_t n = 0; n < blob.size(); ++n) {
    RuleStage::KeyState t;
    t.run = 77;
    EXPECT_FALSE(RuleStage::decode_state(blob.substr(0, n), t)) << n;
    EXPECT_EQ(t.run, 77u);
  }
  RuleStage::KeyState t;
  EXPECT_FALSE(RuleStage::decode_state(blob + "x", t));
  std::string v2 = blob;
  v2[0] = 2;
  EXPECT_FALSE(RuleStage::decode_state(v2, t));
  std::string flags = blob;
  flags[4] = 4;
  EXPECT_FALSE(RuleStage::decode_state(flags, t));
  flags[4] = 1;  // raised but never raised: not a state the rule makes
  EXPECT_FALSE(RuleStage::decode_state(flags, t));
}

TEST_F(RuleSnapshots, AnotherConditionIsNotRestoredButOtherTimingsAndSpacingAre) {
  {
    Process p1;
    auto a = make(p1, {{"when", "v > 80"}, {"clear", "v < 75"}});
    EXPECT_EQ(feed(p1, *a, {{"pump", 0, 90}}), "pump:R0");
    stop(*a);
  }
  {
    // Same computation written differently, other `for`, `cooldown` and severity: restored (no
    // second raise).
    Process p;
    auto b =
        make(p, {{"when", "(v>80)"}, {"clear", "v<75"}, {"for", "5"}, {"cooldown", "1h"}, {"severity", "critical"}});
    EXPECT_EQ(feed(p, *b, {{"pump", 1, 90}, {"pump", 2, 70}}), "pump:C2");
    EXPECT_EQ(b->snapshots().restored_keys(), 1u);
    EXPECT_EQ(b->snapshots().skipped_files().size(), 0u);
    b.reset();  // destruction without flush also writes the final state
  }
  // The last state (cleared) was written by the destruction: armed again.
  {
    Process p;
    auto c = make(p, {{"when", "v > 80"}, {"clear", "v < 75"}});
    EXPECT_EQ(feed(p, *c, {{"pump", 3, 90}}), "pump:R3");
    stop(*c);
  }
  // Another threshold: the files (raised, under the old condition) are skipped; it starts armed.
  Process p;
  auto d = make(p, {{"when", "v > 85"}, {"clear", "v < 75"}});
  EXPECT_EQ(d->snapshots().skipped_files().size(), 3u);  // one file per stage instance so far
  EXPECT_EQ(p.metric("edgeloop_rule_snapshot_skipped_total"), 3.0);
  EXPECT_EQ(feed(p, *d, {{"pump", 4, 90}}), "pump:R4");
  EXPECT_EQ(d->snapshots().restored_keys(), 0u);
}

TEST_F(RuleSnapshots, CorruptTruncatedOrUnusableStateStartsArmed) {
  std::string fp;
  {
    Process p1;
    auto a = make(p1, {{"when", "v > 80"}});
    fp = a->fingerprint();
    EXPECT_EQ(feed(p1, *a, {{"a", 0, 90}, {"b", 0, 90}}), "a:R0 b:R0");
    stop(*a);
  }
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(dir_)) files.push_back(f.path());
  ASSERT_EQ(files.size(), 1u);
  const std::string whole = testing_read(files[0]);
  // Truncated: skipped.
  std::ofstream(files[0], std::ios::binary | std::ios::trunc) << whole.substr(0, whole.size() / 2);
  {
    Process p;
    auto b = make(p, {{"when", "v > 80"}});
    ASSERT_EQ(b->snapshots().skipped_files().size(), 1u);
    EXPECT_NE(b->snapshots().skipped_files()[0].find("checksum mismatch"), std::string::npos)
        << b->snapshots().skipped_files()[0];
    EXPECT_EQ(feed(p, *b, {{"a", 1, 90}}), "a:R1");
    b.reset();
  }
  // A well-formed file whose state for `a` is not a rule state: `a` starts armed, `b` is restored.
  for (const auto& f : fs::directory_iterator(dir_)) fs::remove(f.path());
  RuleStage::KeyState raised;
  raised.raised = raised.ever_raised = true;
  ASSERT_TRUE(state::write_atomic(
                  (dir_ / "plant.1.hot.0.snap").string(),
                  state::encode_snapshot(fp, 1, {{"a", 5, "nonsense"}, {"b", 5, RuleStage::encode_state(raised)}}))
                  .ok());
  Process p;
  auto c = make(p, {{"when", "v > 80"}});
  EXPECT_EQ(feed(p, *c, {{"a", 2, 90}, {"b", 2, 90}, {"b", 3, 10}}), "a:R2 b:C3");
  EXPECT_EQ(c->snapshots().restored_keys(), 1u);
  EXPECT_EQ(c->snapshots().unusable_keys(), 1u);
  EXPECT_EQ(p.metric("edgeloop_rule_snapshot_skipped_total"), 1.0);
}

TEST_F(RuleSnapshots, AStageThatSawNoRecordWritesNothing) {
  // `edgeloop check` builds the stages and destroys them; a run without traffic flushes them.
  {
    Process p;
    auto a = make(p, {{"when", "v > 80"}});
    stop(*a);
    auto b = make(p, {{"when", "v > 80"}});
  }
  EXPECT_TRUE(fs::is_empty(dir_));
  {
    Process p;
    auto a = make(p, {{"when", "v > 80"}});
    EXPECT_EQ(feed(p, *a, {{"a", 0, 90}}), "a:R0");
    stop(*a);
  }
  std::vector<std::string> before;
  for (const auto& f : fs::directory_iterator(dir_)) before.push_back(testing_read(f.path()));
  ASSERT_EQ(before.size(), 1u);
  {
    Process p;
    auto idle = make(p, {{"when", "v > 80"}});  // loads the file; sees no record
    stop(*idle);
    EXPECT_EQ(p.metric("edgeloop_rule_snapshots_total"), 0.0);
  }
  std::vector<std::string> after;
  for (const auto& f : fs::directory_iterator(dir_)) after.push_back(testing_read(f.path()));
  EXPECT_EQ(after, before);
}

TEST_F(RuleSnapshots, KeysNotSeenInARunKeepTheirStateForTheNext) {
  {
    Process p;
    auto a = make(p, {{"when", "v > 80"}});
    EXPECT_EQ(feed(p, *a, {{"a", 0, 90}, {"b", 0, 90}}), "a:R0 b:R0");
    stop(*a);
  }
  {
    Process p;
    auto a = make(p, {{"when", "v > 80"}});
    EXPECT_EQ(feed(p, *a, {{"a", 1, 10}}), "a:C1");  // b does not show up in this run
    stop(*a);
  }
  Process p;
  auto a = make(p, {{"when", "v > 80"}});
  EXPECT_EQ(feed(p, *a, {{"b", 2, 90}, {"a", 2, 90}, {"b", 3, 10}}), "a:R2 b:C3");
}

TEST_F(RuleSnapshots, ShardsWriteAFileEachAndARestartMergesThem) {
  {
    Process p;  // two shards: two instances, each with its own keys
    auto s0 = make(p, {{"when", "v > 80"}});
    auto s1 = make(p, {{"when", "v > 80"}});
    EXPECT_EQ(feed(p, *s0, {{"a", 0, 90}}), "a:R0");
    EXPECT_EQ(feed(p, *s1, {{"b", 0, 90}}), "b:R0");
    EXPECT_NE(s0->snapshots().path(), s1->snapshots().path());
    stop(*s0);
    stop(*s1);
  }
  Process p;  // one shard now
  auto one = make(p, {{"when", "v > 80"}});
  EXPECT_EQ(feed(p, *one, {{"a", 1, 90}, {"b", 1, 90}, {"a", 2, 10}, {"b", 2, 10}}), "a:C2 b:C2");
}

TEST_F(RuleSnapshots, TheRuntimeFolderIsTheDefaultAndEmptyTurnsSnapshotsOff) {
  Process p;
  p.runtime_state_dir = (dir_ / "runtime").string();
  {
    auto a = make(p, {{"when", "v > 80"}}, false);
    ASSERT_TRUE(a->snapshots().on());
    EXPECT_EQ(fs::path(a->snapshots().path()).parent_path(), dir_ / "runtime");  // created
    EXPECT_EQ(feed(p, *a, {{"a", 0, 90}}), "a:R0");
    stop(*a);
    EXPECT_TRUE(fs::exists(a->snapshots().path()));
  }
  auto off = make(p, {{"when", "v > 80"}, {"state_dir", ""}}, false);
  EXPECT_FALSE(off->snapshots().on());
  EXPECT_FALSE(off->snapshot_now(1).ok());
  auto restored = make(p, {{"when", "v > 80"}}, false);
  EXPECT_EQ(feed(p, *restored, {{"a", 1, 90}}), "");
  Process none;  // no runtime folder, no option: off
  auto plain = make(none, {{"when", "v > 80"}}, false);
  EXPECT_FALSE(plain->snapshots().on());
}

TEST_F(RuleSnapshots, PeriodicSnapshotFromTickWhileTheStateChanges) {
  Process p;
  auto a = make(p, {{"when", "v > 80"}, {"snapshot_every", "1s"}});
  Collect out;
  a->tick(10 * kSec, out);  // starts the period
  EXPECT_EQ(feed(p, *a, {{"a", 0, 90}}), "a:R0");
  a->tick(10 * kSec + kSec / 2, out);
  EXPECT_FALSE(fs::exists(a->snapshots().path()));
  a->tick(11 * kSec, out);  // due: written on the writer's thread
  for (int i = 0; i < 1000 && !fs::exists(a->snapshots().path()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(fs::exists(a->snapshots().path()));
  auto d = state::decode_snapshot(testing_read(a->snapshots().path()));
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->entries.size(), 1u);
  EXPECT_EQ(d->entries[0].key, "a");
  EXPECT_EQ(d->entries[0].updated_unix_ns, 10 * kSec);  // the wall clock of the tick before the record
  RuleStage::KeyState s;
  ASSERT_TRUE(RuleStage::decode_state(d->entries[0].state, s));
  EXPECT_TRUE(s.raised);
  EXPECT_EQ(s.last_raise_ts, 0);
  EXPECT_TRUE(out.events.empty());
}

TEST(RuleFingerprint, CanonicalBytecodeIgnoresSpellingAndFieldPlaces) {
  const Schema one({"v"}), two({"mean", "v"}), notx({"notx", "x"});
  auto c = [](const std::string& text, const Schema& s) { return Expression::compile(text, s)->canonical(s); };
  EXPECT_EQ(c("v > 80", one), "field_gt_const v 80");
  EXPECT_EQ(c("(v>80)", one), c("v > 80", two));
  EXPECT_EQ(c("v > 80.5 and v < 1e3", one), c("(v > 80.5) && (v < 1000)", two));
  EXPECT_NE(c("v > 80", one), c("v > 80.000001", one));
  EXPECT_NE(c("notx > 1", notx), c("not x > 1", notx));
}

}  // namespace
}  // namespace edgeloop
