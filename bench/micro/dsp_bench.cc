// Vibration DSP benchmarks, two programs in one:
//
//   dsp_bench v1 [--channels 64] [--seconds 60] [--cpu N|-1] [--seed 0] [--out FILE]
//     edgeloop's V1 run (../shared/bench/WORKLOADS.md, V1): the V1 signal generated exactly as
//     ../shared/bench/v1/README.md defines it, the 13 features of every window (4096, hop 2048)
//     of every channel computed with op.features' code on one pinned core, only that timed (CPU
//     time of the process); prints one JSON line, and with --out writes the first 3 windows of
//     channel 0 in reference.json's format (for compare.py). bench/system/v1.sh runs it.
//
//   dsp_bench [--benchmark_filter=...]
//     Google Benchmark cases: the FFT candidates (edgeloop's own real FFT; KissFFT and OpenCV's
//     DFT when the build found them), the V1 feature vector, envelope analysis, op.samples.
#include <benchmark/benchmark.h>
#include <sched.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <numbers>
#include <string>
#include <vector>

#include "core/plugin.h"
#include "operators/dsp/envelope.h"
#include "operators/dsp/features.h"
#include "operators/dsp/features_stage.h"
#include "operators/dsp/fft.h"
#include "operators/dsp/samples_stage.h"
#include "operators/dsp/synthetic.h"
#include "operators/dsp/window_function.h"

#ifdef EDGELOOP_BENCH_HAS_KISSFFT
#include <kiss_fftr.h>
#endif
#ifdef EDGELOOP_BENCH_HAS_OPENCV
#include <opencv2/core.hpp>
#endif

namespace edgeloop::dsp {
namespace {

// ---------------------------------------------------------------------------------------------
// dsp_bench v1

constexpr std::size_t kWin = 4096, kHop = 2048;

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double wall_seconds() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

int pin(int cpu) {
  cpu_set_t set;
  if (cpu == -2) {  // default: the first allowed core, as the peer does
    cpu = -1;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) {
          cpu = c;
          break;
        }
      }
    }
  }
  if (cpu < 0) return -1;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    std::perror("sched_setaffinity");
    std::exit(2);
  }
  return cpu;
}

