#include "state/stage_snapshots.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/config_node.h"

namespace edgeloop::state {
namespace {

namespace fs = std::filesystem;

class StageSnapshotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeloop_stage_snapshots_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ctx_.pipeline = "line1";
    ctx_.stage_index = 2;
    ctx_.keys = &keys_;
    ctx_.metrics = &metrics_;
  }
  void TearDown() override { fs::remove_all(dir_); }

  StageSnapshotSettings settings(const std::string& fingerprint = "f1") {
    return {.dir = dir_.string(), .every_ns = 1'000, .kind = "test", .fingerprint = fingerprint};
  }
  KeyId key(const std::string& name) { return *keys_.intern(name, "t/" + name, 0); }
  double metric(const std::string& name) {
    return metrics_.value(name, {{"pipeline", "line1"}, {"stage", "2:my rule"}});
  }

  fs::path dir_;
  KeyTable keys_;
  Metrics metrics_;
  StageContext ctx_;
};

TEST_F(StageSnapshotsTest, OffWithoutAFolder) {
  StageSnapshots off({.dir = "", .kind = "test", .fingerprint = "f"}, ctx_, "x");
  EXPECT_FALSE(off.on());
  EXPECT_FALSE(off.due(1));
  EXPECT_FALSE(off.write_now("data").ok());
  EXPECT_FALSE(off.has_pending());
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(StageSnapshotsTest, FileNamesKeysByNameAndRestoreOnce) {
  const KeyId a = key("pump/1"), b = key("pump/2");
  std::string first_path;
  {
    StageSnapshots s(settings(), ctx_, "my rule");
    ASSERT_TRUE(s.on());
    first_path = s.path();
    // <dir>/<pipeline>.<stage index>.<name, file-safe>.<instance>.snap
    EXPECT_EQ(fs::path(s.path()).parent_path(), dir_);
    const std::string file = fs::path(s.path()).filename().string();
    EXPECT_EQ(file.rfind("line1.2.my_rule.", 0), 0u) << file;
    EXPECT_EQ(fs::path(s.path()).extension(), ".snap");
    EXPECT_EQ(s.key_name(a), "pump/1");
    ASSERT_TRUE(s.write_now(s.encode(500, {{"pump/1", 100, "state-a"}, {"pump/2", 200, "state-b"}})).ok());
    EXPECT_EQ(metric("edgeloop_test_snapshots_total"), 1.0);
  }
  StageSnapshots s(settings(), ctx_, "my rule");
  EXPECT_NE(s.path(), first_path);  // a second instance in this process: its own file
  EXPECT_TRUE(s.has_pending());
  auto got = s.take(b);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->key, "pump/2");
  EXPECT_EQ(got->state, "state-b");
  EXPECT_EQ(got->updated_unix_ns, 200);
  EXPECT_FALSE(s.take(b).has_value());  // handed out once
  s.count_restored();
  EXPECT_EQ(s.restored_keys(), 1u);
  EXPECT_EQ(metric("edgeloop_test_restored_keys_total"), 1.0);
  // The key not taken yet is written again, with its own age; the taken one only as `live` says.
  auto d = decode_snapshot(s.encode(900, {{"pump/2", 800, "newer-b"}}));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->fingerprint, "f1");
  EXPECT_EQ(d->saved_unix_ns, 900);
  ASSERT_EQ(d->entries.size(), 2u);
  EXPECT_EQ(d->entries[0].key, "pump/2");
  EXPECT_EQ(d->entries[0].state, "newer-b");
  EXPECT_EQ(d->entries[1].key, "pump/1");
  EXPECT_EQ(d->entries[1].state, "state-a");
  EXPECT_EQ(d->entries[1].updated_unix_ns, 100);
  auto rest = s.take(a);
  ASSERT_TRUE(rest.has_value());
  EXPECT_FALSE(s.has_pending());
}

TEST_F(StageSnapshotsTest, WithoutAKeyTableKeysAreNamedById) {
  StageContext bare = ctx_;
  bare.keys = nullptr;
  StageSnapshots s(settings(), bare, "r");
  EXPECT_EQ(s.key_name(17), "#17");
}

