// op.health across restarts: the smoothed index, the trend fit and the last emit time per key
// are snapshotted and restored by key name, so that a restart changes none of its outputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/clock.h"
#include "models/builtins.h"
#include "models/detect_stage.h"
#include "models/health_stage.h"
#include "operators/stage_harness.h"
#include "state/snapshot_store.h"

namespace edgeloop {
namespace {

namespace fs = std::filesystem;
using testing::Collect;
using testing::kSec;
using OptList = std::initializer_list<std::pair<std::string, std::string>>;

constexpr int64_t kMin = 60 * kSec;
const std::string kPipeline = "plant";
const Schema kInput({"v", "score"});

const Registry& models_registry() {
  static const Registry r = [] {
    Registry reg;
    register_models(reg);
    return reg;
  }();
  return r;
}

// Bitwise equality (NaN equals NaN): a restored index must give the very same numbers.
bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

struct Process {
  KeyTable keys;
  Metrics metrics;
  std::string runtime_state_dir;
  std::map<KeyId, uint32_t> slots;

  Record record(const std::string& key, int64_t ts, double score) {
    Record r;
    r.key = *keys.intern(key, "", 0);
    r.slot = slots.try_emplace(r.key, static_cast<uint32_t>(slots.size())).first->second;
    r.ts_ns = ts;
    r.recv_ns = ts;
    r.f[r.nfields++] = 1.0;
    r.f[r.nfields++] = score;
    return r;
  }
  double metric(const std::string& name) {
    return metrics.value(name, {{"pipeline", kPipeline}, {"stage", "2:health"}});
  }
};

double score_at(int i) {
  return 0.1 + 0.004 * i + 0.05 * std::sin(i * 0.7);
}

class HealthSnapshots : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeloop_health_state_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<HealthStage> make(Process& p, OptList opts, bool own_dir = true) {
    ConfigNode node = ConfigNode::map(testing::test_mark());
    if (own_dir) node.set("state_dir", ConfigNode::scalar(dir_.string(), testing::test_mark()));
    for (const auto& [k, v] : opts) node.set(k, ConfigNode::scalar(v, testing::test_mark()));
    StageContext ctx;
    ctx.pipeline = kPipeline;
    ctx.pipeline_name = &kPipeline;
    ctx.name = "health";
    ctx.stage_index = 2;
    ctx.input = &kInput;
    ctx.metrics = &p.metrics;
    ctx.keys = &p.keys;
    ctx.state_dir = p.runtime_state_dir;
    auto s = models_registry().make_stage("health", node, "pipelines.plant.steps[2].health", ctx);
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (!s.ok()) return nullptr;
    return std::unique_ptr<HealthStage>(static_cast<HealthStage*>(s->release()));
  }

