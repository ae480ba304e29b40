#include "state/snapshot_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace edgeloop::state {
namespace {

TEST(SnapshotStore, EncodeDecodeRoundTrip) {
  const std::vector<SnapshotEntry> entries = {{"pump/1", 111, std::string("\x00\x01\x02", 3)}, {"pump/2", 222, "abc"}};
  const std::string data = encode_snapshot("robust/1 h=2000", 12345, entries);
  auto d = decode_snapshot(data);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->fingerprint, "robust/1 h=2000");
  EXPECT_EQ(d->saved_unix_ns, 12345);
  ASSERT_EQ(d->entries.size(), 2u);
  EXPECT_EQ(d->entries[0].key, "pump/1");
  EXPECT_EQ(d->entries[0].updated_unix_ns, 111);
  EXPECT_EQ(d->entries[0].state, std::string("\x00\x01\x02", 3));
  EXPECT_EQ(d->entries[1].state, "abc");
}

TEST(SnapshotStore, CorruptionIsDetected) {
  std::string data = encode_snapshot("f", 1, {{"k", 1, "state"}});
  std::string flipped = data;
  flipped[20] ^= 1;
  EXPECT_FALSE(decode_snapshot(flipped).ok());
  EXPECT_FALSE(decode_snapshot(data.substr(0, data.size() - 3)).ok());
  EXPECT_FALSE(decode_snapshot("not a snapshot at all").ok());
}

TEST(SnapshotStore, EveryTruncationAndEveryFlippedByteIsRefused) {
  const std::string data = encode_snapshot("rule/1 when=x", 77, {{"pump/1", 5, "abcdef"}, {"pump/2", 6, ""}});
  for (std::size_t n = 0; n < data.size(); ++n) {
    auto d = decode_snapshot(data.substr(0, n));
    ASSERT_FALSE(d.ok()) << "a prefix of " << n << " bytes decoded";
  }
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::string bad = data;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    ASSERT_FALSE(decode_snapshot(bad).ok()) << "byte " << i << " flipped and still decoded";
  }
  // A trailing byte (not the checksum's) is refused too.
  EXPECT_FALSE(decode_snapshot(data + "x").ok());
}

TEST(SnapshotStore, AnotherFormatVersionIsRefusedWithItsNumber) {
  std::string data = encode_snapshot("f", 1, {});
  data[8] = 2;  // the u32 version after the magic
  // The checksum no longer matches either; rebuild it so that the version check is what fails.
  const std::string body = data.substr(0, data.size() - 8);
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::string fixed = body;
  fixed.append(reinterpret_cast<const char*>(&h), 8);
  auto d = decode_snapshot(fixed);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message, "snapshot format version 2 is not supported");
}

TEST(SnapshotStore, AtomicWriteAndNewestEntryWins) {
  const auto dir = std::filesystem::temp_directory_path() / ("edgeloop_snapshot_store_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(write_atomic((dir / "p.0.detect.0.snap").string(),
                           encode_snapshot("f", 10, {{"a", 100, "old-a"}, {"b", 300, "new-b"}}))
                  .ok());
  ASSERT_TRUE(write_atomic((dir / "p.0.detect.1.snap").string(),
                           encode_snapshot("f", 20, {{"a", 200, "new-a"}, {"b", 150, "old-b"}}))
                  .ok());
  ASSERT_TRUE(write_atomic((dir / "p.0.detect.2.snap").string(), encode_snapshot("other settings", 30, {{"a", 999, "x"}})).ok());
  std::ofstream(dir / "p.0.detect.3.snap") << "garbage";
  EXPECT_FALSE(std::filesystem::exists(dir / "p.0.detect.0.snap.tmp"));
  std::vector<std::string> skipped;
  const auto got = load_snapshots(dir.string(), "p.0.detect", "f", &skipped);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got.at("a").state, "new-a");
  EXPECT_EQ(got.at("b").state, "new-b");
  EXPECT_EQ(skipped.size(), 2u);  // other settings, garbage
  std::filesystem::remove_all(dir);
}

TEST(SnapshotStore, WriterKeepsTheNewest) {
  const auto dir = std::filesystem::temp_directory_path() / ("edgeloop_snapshot_writer_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "w.snap").string();
  {
    SnapshotWriter w(path);
    for (int i = 0; i < 50; ++i) w.submit(encode_snapshot("f", i, {{"k", i, std::to_string(i)}}));
    ASSERT_TRUE(w.write_now(encode_snapshot("f", 100, {{"k", 100, "final"}})).ok());
    EXPECT_EQ(w.failures(), 0u);
  }
  const auto got = load_snapshots(dir.string(), "w", "f", nullptr);
  std::ifstream f(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto d = decode_snapshot(data);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->entries.at(0).state, "final");
  EXPECT_EQ(got.at("k").state, "final");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  SnapshotWriter bad((dir / "missing" / "x.snap").string());
  EXPECT_FALSE(bad.write_now("x").ok());
  EXPECT_EQ(bad.failures(), 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edgeloop::state
