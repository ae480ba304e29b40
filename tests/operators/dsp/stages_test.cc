#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include "operators/dsp/block_pool.h"
#include "operators/dsp/bearing.h"
#include "operators/dsp/builtins.h"
#include "operators/dsp/features.h"
#include "operators/dsp/samples_stage.h"
#include "operators/dsp/synthetic.h"
#include "operators/stage_harness.h"

namespace edgeloop {
namespace {

using testing::Collect;
using testing::options_node;
using Strs = std::vector<std::string>;

const Registry& dsp_registry() {
  static const Registry r = [] {
    Registry reg;
    register_dsp(reg);
    return reg;
  }();
  return r;
}

Result<std::unique_ptr<Stage>> make(const std::string& step, const ConfigNode& node, const Schema& input,
                                    Metrics* metrics = nullptr) {
  return testing::make_stage_in(dsp_registry(), step, node, input, metrics, 1);
}

std::unique_ptr<Stage> build(const std::string& step, const ConfigNode& node, const Schema& input,
                             Metrics* metrics = nullptr) {
  auto s = make(step, node, input, metrics);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(s).value() : nullptr;
}

double dropped(Metrics& m, const std::string& step, const std::string& reason) {
  return m.value("edgeloop_stage_dropped_total", {{"pipeline", "p"}, {"stage", "1:" + step}, {"reason", reason}});
}

const Schema kNone;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

// A record of `slot` holding samples first .. first+count-1 of a ramp (value = index) at
// `rate` Hz, stamped with the time of its first sample.
Record block_record(uint32_t slot, uint64_t first, std::size_t count, double rate = 1000) {
  auto b = std::make_shared<SampleBlock>();
  b->sample_rate_hz = rate;
  b->samples.resize(count);
  for (std::size_t i = 0; i < count; ++i) b->samples[i] = static_cast<float>(first + i);
  Record r;
  r.key = 100 + slot;
  r.slot = slot;
  r.ts_ns = kT0 + static_cast<int64_t>(std::llround(static_cast<double>(first) * 1e9 / rate));
  r.recv_ns = r.ts_ns + 5;
  r.block = std::move(b);
  return r;
}

std::vector<float> samples_of(const Record& r) { return r.block->samples; }

std::vector<float> ramp(uint64_t first, std::size_t count) {
  std::vector<float> v(count);
  std::iota(v.begin(), v.end(), static_cast<float>(first));
  return v;
}

TEST(Samples, WindowsSpanBlockBoundaries) {
  auto st = build("samples", options_node({{"size", "8"}, {"hop", "4"}}), kNone);
  ASSERT_TRUE(st);
  Collect out;
  std::vector<std::size_t> emitted_after;
  for (uint64_t first = 0; first < 30; first += 3) {
    st->process(block_record(0, first, 3), out);
    emitted_after.push_back(out.records.size());
  }
  // Windows start at 0, 4, ..., 20 and end at 7, 11, ..., 27: complete in blocks 2, 3, 5, 6, 7, 9.
  ASSERT_EQ(out.records.size(), 6u);
  EXPECT_EQ(emitted_after, (std::vector<std::size_t>{0, 0, 1, 2, 2, 3, 4, 5, 5, 6}));
  for (std::size_t w = 0; w < 6; ++w) {
    const Record& r = out.records[w];
    EXPECT_EQ(samples_of(r), ramp(4 * w, 8)) << w;
    EXPECT_EQ(r.ts_ns, kT0 + static_cast<int64_t>(4 * w) * 1'000'000) << w;  // its first sample's time
    EXPECT_EQ(r.block->sample_rate_hz, 1000.0);
    EXPECT_EQ(r.key, 100u);
    EXPECT_EQ(r.nfields, 0);
  }
  // The window's recv_ns is that of the block that completed it.
  EXPECT_EQ(out.records[0].recv_ns, kT0 + 6'000'000 + 5);
  EXPECT_EQ(dynamic_cast<dsp::SamplesStage&>(*st).zero_copy_windows(), 0u);
}

TEST(Samples, AWindowThatIsABlockIsPassedOnWithoutACopy) {
  auto st = build("samples", options_node({{"size", "8"}, {"hop", "4"}}), kNone);
  Collect out;
  std::vector<const SampleBlock*> inputs;
  for (uint64_t first = 0; first < 32; first += 8) {
    Record r = block_record(0, first, 8);
    inputs.push_back(r.block.get());
    st->process(r, out);
  }
  // Windows at 0, 4, 8, ..., 24: those at 0, 8, 16, 24 are the input blocks themselves.
  ASSERT_EQ(out.records.size(), 7u);
  for (std::size_t w = 0; w < 7; ++w) {
    EXPECT_EQ(samples_of(out.records[w]), ramp(4 * w, 8)) << w;
    EXPECT_EQ(out.records[w].ts_ns, kT0 + static_cast<int64_t>(4 * w) * 1'000'000) << w;
    if (w % 2 == 0) {
      EXPECT_EQ(out.records[w].block.get(), inputs[w / 2]) << w;
    } else {
      EXPECT_NE(out.records[w].block.get(), inputs[w / 2]) << w;
    }
  }
  EXPECT_EQ(dynamic_cast<dsp::SamplesStage&>(*st).zero_copy_windows(), 4u);
}

TEST(Samples, HopsLongerThanTheWindowSkipSamplesAndKeysAreIndependent) {
  auto st = build("samples", options_node({{"size", "4"}, {"hop", "6"}}), kNone);
  Collect out;
  // Two keys interleaved, blocks of 5 and 7.
  for (uint64_t a = 0, b = 0; a < 20; a += 5, b += 7) {
    st->process(block_record(0, a, 5), out);
    st->process(block_record(1, b, 7), out);
  }
  std::vector<std::vector<float>> key0, key1;
  for (const Record& r : out.records) (r.slot == 0 ? key0 : key1).push_back(samples_of(r));
  EXPECT_EQ(key0, (std::vector<std::vector<float>>{ramp(0, 4), ramp(6, 4), ramp(12, 4)}));
  EXPECT_EQ(key1, (std::vector<std::vector<float>>{ramp(0, 4), ramp(6, 4), ramp(12, 4), ramp(18, 4), ramp(24, 4)}));
}

TEST(Samples, ARateChangeOrAGapRestartsTheKey) {
  Metrics m;
  auto st = build("samples", options_node({{"size", "8"}, {"max_gap", "10ms"}}), kNone, &m);
  Collect out;
  st->process(block_record(0, 0, 5), out);
  st->process(block_record(0, 5, 5, 2000), out);  // another rate: the 5 samples before are dropped
  EXPECT_EQ(out.records.size(), 0u);
  EXPECT_EQ(dropped(m, "samples", "restart"), 1.0);
  st->process(block_record(0, 10, 5, 2000), out);  // contiguous at 2000 Hz: 10 samples now
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(samples_of(out.records[0]), ramp(5, 8));
  // A block 1 s later than expected is a gap: its window starts afresh from it.
  Record late = block_record(0, 15, 8, 2000);
  late.ts_ns += 1'000'000'000;
  st->process(late, out);
  EXPECT_EQ(dropped(m, "samples", "restart"), 2.0);
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(samples_of(out.records[1]), ramp(15, 8));
  EXPECT_EQ(out.records[1].ts_ns, late.ts_ns);
  // Records without samples are counted and dropped.
  Record empty;
  st->process(empty, out);
  EXPECT_EQ(dropped(m, "samples", "no_block"), 1.0);
  EXPECT_EQ(out.records.size(), 2u);
}

TEST(Samples, RejectsBadOptions) {
  EXPECT_FALSE(make("samples", options_node({}), kNone).ok());
  EXPECT_FALSE(make("samples", options_node({{"size", "1"}}), kNone).ok());
  EXPECT_FALSE(make("samples", options_node({{"size", "8"}, {"hop", "0"}}), kNone).ok());
  auto r = make("samples", options_node({{"size", "8"}, {"step", "4"}}), kNone);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("step"), std::string::npos);
}

TEST(BlockPool, ReusesBlocksOnceReleased) {
  dsp::BlockPool pool(2);
  auto a = pool.acquire(16, 100);
  auto b = pool.acquire(16, 100);
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(pool.allocations(), 2u);
  const SampleBlock* pa = a.get();
  a.reset();
  auto c = pool.acquire(32, 200);
  EXPECT_EQ(c.get(), pa);  // recycled, resized
  EXPECT_EQ(c->samples.size(), 32u);
  EXPECT_EQ(c->sample_rate_hz, 200.0);
  auto d = pool.acquire(8, 1);  // all in use and the pool full: a block it does not keep
  EXPECT_EQ(pool.allocations(), 3u);
  EXPECT_EQ(pool.pooled(), 2u);
}

TEST(Features, StageEmitsTheFeatureVector) {
  const Schema in({"rpm"});
  auto st = build("features", options_node({}), in);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->output_schema().names(),
            (Strs{"rpm", "rms", "peak", "crest", "kurtosis", "skewness", "band_0", "band_1", "band_2", "band_3",
                  "band_4", "band_5", "band_6", "band_7"}));
  auto b = std::make_shared<SampleBlock>();
  b->sample_rate_hz = dsp::kV1SampleRate;
  b->samples.resize(4096);
  dsp::v1_samples(0, 0, 4096, b->samples.data());
  Record r;
  r.key = 7;
  r.slot = 0;
  r.ts_ns = 123;
  r.nfields = 1;
  r.f[0] = 1797;
  r.block = b;
  Collect out;
  st->process(r, out);
  ASSERT_EQ(out.records.size(), 1u);
  const Record& o = out.records[0];
  auto fx = dsp::FeatureExtractor::create(dsp::FeatureConfig{}, 4096);
  ASSERT_TRUE(fx.ok());
  std::vector<double> want(13);
  (*fx)->compute(b->samples.data(), b->sample_rate_hz, want.data());
  EXPECT_EQ(o.ts_ns, 123);
  EXPECT_EQ(o.key, 7u);
  ASSERT_EQ(o.nfields, 14);  // all 14 fit in a record's fields
  EXPECT_EQ(o.f[0], 1797.0);
  for (std::size_t i = 1; i < 14; ++i) EXPECT_EQ(o.f[i], want[i - 1]) << i;
  ASSERT_TRUE(o.block);
  EXPECT_EQ(o.block->sample_rate_hz, 0.0);
  ASSERT_EQ(o.block->samples.size(), 14u);
  EXPECT_EQ(o.block->samples[0], 1797.0f);
  for (std::size_t i = 1; i < 14; ++i) EXPECT_EQ(o.block->samples[i], static_cast<float>(want[i - 1])) << i;
  EXPECT_NEAR(o.block->samples[1], 0.6088092264324283, 1e-6);  // reference.json, window 0 rms
}

