#include "outbox/outbox_store.h"

#include <gtest/gtest.h>

#include "process.h"

namespace edgeloop {
namespace {

OutboxMessage row(uint64_t seq, std::string payload = "{}") {
  OutboxMessage m;
  m.seq = seq;
  m.id = "gw:" + std::to_string(seq);
  m.created_ns = 1000 + static_cast<int64_t>(seq);
  m.key = "line1/pump-1";
  m.kind = "alert";
  m.pipeline = "p";
  m.stage = "hot";
  m.payload = std::move(payload);
  return m;
}

class OutboxStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = test::make_temp_dir("edgeloop-outbox-store-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    path_ = dir_ + "/sub/outbox.db";  // the folder is created
  }
  void TearDown() override { test::remove_tree(dir_); }
  std::string dir_, path_;
};

TEST_F(OutboxStoreTest, InsertReadRemoveDropAndReopen) {
  {
    auto st = OutboxStore::open(path_, OutboxSync::kFull);
    ASSERT_TRUE(st.ok()) << st.error().message;
    auto& s = **st;
    EXPECT_EQ(s.last_seq(), 0u);
    EXPECT_EQ(s.rows_at_open(), 0u);
    ASSERT_TRUE(s.begin().ok());
    for (uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(s.insert(row(i, std::string(i, 'x'))).ok());
    ASSERT_TRUE(s.set_last_seq(10).ok());
    ASSERT_TRUE(s.commit().ok());

    std::vector<OutboxMessage> page;
    ASSERT_TRUE(s.read_after(3, 4, page).ok());
    ASSERT_EQ(page.size(), 4u);
    EXPECT_EQ(page[0].seq, 4u);
    EXPECT_EQ(page[3].seq, 7u);
    EXPECT_EQ(page[0].id, "gw:4");
    EXPECT_EQ(page[0].payload, "xxxx");
    EXPECT_EQ(page[0].key, "line1/pump-1");
    EXPECT_EQ(page[0].created_ns, 1004);

    ASSERT_TRUE(s.begin().ok());
    auto removed = s.remove(5);
    ASSERT_TRUE(removed.ok());
    ASSERT_TRUE(removed->has_value());
    EXPECT_EQ(**removed, OutboxStore::row_bytes(row(5, "xxxxx")));
    auto again = s.remove(5);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->has_value());
    uint64_t rows = 0, bytes = 0;
    ASSERT_TRUE(s.drop_oldest(3, rows, bytes).ok());  // 1, 2, 3
    EXPECT_EQ(rows, 3u);
    EXPECT_EQ(bytes, OutboxStore::row_bytes(row(1, "x")) + OutboxStore::row_bytes(row(2, "xx")) +
                         OutboxStore::row_bytes(row(3, "xxx")));
    ASSERT_TRUE(s.commit().ok());
    auto oldest = s.oldest_created_ns();
    ASSERT_TRUE(oldest.ok());
    EXPECT_EQ(oldest->value_or(-1), 1004);
  }
  {
    auto st = OutboxStore::open(path_, OutboxSync::kNormal);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ((*st)->last_seq(), 10u);
    EXPECT_EQ((*st)->rows_at_open(), 6u);  // 4, 6..10
    std::vector<OutboxMessage> page;
    ASSERT_TRUE((*st)->read_after(0, 100, page).ok());
    std::vector<uint64_t> seqs;
    for (const auto& m : page) seqs.push_back(m.seq);
    EXPECT_EQ(seqs, (std::vector<uint64_t>{4, 6, 7, 8, 9, 10}));
    // Everything deleted: the sequence is still remembered.
    ASSERT_TRUE((*st)->begin().ok());
    uint64_t rows = 0, bytes = 0;
    ASSERT_TRUE((*st)->drop_oldest(100, rows, bytes).ok());
    ASSERT_TRUE((*st)->commit().ok());
    EXPECT_EQ(rows, 6u);
  }
  auto st = OutboxStore::open(path_, OutboxSync::kFull);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ((*st)->last_seq(), 10u);
  EXPECT_EQ((*st)->rows_at_open(), 0u);
  EXPECT_EQ((*st)->bytes_at_open(), 0u);
  auto oldest = (*st)->oldest_created_ns();
  ASSERT_TRUE(oldest.ok());
  EXPECT_FALSE(oldest->has_value());
}

TEST_F(OutboxStoreTest, BadPathIsAClearError) {
  auto st = OutboxStore::open("/proc/edgeloop-no-such-place/outbox.db", OutboxSync::kFull);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("outbox"), std::string::npos);
  EXPECT_FALSE(OutboxStore::open("", OutboxSync::kFull).ok());
}

}  // namespace
}  // namespace edgeloop
