// `edgeloop eval ims`: loading the IMS feature CSVs (stopped rig, channel names, bad input),
// the rig reference, the scoring of alarms per bearing, and the whole evaluation on the real
// files in ../shared/data/ims (skipped without them) with its exact outcome.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eval/evaluation.h"
#include "eval/ims.h"
#include "eval/text_io.h"
#include "models/builtins.h"
#include "operators/builtins.h"
#include "rules/builtins.h"
#include "runtime/inproc_source.h"

namespace edgeloop::eval {
namespace {

const std::string kData = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data/ims";

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_operators(reg);
    register_rules(reg);
    register_models(reg);
    register_runtime(reg);
    return reg;
  }();
  return r;
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("edgeloop_ims_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name, const std::string& text) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(ImsLoad, ChannelsKeysAndAStoppedRigAtTheEnd) {
  TempDir dir;
  const std::string path = dir.file("merged_dataset_BearingTest_7.csv",
                                    ",Bearing 1 C1,Bearing 1 C2,Bearing 2 C1,Bearing 2 C2\n"
                                    "2004-02-12 10:00:00,0.10,0.12,0.20,0.22\n"
                                    "2004-02-12 10:10:00,0.11,0.13,0.21,0.23\n"
                                    "2004-02-12 10:20:00,0.12,0.14,0.22,0.24\n"
                                    "2004-02-12 10:30:00,0.001,0.002,0.003,0.004\n");
  auto t = load_ims_csv(path, 7);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->number, 7);
  EXPECT_EQ(t->file, "merged_dataset_BearingTest_7.csv");
  EXPECT_EQ(t->rows(), 3u);
  EXPECT_EQ(t->stopped_rows, 1u);
  EXPECT_EQ(t->bearings(), (std::vector<int>{1, 2}));
  EXPECT_EQ(t->suffix[1], "C2");
  EXPECT_EQ(t->key(1), "test7/bearing1_c2");
  EXPECT_TRUE(t->failed.empty());  // test 7: no known failure, not scored
  EXPECT_EQ(t->ts_ns.back(), *parse_timestamp_ns("2004-02-12 10:20:00"));
  EXPECT_DOUBLE_EQ(t->values[3][2], 0.24);

  // The rig reference of bearing 1: the mean of bearing 2's channels.
  const auto rig = ims_rig_reference(*t, 0);
  ASSERT_EQ(rig.size(), 3u);
  EXPECT_DOUBLE_EQ(rig[0], 0.21);
  EXPECT_DOUBLE_EQ(rig[2], 0.23);
  EXPECT_DOUBLE_EQ(ims_rig_reference(*t, 3)[1], 0.12);
}

TEST(ImsLoad, SingleChannelBearingsAndTheOtherBearingsMean) {
  TempDir dir;
  dir.file("merged_dataset_BearingTest_2.csv",
           ",Bearing 1,Bearing 2,Bearing 3\n2004-02-12 10:00:00,0.3,0.1,0.2\n2004-02-12 10:10:00,0.6,0.2,0.4\n");
  dir.file("notes.csv", "x\n");
  auto tests = load_ims_folder(dir.str());
  ASSERT_TRUE(tests.ok()) << tests.error().message;
  ASSERT_EQ(tests->size(), 1u);
  const ImsTest& t = tests->front();
  EXPECT_EQ(t.key(0), "test2/bearing1");
  EXPECT_EQ(t.failed, (std::vector<int>{1}));
  EXPECT_DOUBLE_EQ(ims_rig_reference(t, 0)[1], 0.3);   // (0.2 + 0.4) / 2
  EXPECT_DOUBLE_EQ(ims_rig_reference(t, 2)[0], 0.2);   // (0.3 + 0.1) / 2
}

TEST(ImsLoad, BadInputIsAnErrorWithItsPlace) {
  TempDir dir;
  auto bad_name = load_ims_csv(dir.file("a.csv", ",Sensor 1\n2004-02-12 10:00:00,0.1\n"), 1);
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.error().message.find("'Sensor 1') is not a bearing channel"), std::string::npos) << bad_name.error().message;
  auto back = load_ims_csv(dir.file("b.csv", ",Bearing 1\n2004-02-12 10:10:00,0.1\n2004-02-12 10:00:00,0.1\n"), 1);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message.find("b.csv:3: the snapshot times do not increase"), std::string::npos) << back.error().message;
  auto num = load_ims_csv(dir.file("c.csv", ",Bearing 1\n2004-02-12 10:10:00,abc\n"), 1);
  ASSERT_FALSE(num.ok());
  EXPECT_NE(num.error().message.find("c.csv:2:"), std::string::npos) << num.error().message;
  auto cols = load_ims_csv(dir.file("d.csv", ",Bearing 1,Bearing 2\n2004-02-12 10:10:00,0.1\n"), 1);
  ASSERT_FALSE(cols.ok());
  EXPECT_NE(cols.error().message.find("expected 3 columns, got 2"), std::string::npos) << cols.error().message;
  auto none = load_ims_folder(dir.str());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::kNotFound);
}