TEST(Features, StageCountsWindowsItCannotUse) {
  Metrics m;
  auto st = build("features", options_node({{"features", Strs{"rms", "bands"}}, {"bands", "4"}, {"window", "flattop"}}),
                  kNone, &m);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->output_schema().names(), (Strs{"rms", "band_0", "band_1", "band_2", "band_3"}));
  Collect out;
  st->process(block_record(0, 0, 1000), out);  // not a power of two
  st->process(Record{}, out);
  EXPECT_EQ(out.records.size(), 0u);
  EXPECT_EQ(dropped(m, "features", "bad_block"), 1.0);
  EXPECT_EQ(dropped(m, "features", "no_block"), 1.0);
  st->process(block_record(0, 0, 1024), out);
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(out.records[0].nfields, 5);
}

TEST(Features, StageRejectsBadOptions) {
  EXPECT_FALSE(make("features", options_node({{"features", Strs{"rms", "zcr"}}}), kNone).ok());
  EXPECT_FALSE(make("features", options_node({{"window", "hamming"}}), kNone).ok());
  EXPECT_FALSE(make("features", options_node({{"bands", "0"}}), kNone).ok());
  auto clash = make("features", options_node({{"features", Strs{"rms"}}}), Schema({"rms"}));
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().message.find("input field"), std::string::npos);
  // The shorthand: a list is the feature list.
  ConfigNode list = ConfigNode::sequence(testing::test_mark());
  list.push(ConfigNode::scalar("kurtosis", testing::test_mark()));
  auto s = make("features", list, kNone);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*s)->output_schema().names(), (Strs{"kurtosis"}));
}

