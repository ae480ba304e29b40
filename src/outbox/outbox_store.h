// The outbox's SQLite database (WAL): one row per accepted event, deleted once the upstream
// confirmed it. Two connections: the writer's (inserts and deletes, in transactions, on one
// thread) and the reader's (the sender thread's pages of rows to send); WAL lets the reader
// see the last commit without blocking the writer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "outbox/sink.h"

struct sqlite3;
struct sqlite3_stmt;

namespace edgeloop {

// PRAGMA synchronous under WAL. FULL: the WAL is fsynced at every commit, so a committed batch
// survives a power cut. NORMAL: fsynced at checkpoints only, so a commit survives a crash of
// the process (kill -9) but the last commits may be lost on a power cut.
enum class OutboxSync { kFull, kNormal };

class OutboxStore {
 public:
  // Opens (creating the file, its folder and the tables when missing) in WAL mode.
  static Result<std::unique_ptr<OutboxStore>> open(const std::string& path, OutboxSync sync);
  ~OutboxStore();
  OutboxStore(const OutboxStore&) = delete;
  OutboxStore& operator=(const OutboxStore&) = delete;

  // As found at open: the highest sequence ever assigned (kept in a meta row, so that a
  // sequence, and with it a message id, is never given twice even after its row went), the
  // rows and their bytes.
  uint64_t last_seq() const { return last_seq_; }
  uint64_t rows_at_open() const { return rows_at_open_; }
  uint64_t bytes_at_open() const { return bytes_at_open_; }
  const std::string& path() const { return path_; }

  // The size a row counts for in max_bytes: its payload, id, key and names.
  static uint64_t row_bytes(const OutboxMessage& m);

  // Writer connection (one thread).
  Status begin();
  Status commit();
  void rollback();
  Status insert(const OutboxMessage& m);
  // Deletes one row; its bytes, or nullopt when it was not there (already dropped).
  Result<std::optional<uint64_t>> remove(uint64_t seq);
  // Deletes the `count` oldest rows; adds what went to rows/bytes.
  Status drop_oldest(uint64_t count, uint64_t& rows, uint64_t& bytes);
  Status set_last_seq(uint64_t seq);
  // created_ns of the oldest row, or nullopt when empty.
  Result<std::optional<int64_t>> oldest_created_ns();

  // Reader connection (another thread): rows with seq > after, oldest first.
  Status read_after(uint64_t after, std::size_t limit, std::vector<OutboxMessage>& out);

 private:
  OutboxStore() = default;
  Status exec(sqlite3* db, const char* sql);
  Status prepare(sqlite3* db, const char* sql, sqlite3_stmt** stmt);
  Error db_error(sqlite3* db, const std::string& what) const;

  std::string path_;
  sqlite3* db_ = nullptr;      // writer
  sqlite3* reader_ = nullptr;  // sender thread
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* remove_ = nullptr;
  sqlite3_stmt* drop_ = nullptr;
  sqlite3_stmt* set_meta_ = nullptr;
  sqlite3_stmt* oldest_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* read_ = nullptr;
  uint64_t last_seq_ = 0;
  uint64_t rows_at_open_ = 0;
  uint64_t bytes_at_open_ = 0;
};

}  // namespace edgeloop
