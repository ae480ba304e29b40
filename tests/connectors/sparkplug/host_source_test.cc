// source.sparkplug's message path without a broker: births, aliases, seq gaps, deaths, bad input.
#include "connectors/sparkplug/host_source.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fakes.h"

namespace edgeloop::sparkplug {
namespace {

struct Sent {
  std::string topic;
  std::string payload;
};

class HostSourceTest : public ::testing::Test {
 protected:
  void make(std::vector<std::string> metrics, std::string key = {}) {
    HostConfig c;
    c.metrics = std::move(metrics);
    c.key = std::move(key);
    c.rebirth_interval_ns = 1'000'000'000;
    auto s = HostSource::create(std::move(c));
    ASSERT_TRUE(s.ok()) << s.error().message;
    source_ = std::move(s).value();
    ctx_.name = "spb";
    ctx_.keys = &keys_;
    ctx_.output = &out_;
    ctx_.dead_letters = &dead_;
    ctx_.metrics = &metrics_;
    ASSERT_TRUE(source_->bind(ctx_, [this](const std::string& t, const std::string& p) { sent_.push_back({t, p}); }).ok());
  }
  static PbMetric* add(PbPayload& p, const char* name, uint64_t alias, uint32_t dt, double v) {
    PbMetric* m = p.add_metrics();
    if (name) m->set_name(name);
    m->set_alias(alias);
    if (name) m->set_datatype(dt);
    set_metric_number(*m, dt, v);
    if (!name) m->clear_datatype();
    return m;
  }
  void send(const std::string& topic, const PbPayload& p, int64_t recv_ns = 1'000'000'000'000) {
    source_->handle_message(topic, p.SerializeAsString(), recv_ns);
  }
  PbPayload nbirth(uint64_t seq, uint64_t bdseq) {
    PbPayload p;
    p.set_timestamp(1700000000000);
    p.set_seq(seq);
    add(p, "bdSeq", 0, pb::UInt64, static_cast<double>(bdseq));
    add(p, "Node Control/Rebirth", 0, pb::Boolean, 0);
    add(p, "temp", 1, pb::Float, 21.5);
    return p;
  }
  PbPayload dbirth(uint64_t seq) {
    PbPayload p;
    p.set_timestamp(1700000000100);
    p.set_seq(seq);
    add(p, "i8", 10, pb::Int8, -3);
    add(p, "u32", 11, pb::UInt32, 4000000000.0);
    add(p, "on", 12, pb::Boolean, 1);
    add(p, "label", 13, pb::String, 0)->set_string_value("pump");
    add(p, "d", 14, pb::Double, 0.25);
    return p;
  }
  double metric(const char* name, std::vector<std::pair<std::string, std::string>> labels = {{"source", "spb"}}) {
    return metrics_.value(name, labels);
  }
  std::string key_of(const Record& r) { return keys_.name(r.key); }