// samples -> envelope -> features, on an outer-race defect: bpfo names it, and the samples
// block reaches op.features unchanged.
TEST(Envelope, StageNamesTheDefectFromAShaftSpeedField) {
  const Schema in({"rpm"});
  Metrics m;
  auto env = build("envelope",
                   options_node({{"band", Strs{"2000", "4000"}},
                                 {"n_balls", "9"},
                                 {"ball_diameter", "0.3126"},
                                 {"pitch_diameter", "1.537"},
                                 {"shaft_field", "rpm"}}),
                   in, &m);
  ASSERT_TRUE(env);
  EXPECT_EQ(env->output_schema().names(), (Strs{"rpm", "bpfo", "bpfi", "bsf", "ftf"}));
  const double rpm = 1797;
  const dsp::DefectFrequencies d = dsp::defect_frequencies(dsp::BearingGeometry{9, 0.3126, 1.537, 0}, rpm / 60);
  dsp::BearingSignal s;
  s.shaft_hz = rpm / 60;
  s.defect_hz = d.bpfo;
  auto b = std::make_shared<SampleBlock>();
  b->sample_rate_hz = s.sample_rate_hz;
  b->samples.resize(8192);
  dsp::bearing_samples(s, 0, 8192, b->samples.data());
  Record r;
  r.nfields = 1;
  r.f[0] = rpm;
  r.block = b;
  Collect out;
  env->process(r, out);
  ASSERT_EQ(out.records.size(), 1u);
  const Record& o = out.records[0];
  ASSERT_EQ(o.nfields, 5);
  EXPECT_EQ(o.f[0], rpm);
  EXPECT_EQ(o.block.get(), b.get());
  EXPECT_GT(o.f[1], 50.0);
  // The others get shares through coinciding harmonics (3·BSF is within 2% of 2·BPFO), but
  // BPFO leads.
  for (int k = 2; k <= 4; ++k) EXPECT_LT(o.f[k] * 2, o.f[1]) << k;
  // No speed in the record: dropped and counted.
  r.f[0] = 0;
  env->process(r, out);
  EXPECT_EQ(out.records.size(), 1u);
  EXPECT_EQ(dropped(m, "envelope", "no_speed"), 1.0);
  // A rate whose Nyquist is below the band: counted as a bad block.
  auto slow = std::make_shared<SampleBlock>(*b);
  slow->sample_rate_hz = 6000;
  r.f[0] = rpm;
  r.block = slow;
  env->process(r, out);
  EXPECT_EQ(dropped(m, "envelope", "bad_block"), 1.0);
}