TEST(ImsScore, LeadTimesAndHealthyBearingsBeforeOrAfterTheFailingOne) {
  ImsTest t;
  t.number = 1;
  t.channels = {"Bearing 1 C1", "Bearing 1 C2", "Bearing 2 C1", "Bearing 2 C2", "Bearing 3 C1", "Bearing 3 C2",
                "Bearing 4 C1", "Bearing 4 C2"};
  t.bearing = {1, 1, 2, 2, 3, 3, 4, 4};
  t.suffix = {"C1", "C2", "C1", "C2", "C1", "C2", "C1", "C2"};
  t.failed = {3, 4};
  for (int i = 0; i < 10; ++i) t.ts_ns.push_back(int64_t{i} * 3600'000'000'000);  // hourly
  t.values.assign(8, std::vector<double>(10, 1.0));
  // Bearing 1 alarms at row 2 (before bearing 4 at row 4), bearing 2 at row 8 (after),
  // bearing 3 at row 7 on its second channel.
  const std::vector<std::vector<std::size_t>> first = {{2, SIZE_MAX, 8, 9, SIZE_MAX, 7, 4, 5}};
  const std::vector<std::vector<std::size_t>> raised = {{1, 0, 2, 1, 0, 1, 1, 1}};
  const ImsScore s = score_ims({t}, first, raised);
  EXPECT_EQ(s.tests, 1u);
  EXPECT_EQ(s.bearings, 4u);
  EXPECT_EQ(s.failed, 2u);
  EXPECT_EQ(s.detected, 2u);
  EXPECT_EQ(s.false_alarms, 2u);
  EXPECT_EQ(s.false_alarms_before_failing, 1u);
  ASSERT_EQ(s.outcomes.size(), 4u);
  EXPECT_TRUE(s.outcomes[0].before_failing);
  EXPECT_FALSE(s.outcomes[1].before_failing);
  EXPECT_EQ(s.outcomes[1].alerts_raised, 3u);
  EXPECT_EQ(s.outcomes[2].first_channel, "Bearing 3 C2");
  EXPECT_DOUBLE_EQ(s.outcomes[2].lead_hours, 2.0);
  EXPECT_DOUBLE_EQ(s.lead_hours(1, 4), 5.0);
  EXPECT_DOUBLE_EQ(s.lead_hours(1, 1), 7.0);
  EXPECT_LT(s.lead_hours(2, 1), 0);  // no such test

  // Nothing alarms: nothing detected, no false alarm; an unknown test is not scored.
  ImsTest unknown = t;
  unknown.number = 9;
  unknown.failed.clear();
  const std::vector<std::vector<std::size_t>> silent(2, std::vector<std::size_t>(8, SIZE_MAX));
  const std::vector<std::vector<std::size_t>> zero(2, std::vector<std::size_t>(8, 0));
  const ImsScore q = score_ims({t, unknown}, silent, zero);
  EXPECT_EQ(q.tests, 1u);
  EXPECT_EQ(q.detected, 0u);
  EXPECT_EQ(q.false_alarms, 0u);
  EXPECT_LT(q.lead_hours(1, 3), 0);
}

// The evaluation contract on the real data: every failing bearing detected, none of the
// bearings that survived alarms, test 2 bearing 1 ahead of the README's floor (74 h).
TEST(ImsEval, RealDataExactOutcome) {
  if (!std::filesystem::exists(kData + "/merged_dataset_BearingTest_2.csv")) GTEST_SKIP() << "no shared IMS data";
  TempDir dir;
  EvalOptions o;
  o.data_dir = kData;
  o.report_path = dir.str() + "/out/ims.json";
  auto r = run_ims_eval(o, registry());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->summary_json,
            "{\"dataset\":\"ims\",\"tests\":2,\"bearings\":8,\"failed\":3,\"detected\":3,\"false_alarms\":0,"
            "\"lead_hours_test2_b1\":75.67}");
  EXPECT_EQ(r->stats.rows, 8u * 2156 + 4u * 982);
  EXPECT_TRUE(r->stats.has_rules);
  EXPECT_NE(r->text.find("2 rows of a stopped rig left out"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("   1        3  yes     2003-11-25 12:07:32  C2        11.54"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("   1        4  yes     2003-11-21 14:58:36  C1       104.69"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("   2        1  yes     2004-02-16 02:22:39  all       75.67"), std::string::npos) << r->text;

  auto text = read_file(o.report_path);
  ASSERT_TRUE(text.ok());
  const auto j = nlohmann::json::parse(*text);
  EXPECT_EQ(j["false_alarms_before_failing"], 0);
  ASSERT_EQ(j["per_test"].size(), 2u);
  EXPECT_EQ(j["per_test"][1]["last_running"], "2004-02-19 06:02:39");
  EXPECT_EQ(j["per_test"][1]["stopped_rows_left_out"], 2);
  EXPECT_EQ(j["per_test"][0]["bearings"][3]["first_channel"], "Bearing 4 C1");
  for (const auto& t : j["per_test"]) {
    for (const auto& b : t["bearings"]) {
      EXPECT_TRUE(std::filesystem::exists(dir.str() + "/out/" + b["plot"].get<std::string>())) << b["plot"];
      if (!b["failed"].get<bool>()) {
        EXPECT_TRUE(b["first_alarm"].is_null()) << b.dump();
      }
    }
  }

  // A slice: test 2 only.
  o.only = "_2.csv";
  o.report_path.clear();
  auto two = run_ims_eval(o, registry());
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_EQ(two->summary_json,
            "{\"dataset\":\"ims\",\"tests\":1,\"bearings\":4,\"failed\":1,\"detected\":1,\"false_alarms\":0,"
            "\"lead_hours_test2_b1\":75.67}");
}

}  // namespace
}  // namespace edgeloop::eval