  KeyTable keys_{1000};
  test::CollectingOutput out_;
  test::CollectingDeadLetters dead_;
  Metrics metrics_;
  SourceContext ctx_;
  std::vector<Sent> sent_;
  std::unique_ptr<HostSource> source_;
};

TEST_F(HostSourceTest, WideRecordsFromBirthAndAliasedData) {
  make({"i8", "u32", "on", "d", "label"});
  ASSERT_EQ(source_->schema().names(), (std::vector<std::string>{"i8", "u32", "on", "d", "label", "stale"}));
  send("spBv1.0/plant/NBIRTH/n1", nbirth(0, 7));
  send("spBv1.0/plant/DBIRTH/n1/pump3", dbirth(1));
  auto recs = out_.records();
  ASSERT_EQ(recs.size(), 2u);  // the node's birth (no field of ours, still a record) and the device's
  EXPECT_EQ(key_of(recs[0]), "plant/n1");
  const Record& b = recs[1];
  EXPECT_EQ(key_of(b), "plant/n1/pump3");
  EXPECT_EQ(b.nfields, 6);
  EXPECT_EQ(b.f[0], -3);
  EXPECT_EQ(b.f[1], 4000000000.0);
  EXPECT_EQ(b.f[2], 1);
  EXPECT_EQ(b.f[3], 0.25);
  EXPECT_TRUE(std::isnan(b.f[4]));  // a String is not a field value
  EXPECT_EQ(b.f[5], 0);
  EXPECT_EQ(b.ts_ns, 1700000000100 * 1'000'000);

  PbPayload d;  // aliases only, report by exception: only i8 changes
  d.set_timestamp(1700000000200);
  d.set_seq(2);
  add(d, nullptr, 10, pb::Int8, -128);
  send("spBv1.0/plant/DDATA/n1/pump3", d);
  recs = out_.records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[2].f[0], -128);
  EXPECT_EQ(recs[2].f[1], 4000000000.0);
  EXPECT_EQ(recs[2].ts_ns, 1700000000200 * 1'000'000);
  EXPECT_EQ(sent_.size(), 0u);
  EXPECT_EQ(metric("edgeloop_sparkplug_seq_gaps_total"), 0);
  EXPECT_EQ(metric("edgeloop_sparkplug_skipped_total"), 1);  // the birth's String
}

TEST_F(HostSourceTest, SeqGapRequestsOneRebirthPerInterval) {
  make({"i8"});
  send("spBv1.0/plant/NBIRTH/n1", nbirth(0, 1));
  send("spBv1.0/plant/DBIRTH/n1/pump3", dbirth(1));
  PbPayload d;
  d.set_seq(3);  // 2 is missing
  add(d, nullptr, 10, pb::Int8, 5);
  send("spBv1.0/plant/DDATA/n1/pump3", d, 2'000'000'000'000);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].topic, "spBv1.0/plant/NCMD/n1");
  PbPayload cmd;
  ASSERT_TRUE(cmd.ParseFromString(sent_[0].payload));
  ASSERT_EQ(cmd.metrics_size(), 1);
  EXPECT_EQ(cmd.metrics(0).name(), "Node Control/Rebirth");
  EXPECT_EQ(cmd.metrics(0).datatype(), pb::Boolean);
  EXPECT_TRUE(cmd.metrics(0).boolean_value());
  EXPECT_EQ(out_.records().back().f[0], 5);  // the values still count
  d.set_seq(5);                              // another gap within the interval: no second NCMD
  send("spBv1.0/plant/DDATA/n1/pump3", d, 2'000'500'000'000);
  EXPECT_EQ(sent_.size(), 1u);
  d.set_seq(6);  // in order again
  send("spBv1.0/plant/DDATA/n1/pump3", d, 2'000'600'000'000);
  EXPECT_EQ(metric("edgeloop_sparkplug_seq_gaps_total"), 2);
  EXPECT_EQ(metric("edgeloop_sparkplug_rebirth_requests_total"), 1);
}

TEST_F(HostSourceTest, SeqWrapsAt256) {
  make({"i8"});
  send("spBv1.0/plant/NBIRTH/n1", nbirth(254, 1));
  send("spBv1.0/plant/DBIRTH/n1/pump3", dbirth(255));
  PbPayload d;
  d.set_seq(0);
  add(d, nullptr, 10, pb::Int8, 1);
  send("spBv1.0/plant/DDATA/n1/pump3", d);
  EXPECT_EQ(metric("edgeloop_sparkplug_seq_gaps_total"), 0);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(HostSourceTest, DataBeforeBirthAndUnknownAliasAskForRebirth) {
  make({"i8"});
  PbPayload d;
  d.set_seq(4);
  add(d, nullptr, 10, pb::Int8, 1);
  send("spBv1.0/plant/DDATA/n9/x", d);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].topic, "spBv1.0/plant/NCMD/n9");
  EXPECT_EQ(metric("edgeloop_source_errors_total", {{"source", "spb"}, {"reason", "no_birth"}}), 1);
  EXPECT_EQ(out_.count(), 0u);

  send("spBv1.0/plant/NBIRTH/n1", nbirth(0, 1));
  send("spBv1.0/plant/DBIRTH/n1/pump3", dbirth(1));
  PbPayload u;
  u.set_seq(2);
  add(u, nullptr, 99, pb::Int8, 1);
  send("spBv1.0/plant/DDATA/n1/pump3", u);
  EXPECT_EQ(metric("edgeloop_source_errors_total", {{"source", "spb"}, {"reason", "unknown_alias"}}), 1);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].topic, "spBv1.0/plant/NCMD/n1");
  ASSERT_EQ(dead_.count(), 2u);
  EXPECT_NE(dead_.letters()[1].reason.find("alias 99"), std::string::npos) << dead_.letters()[1].reason;
}