TEST(Envelope, StageWithAFixedSpeedAndTotalNormalization) {
  auto env = build("envelope", options_node({{"band", Strs{"2000", "4000"}},
                                             {"n_balls", "9"},
                                             {"ball_diameter", "0.3126"},
                                             {"pitch_diameter", "1.537"},
                                             {"shaft_hz", "29.95"},
                                             {"normalize", "total"}}),
                   kNone);
  ASSERT_TRUE(env);
  const dsp::DefectFrequencies d = dsp::defect_frequencies(dsp::BearingGeometry{9, 0.3126, 1.537, 0}, 29.95);
  dsp::BearingSignal s;
  s.defect_hz = d.bpfi;
  auto b = std::make_shared<SampleBlock>();
  b->sample_rate_hz = s.sample_rate_hz;
  b->samples.resize(16384);
  dsp::bearing_samples(s, 0, b->samples.size(), b->samples.data());
  Record r;
  r.block = b;
  Collect out;
  env->process(r, out);
  ASSERT_EQ(out.records.size(), 1u);
  const Record& o = out.records[0];
  ASSERT_EQ(o.nfields, 4);
  // Shares of the total: in (0, 1), and the inner race's the largest.
  EXPECT_GT(o.f[1], 0.0);
  EXPECT_LT(o.f[1], 1.0);
  EXPECT_GT(o.f[1], 5 * o.f[0]);
  EXPECT_GT(o.f[1], 5 * o.f[2]);
}

TEST(Envelope, StageRejectsBadOptions) {
  auto base = [](std::initializer_list<std::pair<std::string, testing::OptValue>> extra) {
    std::vector<std::pair<std::string, testing::OptValue>> kv = {
        {"n_balls", std::string("9")}, {"ball_diameter", std::string("0.3126")}, {"pitch_diameter", std::string("1.537")}};
    ConfigNode m = options_node({});
    for (const auto& [k, v] : kv) m.set(k, ConfigNode::scalar(std::get<std::string>(v), testing::test_mark()));
    for (const auto& [k, v] : extra) {
      if (const auto* s = std::get_if<std::string>(&v)) {
        m.set(k, ConfigNode::scalar(*s, testing::test_mark()));
      } else {
        ConfigNode seq = ConfigNode::sequence(testing::test_mark());
        for (const auto& item : std::get<Strs>(v)) seq.push(ConfigNode::scalar(item, testing::test_mark()));
        m.set(k, std::move(seq));
      }
    }
    return m;
  };
  EXPECT_TRUE(make("envelope", base({{"band", Strs{"2000", "4000"}}, {"shaft_hz", "30"}}), kNone).ok());
  // Neither or both speeds.
  EXPECT_FALSE(make("envelope", base({{"band", Strs{"2000", "4000"}}}), kNone).ok());
  EXPECT_FALSE(make("envelope", base({{"band", Strs{"2000", "4000"}}, {"shaft_hz", "30"}, {"shaft_field", "rpm"}}),
                    Schema({"rpm"}))
                   .ok());
  EXPECT_FALSE(make("envelope", base({{"band", Strs{"2000", "4000"}}, {"shaft_field", "speed"}}), Schema({"rpm"})).ok());
  EXPECT_FALSE(make("envelope", base({{"band", Strs{"4000", "2000"}}, {"shaft_hz", "30"}}), kNone).ok());
  EXPECT_FALSE(make("envelope", base({{"band", Strs{"4000"}}, {"shaft_hz", "30"}}), kNone).ok());
  auto geometry = make("envelope", base({{"band", Strs{"2000", "4000"}}, {"shaft_hz", "30"}, {"pitch_diameter", "0.2"}}),
                       kNone);
  ASSERT_FALSE(geometry.ok());
  EXPECT_NE(geometry.error().message.find("smaller than pitch_diameter"), std::string::npos);
}

}  // namespace
}  // namespace edgeloop