TEST_F(StageSnapshotsTest, OtherSettingsCorruptAndTruncatedFilesAreSkippedAndCounted) {
  ASSERT_TRUE(
      write_atomic((dir_ / "line1.2.my_rule.0.snap").string(), encode_snapshot("f1", 1, {{"pump/1", 10, "good"}}))
          .ok());
  ASSERT_TRUE(
      write_atomic((dir_ / "line1.2.my_rule.1.snap").string(), encode_snapshot("f0", 1, {{"pump/1", 99, "old"}})).ok());
  const std::string whole = encode_snapshot("f1", 1, {{"pump/1", 98, "cut"}});
  std::ofstream(dir_ / "line1.2.my_rule.2.snap", std::ios::binary) << whole.substr(0, whole.size() - 5);
  std::ofstream(dir_ / "line1.2.my_rule.3.snap", std::ios::binary) << "garbage";
  // Other steps' files are not read at all.
  ASSERT_TRUE(
      write_atomic((dir_ / "line1.3.my_rule.0.snap").string(), encode_snapshot("f1", 1, {{"pump/1", 999, "x"}})).ok());
  StageSnapshots s(settings(), ctx_, "my rule");
  ASSERT_EQ(s.skipped_files().size(), 3u);
  EXPECT_EQ(metric("edgeloop_test_snapshot_skipped_total"), 3.0);
  auto got = s.take(key("pump/1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, "good");
  s.count_unusable();
  EXPECT_EQ(s.unusable_keys(), 1u);
  EXPECT_EQ(metric("edgeloop_test_snapshot_skipped_total"), 4.0);
}

TEST_F(StageSnapshotsTest, PeriodicWritesOnlyWhenDueAndChanged) {
  StageSnapshots s(settings(), ctx_, "my rule");
  EXPECT_FALSE(s.due(10'000));  // starts the period
  s.touch();
  EXPECT_FALSE(s.due(10'999));  // 999 ns < every (1000 ns)
  EXPECT_TRUE(s.due(11'000));
  EXPECT_FALSE(s.due(12'500));  // nothing changed since
  s.touch();
  EXPECT_TRUE(s.due(12'500));
  s.submit(s.encode(12'500, {{"k", 1, "v"}}));
  for (int i = 0; i < 1000 && !fs::exists(s.path()); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(fs::exists(s.path()));
  // The background write is counted at the next tick.
  for (int i = 0; i < 1000 && metric("edgeloop_test_snapshots_total") < 1; ++i) {
    (void)s.due(12'600);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(metric("edgeloop_test_snapshots_total"), 1.0);
  EXPECT_EQ(metric("edgeloop_test_snapshot_failures_total"), 0.0);
}

TEST_F(StageSnapshotsTest, AWriteThatFailsIsCounted) {
  StageSnapshotSettings bad = settings();
  bad.dir = (dir_ / "gone").string();
  fs::create_directories(bad.dir);
  StageSnapshots s(bad, ctx_, "my rule");
  fs::remove_all(bad.dir);
  EXPECT_FALSE(s.needs_write());  // nothing changed, nothing handed over
  EXPECT_FALSE(s.write_now(s.encode(1, {})).ok());
  EXPECT_EQ(metric("edgeloop_test_snapshot_failures_total"), 1.0);
  EXPECT_EQ(metric("edgeloop_test_snapshots_total"), 0.0);
  EXPECT_TRUE(s.needs_write());  // the disk is behind: flush writes again
  // A periodic write that fails makes the next period write again, records or not.
  EXPECT_FALSE(s.due(1'000'000));
  s.touch();
  EXPECT_TRUE(s.due(2'000'000));
  s.submit(s.encode(2'000'000, {}));
  for (int i = 0; i < 1000 && metric("edgeloop_test_snapshot_failures_total") < 2; ++i) {
    (void)s.due(2'000'100);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(metric("edgeloop_test_snapshot_failures_total"), 2.0);
  EXPECT_TRUE(s.due(3'000'100));  // due again without a touch
  fs::create_directories(bad.dir);
  EXPECT_TRUE(s.write_now(s.encode(3, {})).ok());
  EXPECT_FALSE(s.needs_write());
}

TEST_F(StageSnapshotsTest, NeedsWriteOnlyAfterAChange) {
  StageSnapshots s(settings(), ctx_, "my rule");
  EXPECT_FALSE(s.needs_write());
  s.touch();
  EXPECT_TRUE(s.needs_write());
  ASSERT_TRUE(s.write_now(s.encode(1, {})).ok());
  EXPECT_FALSE(s.needs_write());
  s.touch();
  EXPECT_FALSE(s.due(10));
  EXPECT_TRUE(s.due(10 + 1'000));
  s.submit(s.encode(2, {}));
  // Handed over: on disk once the writer is done (current() waits for a write in progress).
  for (int i = 0; i < 1000 && s.needs_write(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_FALSE(s.needs_write());
}

TEST(StageSnapshotsOptions, OwnFolderElseTheRuntimesAndEmptyTurnsThemOff) {
  const OptionTable table = snapshot_option_specs("the state");
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table[0].name, "state_dir");
  EXPECT_EQ(table[1].name, "snapshot_every");
  EXPECT_EQ(table[1].default_value, "5m");
  StageContext ctx;
  ctx.state_dir = "/var/lib/edgeloop";
  auto parse = [&](ConfigNode n) { return Options::parse(table, n, "pipelines.p.steps[0].rule"); };
  const Mark m{std::make_shared<std::string>("t.yaml"), 1, 1};
  ConfigNode none = ConfigNode::map(m);
  auto o1 = parse(none);
  ASSERT_TRUE(o1.ok());
  EXPECT_EQ(resolve_state_dir(*o1, ctx), "/var/lib/edgeloop");
  EXPECT_EQ(o1->duration_ns("snapshot_every"), 300'000'000'000);
  ConfigNode own = ConfigNode::map(m);
  own.set("state_dir", ConfigNode::scalar("/tmp/mine", m));
  auto o2 = parse(own);
  ASSERT_TRUE(o2.ok());
  EXPECT_EQ(resolve_state_dir(*o2, ctx), "/tmp/mine");
  ConfigNode off = ConfigNode::map(m);
  off.set("state_dir", ConfigNode::scalar("", m));
  auto o3 = parse(off);
  ASSERT_TRUE(o3.ok());
  EXPECT_EQ(resolve_state_dir(*o3, ctx), "");
  ctx.state_dir.clear();
  EXPECT_EQ(resolve_state_dir(*o1, ctx), "");
}

TEST(StageSnapshotsOptions, FileSafeNames) {
  EXPECT_EQ(file_safe("over-heat_2"), "over-heat_2");
  EXPECT_EQ(file_safe("a/b c.d"), "a_b_c_d");
  EXPECT_EQ(file_safe(""), "");
}

}  // namespace
}  // namespace edgeloop::state