int run_v1(int argc, char** argv) {
  int channels = 64, cpu = -2;
  double seconds = 60;
  uint64_t seed = 0;
  const char* out_path = nullptr;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--channels" && v) channels = std::atoi(argv[++i]);
    else if (a == "--seconds" && v) seconds = std::atof(argv[++i]);
    else if (a == "--cpu" && v) cpu = std::atoi(argv[++i]);
    else if (a == "--seed" && v) seed = std::strtoull(argv[++i], nullptr, 0);
    else if (a == "--out" && v) out_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: dsp_bench v1 [--channels N] [--seconds S] [--cpu N|-1] [--seed N] [--out FILE]\n");
      return 2;
    }
  }
  if (channels < 1 || !(seconds > 0)) {
    std::fprintf(stderr, "dsp_bench v1: channels and seconds must be positive\n");
    return 2;
  }
  cpu = pin(cpu);
  const auto n = static_cast<std::size_t>(std::llround(seconds * kV1SampleRate));
  if (n < kWin) {
    std::fprintf(stderr, "dsp_bench v1: under one window of signal\n");
    return 2;
  }
  auto fx = FeatureExtractor::create(FeatureConfig{}, kWin);  // the V1 set: op.features' default
  if (!fx.ok()) {
    std::fprintf(stderr, "dsp_bench v1: %s\n", fx.error().message.c_str());
    return 2;
  }
  AlignedFloats x(n);
  std::vector<double> f((*fx)->count());
  std::vector<std::vector<double>> first;
  double cpu_s = 0, wall_s = 0, checksum = 0;
  uint64_t windows = 0;
  for (int c = 0; c < channels; ++c) {
    v1_samples(c, 0, n, x.data(), seed);  // not timed
    const double c0 = cpu_seconds(), w0 = wall_seconds();
    for (std::size_t s = 0; s + kWin <= n; s += kHop) {
      (*fx)->compute(x.data() + s, kV1SampleRate, f.data());
      checksum += f[0];  // keeps the work observable
      ++windows;
      if (c == 0 && first.size() < 3) first.push_back(f);
    }
    cpu_s += cpu_seconds() - c0;
    wall_s += wall_seconds() - w0;
  }
  if (out_path) {
    FILE* o = std::fopen(out_path, "w");
    if (!o) {
      std::perror(out_path);
      return 2;
    }
    static const char* kNames[] = {"rms", "peak", "crest", "kurtosis", "skewness", "band0", "band1",
                                   "band2", "band3", "band4", "band5", "band6", "band7"};
    std::fprintf(o, "{\"signal\": {\"channel\": 0, \"seed\": %llu, \"fs\": 25600, \"window\": 4096, \"hop\": 2048},\n",
                 static_cast<unsigned long long>(seed));
    std::fprintf(o, " \"windows\": [\n");
    for (std::size_t w = 0; w < first.size(); ++w) {
      std::fprintf(o, "  {");
      for (std::size_t k = 0; k < 13; ++k) std::fprintf(o, "%s\"%s\": %.17g", k ? ", " : "", kNames[k], first[w][k]);
      std::fprintf(o, "}%s\n", w + 1 < first.size() ? "," : "");
    }
    std::fprintf(o, " ]\n}\n");
    std::fclose(o);
  }
  const double samples = static_cast<double>(n) * channels;
  std::printf(
      "{\"system\":\"edgeloop\",\"fft\":\"edgeloop four-step real FFT (float32)\",\"channels\":%d,"
      "\"seconds_of_signal\":%g,\"windows\":%llu,\"pinned_cpu\":%d,\"cpu_s\":%.3f,\"wall_s\":%.3f,"
      "\"samples_per_s_per_core\":%.0f,\"realtime_channels_per_core\":%.1f,\"us_per_window\":%.3f,\"checksum\":%.6g}\n",
      channels, seconds, static_cast<unsigned long long>(windows), cpu, cpu_s, wall_s, samples / cpu_s,
      samples / cpu_s / kV1SampleRate, cpu_s / static_cast<double>(windows) * 1e6, checksum);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Google Benchmark cases

std::vector<float> v1_window(std::size_t n) {
  std::vector<float> x(n);
  v1_samples(0, 0, n, x.data());
  return x;
}