TEST_F(HostSourceTest, DeathsMarkStaleWhenBdSeqMatches) {
  make({"i8"});
  send("spBv1.0/plant/NBIRTH/n1", nbirth(0, 7));
  send("spBv1.0/plant/DBIRTH/n1/pump3", dbirth(1));
  out_.clear();
  PbPayload old_death;
  add(old_death, "bdSeq", 0, pb::UInt64, 6);  // an older session's will: ignored
  send("spBv1.0/plant/NDEATH/n1", old_death);
  EXPECT_EQ(out_.count(), 0u);
  EXPECT_EQ(metric("edgeloop_sparkplug_deaths_ignored_total"), 1);
  PbPayload death;
  death.set_timestamp(1700000009000);
  add(death, "bdSeq", 0, pb::UInt64, 7);
  send("spBv1.0/plant/NDEATH/n1", death);
  auto recs = out_.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(key_of(recs[0]), "plant/n1");
  EXPECT_EQ(key_of(recs[1]), "plant/n1/pump3");
  EXPECT_EQ(recs[1].f[0], -3);  // the last value, marked stale
  EXPECT_EQ(recs[1].f[1], 1);
  EXPECT_EQ(recs[1].ts_ns, 1700000009000 * 1'000'000);
  EXPECT_EQ(metric("edgeloop_sparkplug_stale_total"), 2);
  // After the death, data is data before a birth.
  PbPayload d;
  d.set_seq(2);
  add(d, nullptr, 10, pb::Int8, 1);
  send("spBv1.0/plant/DDATA/n1/pump3", d);
  EXPECT_EQ(metric("edgeloop_source_errors_total", {{"source", "spb"}, {"reason", "no_birth"}}), 1);
}

TEST_F(HostSourceTest, DeviceDeathMarksOnlyThatDevice) {
  make({"i8"});
  send("spBv1.0/plant/NBIRTH/n1", nbirth(0, 7));
  send("spBv1.0/plant/DBIRTH/n1/pump3", dbirth(1));
  out_.clear();
  PbPayload dd;
  dd.set_seq(2);
  send("spBv1.0/plant/DDEATH/n1/pump3", dd);
  auto recs = out_.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(key_of(recs[0]), "plant/n1/pump3");
  EXPECT_EQ(recs[0].f[1], 1);
  EXPECT_EQ(metric("edgeloop_sparkplug_stale_total"), 1);
}

TEST_F(HostSourceTest, LongModeGivesARecordPerMetric) {
  make({});
  ASSERT_EQ(source_->schema().names(), (std::vector<std::string>{"value", "stale"}));
  send("spBv1.0/plant/NBIRTH/n1", nbirth(0, 7));
  auto recs = out_.records();
  ASSERT_EQ(recs.size(), 1u);  // temp; bdSeq and Node Control are not streams
  EXPECT_EQ(key_of(recs[0]), "plant/n1/temp");
  EXPECT_EQ(recs[0].f[0], 21.5);
  PbPayload d;
  d.set_seq(1);
  PbMetric* m = add(d, nullptr, 1, pb::Float, -2.25);
  m->set_timestamp(1700000000555);
  send("spBv1.0/plant/NDATA/n1", d);
  recs = out_.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].f[0], -2.25);
  EXPECT_EQ(recs[1].ts_ns, 1700000000555 * 1'000'000);
}

TEST_F(HostSourceTest, BadInputIsCountedAndDeadLettered) {
  make({"i8"});
  source_->handle_message("spBv1.0/plant/NDATA/n1", std::string("\xff\xff\xff garbage", 11), 1);
  source_->handle_message("plant/n1/data", "x", 1);
  EXPECT_EQ(metric("edgeloop_source_errors_total", {{"source", "spb"}, {"reason", "malformed"}}), 1);
  EXPECT_EQ(metric("edgeloop_source_errors_total", {{"source", "spb"}, {"reason", "bad_topic"}}), 1);
  ASSERT_EQ(dead_.count(), 2u);
  EXPECT_EQ(dead_.letters()[0].topic, "spBv1.0/plant/NDATA/n1");
  EXPECT_EQ(out_.count(), 0u);
}

TEST(SparkplugKeyTemplate, DropsTheSeparatorOfAMissingDevice) {
  auto k = KeyTemplate::compile("{group}/{node}/{device}");
  ASSERT_TRUE(k.ok());
  std::string out;
  k->render("g", "n", "", "", out);
  EXPECT_EQ(out, "g/n");
  k->render("g", "n", "d", "", out);
  EXPECT_EQ(out, "g/n/d");
  EXPECT_FALSE(KeyTemplate::compile("{nope}").ok());
  HostConfig c;
  c.key = "{group}/{node}";
  EXPECT_FALSE(HostSource::create(std::move(c)).ok());  // long mode needs {metric}
}

}  // namespace
}  // namespace edgeloop::sparkplug
