// `edgeloop query` on a store written by this process (the CLI opens its own connection).
#include "store/query_command.h"

#include <gtest/gtest.h>

#include "store_test_util.h"

namespace edgeloop::store {
namespace {

using namespace testing;

struct Ran {
  int code = -1;
  std::string out;
};

Ran run_query(std::vector<std::string> args) {
  CLI::App app{"test"};
  QueryCommand cmd(app);
  args.insert(args.begin(), "edgeloop");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  Ran ran;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    ran.code = 2;
    ran.out = e.what();
    return ran;
  }
  EXPECT_TRUE(cmd.selected());
  std::FILE* f = std::tmpfile();
  ran.code = cmd.run(f);
  std::rewind(f);
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) ran.out.append(buf, n);
  std::fclose(f);
  return ran;
}

TEST(QueryCommand, PrintsJsonLinesOrAnArray) {
  TempDir dir;
  const std::string db = dir.file("q.db");
  KeyTable keys;
  {
    auto store = Store::open_shared(settings_at(db));
    ASSERT_TRUE(store.ok());
    auto q = (*store)->add_reading_queue(Schema({"a", "b"}), &keys, 64, nullptr);
    const KeyId k = *keys.intern("k1", "", 0);
    for (int i = 0; i < 3; ++i) q->push(record(k, kT0 + i * kSec, {1.5 * i, -1.0}));
  }
  Ran r = run_query({"query", "--db", db, "readings", "--key", "k1", "--field", "a"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out,
            "{\"key\":\"k1\",\"ts_ns\":1732536000000000000,\"fields\":{\"a\":0.0}}\n"
            "{\"key\":\"k1\",\"ts_ns\":1732536001000000000,\"fields\":{\"a\":1.5}}\n"
            "{\"key\":\"k1\",\"ts_ns\":1732536002000000000,\"fields\":{\"a\":3.0}}\n");
  r = run_query({"query", "--db", db, "readings", "--key", "k1", "--rollup", "1m", "--json-array", "--field", "b"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out,
            "[{\"key\":\"k1\",\"field\":\"b\",\"interval_ns\":60000000000,\"ts_ns\":1732536000000000000,"
            "\"min\":-1.0,\"mean\":-1.0,\"max\":-1.0,\"count\":3}]\n");
  r = run_query({"query", "--db", db, "readings", "--key", "k1", "--from", "2024-11-25T12:00:01Z", "--to",
                 "1732536002000ms", "--order", "desc"});
  EXPECT_EQ(r.out, "{\"key\":\"k1\",\"ts_ns\":1732536001000000000,\"fields\":{\"a\":1.5,\"b\":-1.0}}\n");
  r = run_query({"query", "--db", db, "events", "--kind", "alert"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
}

TEST(QueryCommand, BadQueriesFail) {
  TempDir dir;
  EXPECT_EQ(run_query({"query", "--db", dir.file("none.db"), "events"}).code, 1);
  {
    auto store = Store::open_shared(settings_at(dir.file("q.db")));
    ASSERT_TRUE(store.ok());
  }
  EXPECT_EQ(run_query({"query", "--db", dir.file("q.db"), "readings", "--key", "k", "--limit", "0"}).code, 1);
  EXPECT_EQ(run_query({"query", "--db", dir.file("q.db"), "readings"}).code, 2);  // --key is required
}

}  // namespace
}  // namespace edgeloop::store