// Window, FFT and power spectrum of one window: what the V1 band energies need.
void BM_EdgeloopPowerSpectrum(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto fft = RealFft::create(n);
  const AlignedFloats w = make_window(WindowKind::kHann, n);
  const std::vector<float> x = v1_window(n);
  std::vector<float> p(n / 2 + 1);
  for (auto _ : state) {
    (*fft)->power(x.data(), w.data(), p.data());
    benchmark::DoNotOptimize(p.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EdgeloopPowerSpectrum)->Arg(1024)->Arg(4096)->Arg(16384);

// The bare r2c transform (no window, complex output), comparable with the libraries below.
void BM_EdgeloopRealFft(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto fft = RealFft::create(n);
  const std::vector<float> x = v1_window(n);
  std::vector<float> re(n / 2 + 1), im(n / 2 + 1);
  for (auto _ : state) {
    (*fft)->forward(x.data(), nullptr, re.data(), im.data());
    benchmark::DoNotOptimize(re.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EdgeloopRealFft)->Arg(4096);

#ifdef EDGELOOP_BENCH_HAS_KISSFFT
void BM_KissFftReal(benchmark::State& state) {
  const auto n = static_cast<int>(state.range(0));
  kiss_fftr_cfg cfg = kiss_fftr_alloc(n, 0, nullptr, nullptr);
  const std::vector<float> x = v1_window(static_cast<std::size_t>(n));
  std::vector<kiss_fft_cpx> out(static_cast<std::size_t>(n / 2 + 1));
  for (auto _ : state) {
    kiss_fftr(cfg, x.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  kiss_fftr_free(cfg);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KissFftReal)->Arg(4096);
#endif

#ifdef EDGELOOP_BENCH_HAS_OPENCV
void BM_OpenCvDftReal(benchmark::State& state) {
  const auto n = static_cast<int>(state.range(0));
  std::vector<float> x = v1_window(static_cast<std::size_t>(n));
  cv::Mat in(1, n, CV_32F, x.data()), out;
  cv::dft(in, out);  // CCS-packed real output; the first call plans
  for (auto _ : state) {
    cv::dft(in, out);
    benchmark::DoNotOptimize(out.data);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpenCvDftReal)->Arg(4096);
#endif

void BM_V1Features(benchmark::State& state) {
  auto fx = FeatureExtractor::create(FeatureConfig{}, kWin);
  const std::vector<float> x = v1_window(kWin);
  std::vector<double> f((*fx)->count());
  for (auto _ : state) {
    (*fx)->compute(x.data(), kV1SampleRate, f.data());
    benchmark::DoNotOptimize(f.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["samples_per_s_at_hop"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kHop, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_V1Features);

void BM_Moments(benchmark::State& state) {
  const std::vector<float> x = v1_window(kWin);
  for (auto _ : state) {
    Moments m = compute_moments(x.data(), x.size());
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_Moments);

void BM_EnvelopeAnalysis(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  BearingSignal s;
  std::vector<float> x(n);
  bearing_samples(s, 0, n, x.data());
  auto a = EnvelopeAnalyzer::create(n, s.sample_rate_hz, 2000, 4000);
  for (auto _ : state) {
    benchmark::DoNotOptimize(a.value()->analyze(x.data()));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnvelopeAnalysis)->Arg(8192)->Arg(16384);

class NullEmitter final : public Emitter {
 public:
  void forward(const Record& r) override { benchmark::DoNotOptimize(r.block.get()); }
  void emit(Event&&) override {}
};

// op.samples: 1000-sample blocks into 4096-sample windows at hop 2048 (two copies per sample).
void BM_SamplesStage(benchmark::State& state) {
  SamplesConfig c;
  c.size = kWin;
  c.hop = kHop;
  Schema none;
  StageContext ctx;
  SamplesStage stage(c, none, ctx);
  NullEmitter out;
  Record r;
  auto b = std::make_shared<SampleBlock>();
  b->sample_rate_hz = kV1SampleRate;
  b->samples.assign(1000, 0.5f);
  r.block = b;
  for (auto _ : state) {
    stage.process(r, out);
    r.ts_ns += 39'062'500;
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_SamplesStage);

// op.samples -> op.features on the V1 signal, as a pipeline runs them: 2048-sample blocks in,
// one 13-feature record out per block (4096-sample windows at hop 2048). Items: samples.
class Chain final : public Emitter {
 public:
  explicit Chain(Stage& next) : next_(next) {}
  void forward(const Record& r) override { next_.process(r, sink_); }
  void emit(Event&&) override {}

 private:
  Stage& next_;
  NullEmitter sink_;
};

void BM_SamplesToFeaturesV1(benchmark::State& state) {
  SamplesConfig c;
  c.size = kWin;
  c.hop = kHop;
  Schema none;
  StageContext ctx;
  ctx.input = &none;
  SamplesStage samples(c, none, ctx);
  auto names = FeatureExtractor::output_names(FeatureConfig{});
  FeaturesStage features(FeatureConfig{}, Schema(*names), 0, ctx);
  Chain chain(features);
  // 64 blocks of V1 channel 0, cycled (the content does not change the cost).
  std::vector<Record> blocks(64);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    auto b = std::make_shared<SampleBlock>();
    b->sample_rate_hz = kV1SampleRate;
    b->samples.resize(kHop);
    v1_samples(0, i * kHop, kHop, b->samples.data());
    blocks[i].block = std::move(b);
  }
  std::size_t i = 0;
  int64_t ts = 0;
  for (auto _ : state) {
    Record& r = blocks[i];
    r.ts_ns = ts;
    samples.process(r, chain);
    ts += 80'000'000;
    i = i + 1 == blocks.size() ? 0 : i + 1;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kHop));
}
BENCHMARK(BM_SamplesToFeaturesV1);

}  // namespace
}  // namespace edgeloop::dsp

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "v1") == 0) return edgeloop::dsp::run_v1(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