  fs::path dir_;
};

TEST(HealthIndexState, SaveLoadIsExactAndTheIndexGoesOnIdentically) {
  HealthSettings s;
  s.half_life_ns = 10 * kMin;
  s.trend_ns = 60 * kMin;
  s.threshold = 0.8;
  HealthIndex a(s);
  for (int i = 0; i < 100; ++i) a.update(score_at(i), i * kMin);
  state::ByteWriter w;
  a.save(w);
  const std::string blob = w.take();
  HealthIndex b(s);
  state::ByteReader r(blob);
  ASSERT_TRUE(b.load(r));
  EXPECT_TRUE(r.done());
  EXPECT_TRUE(b.same_state(a));
  EXPECT_EQ(b.last_ts(), 99 * kMin);
  for (int i = 100; i < 200; ++i) {
    a.update(score_at(i), i * kMin);
    b.update(score_at(i), i * kMin);
    ASSERT_TRUE(same_bits(a.index(), b.index())) << i;
    ASSERT_TRUE(same_bits(a.trend_per_s(), b.trend_per_s())) << i;
    ASSERT_TRUE(same_bits(a.time_to_threshold_s(), b.time_to_threshold_s())) << i;
  }
  EXPECT_GT(a.trend_per_s(), 0.0);
}

TEST(HealthIndexState, MalformedStateIsRefusedAndLeavesTheIndexAlone) {
  HealthSettings s;
  s.half_life_records = 5;
  s.trend_records = 20;
  HealthIndex a(s);
  for (int i = 0; i < 10; ++i) a.update(score_at(i), i * kSec);
  state::ByteWriter w;
  a.save(w);
  const std::string blob = w.take();
  HealthIndex fresh(s);
  for (std::size_t n = 0; n < blob.size(); ++n) {
    HealthIndex b(s);
    state::ByteReader r(std::string_view(blob).substr(0, n));
    EXPECT_FALSE(b.load(r)) << n;
    EXPECT_TRUE(b.same_state(fresh)) << n;
  }
  std::string v2 = blob;
  v2[0] = 9;
  HealthIndex b(s);
  state::ByteReader r2(v2);
  EXPECT_FALSE(b.load(r2));
  std::string started = blob;
  started[4] = 2;  // the started flag is 0 or 1
  state::ByteReader r3(started);
  EXPECT_FALSE(b.load(r3));
  EXPECT_TRUE(b.same_state(fresh));
}

TEST_F(HealthSnapshots, ARestartChangesNoOutputAndNoEmitTime) {
  const OptList opts = {{"half_life", "5m"}, {"trend", "1h"}, {"emit_every", "10m"}};
  Process ref_p;
  auto ref = make(ref_p, opts, false);
  Collect want;
  for (int i = 0; i < 60; ++i) ref->process(ref_p.record("pump", i * kMin, score_at(i)), want);
  ASSERT_EQ(want.events.size(), 6u);  // minutes 0, 10, ..., 50

  Collect got;
  {
    Process p1;
    auto a = make(p1, opts);
    for (int i = 0; i < 35; ++i) a->process(p1.record("pump", i * kMin, score_at(i)), got);
    a->flush(unix_now_ns(), got);
    EXPECT_EQ(p1.metric("edgeloop_health_snapshots_total"), 1.0);
  }
  Process p2;
  (void)p2.keys.intern("another", "", 0);  // other ids than in the first run
  (void)p2.record("another", 0, 0.5);      // and another slot
  auto b = make(p2, opts);
  for (int i = 35; i < 60; ++i) b->process(p2.record("pump", i * kMin, score_at(i)), got);
  EXPECT_EQ(b->snapshots().restored_keys(), 1u);
  EXPECT_EQ(p2.metric("edgeloop_health_restored_keys_total"), 1.0);

  ASSERT_EQ(got.records.size(), want.records.size());
  for (std::size_t i = 0; i < want.records.size(); ++i) {
    for (int f = 2; f < 5; ++f) {
      ASSERT_TRUE(
          same_bits(got.records[i].f[static_cast<std::size_t>(f)], want.records[i].f[static_cast<std::size_t>(f)]))
          << "record " << i << " field " << f;
    }
  }
  ASSERT_EQ(got.events.size(), want.events.size());  // no extra insight right after the restart
  for (std::size_t i = 0; i < want.events.size(); ++i) EXPECT_EQ(got.events[i].ts_ns, want.events[i].ts_ns) << i;
  EXPECT_EQ(b->last_emit_of(p2.slots.at(p2.keys.find("pump"))), 50 * kMin);
}

TEST_F(HealthSnapshots, OtherSmoothingIsNotRestoredOtherThresholdOrEmitPeriodIs) {
  {
    Process p;
    auto a = make(p, {{"half_life", "5m"}, {"trend", "1h"}});
    Collect out;
    for (int i = 0; i < 20; ++i) a->process(p.record("pump", i * kMin, 0.9), out);
  }  // destruction writes the snapshot
  {
    Process p;
    auto b = make(
        p, {{"half_life", "5m"}, {"trend", "1h"}, {"threshold", "0.5"}, {"emit_every", "1h"}, {"append", "false"}});
    Collect out;
    b->process(p.record("pump", 20 * kMin, 0.9), out);
    EXPECT_EQ(b->snapshots().restored_keys(), 1u);
    EXPECT_TRUE(out.events.empty());  // the last emit (19 min, under 1h ago) restored
    EXPECT_GT(b->index_of(0)->index(), 0.89);
  }
  Process p;
  auto c = make(p, {{"half_life", "50"}, {"trend", "1h"}});
  EXPECT_EQ(c->snapshots().skipped_files().size(), 2u);
  EXPECT_EQ(p.metric("edgeloop_health_snapshot_skipped_total"), 2.0);
  Collect out;
  c->process(p.record("pump", 21 * kMin, 0.1), out);
  EXPECT_EQ(c->snapshots().restored_keys(), 0u);
  EXPECT_EQ(c->index_of(0)->index(), 0.1);  // a fresh index starts at its first score
  ASSERT_EQ(out.events.size(), 1u);
}

TEST_F(HealthSnapshots, CorruptFilesAndUnusableKeyStatesStartAfresh) {
  std::string fp;
  {
    Process p;
    auto a = make(p, {});
    fp = a->fingerprint();
    Collect out;
    a->process(p.record("pump", 0, 0.9), out);
    a->flush(1, out);
  }
  for (const auto& f : fs::directory_iterator(dir_)) std::ofstream(f.path(), std::ios::trunc) << "corrupt";
  {
    Process p;
    auto b = make(p, {});
    EXPECT_EQ(b->snapshots().skipped_files().size(), 1u);
    Collect out;
    b->process(p.record("pump", kMin, 0.2), out);
    EXPECT_EQ(b->index_of(0)->index(), 0.2);
    b->flush(2, out);
  }
  for (const auto& f : fs::directory_iterator(dir_)) fs::remove(f.path());
  ASSERT_TRUE(state::write_atomic((dir_ / "plant.2.health.0.snap").string(),
                                  state::encode_snapshot(fp, 1, {{"pump", 5, std::string("\x01\x00\x00\x00", 4)}}))
                  .ok());
  Process p;
  auto c = make(p, {});
  Collect out;
  c->process(p.record("pump", 2 * kMin, 0.3), out);
  EXPECT_EQ(c->snapshots().unusable_keys(), 1u);
  EXPECT_EQ(c->snapshots().restored_keys(), 0u);
  EXPECT_EQ(c->index_of(0)->index(), 0.3);
  EXPECT_EQ(out.events.size(), 1u);  // a fresh key emits at once
}

TEST_F(HealthSnapshots, RuntimeFolderIsTheDefault) {
  Process p;
  p.runtime_state_dir = (dir_ / "rt").string();
  {
    auto a = make(p, {}, false);
    ASSERT_TRUE(a->snapshots().on());
    EXPECT_EQ(fs::path(a->snapshots().path()).parent_path(), dir_ / "rt");
    EXPECT_EQ(fs::path(a->snapshots().path()).filename().string().rfind("plant.2.health.", 0), 0u);
  }
  auto off = make(p, {{"state_dir", ""}}, false);
  EXPECT_FALSE(off->snapshots().on());
  EXPECT_EQ(off->fingerprint(), "health/1 half=600000000000,0 trend=3600000000000,0 field=score");
}

// op.detect takes the same runtime-level default (its own snapshots predate state::StageSnapshots).
TEST_F(HealthSnapshots, DetectUsesTheRuntimeFolderToo) {
  const Schema input({"v"});
  auto build = [&](const std::string& runtime_dir, OptList opts) {
    ConfigNode node = ConfigNode::map(testing::test_mark());
    for (const auto& [k, v] : opts) node.set(k, ConfigNode::scalar(v, testing::test_mark()));
    StageContext ctx;
    ctx.pipeline = kPipeline;
    ctx.pipeline_name = &kPipeline;
    ctx.stage_index = 1;
    ctx.input = &input;
    ctx.state_dir = runtime_dir;
    auto s = models_registry().make_stage("detect", node, "pipelines.plant.steps[1].detect", ctx);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return std::unique_ptr<DetectStage>(static_cast<DetectStage*>(s->release()));
  };
  const std::string rt = (dir_ / "rt").string();
  auto d = build(rt, {});
  EXPECT_EQ(fs::path(d->snapshot_path()).parent_path(), fs::path(rt));
  EXPECT_TRUE(fs::is_directory(rt));
  auto own = build(rt, {{"state_dir", (dir_ / "own").string()}});
  EXPECT_EQ(fs::path(own->snapshot_path()).parent_path(), dir_ / "own");
  auto off = build(rt, {{"state_dir", ""}});
  EXPECT_EQ(off->snapshot_path(), "");
  auto none = build("", {});
  EXPECT_EQ(none->snapshot_path(), "");
}

}  // namespace
}  // namespace edgeloop
