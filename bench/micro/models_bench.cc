// Model runtimes: one run() of the tiny test models (tests/models/data) per backend, single
// sample and batched, one thread; and op.model.onnx's per-record cost around run().
// Usage: build-*/bench/micro/models_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/registry.h"
#include "models/infer/tensor_model.h"
#include "models/infer/threads.h"
#include "models/serving/model_stage.h"

namespace edgeloop::models {
namespace {

std::string data(const std::string& name) {
  if (name.rfind("models/", 0) == 0) return std::string(EDGELOOP_SOURCE_DIR) + "/" + name;  // committed example models
  return std::string(EDGELOOP_SOURCE_DIR) + "/tests/models/data/" + name;
}

void run_model(benchmark::State& state, const std::string& file, const std::string& backend) {
  LoadOptions o;
  o.backend = backend;
  auto m = load_tensor_model(data(file), o);
  if (!m.ok()) {
    state.SkipWithError(m.error().message.c_str());
    return;
  }
  const int batch = static_cast<int>(state.range(0));
  int64_t per = 1;
  for (std::size_t i = 1; i < (*m)->inputs()[0].shape.size(); ++i) per *= (*m)->inputs()[0].shape[i];
  std::vector<float> in(static_cast<std::size_t>(per * batch));
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(std::sin(0.1 * static_cast<double>(i)));
  std::vector<std::vector<float>> out;
  for (auto _ : state) {
    auto st = (*m)->run(in, batch, out);
    benchmark::DoNotOptimize(out.data());
    if (!st.ok()) state.SkipWithError(st.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_MlpOpenCv(benchmark::State& s) { run_model(s, "mlp.onnx", "opencv-dnn"); }
void BM_MlpOneDnn(benchmark::State& s) { run_model(s, "mlp.onnx", "onednn"); }
void BM_Cnn1dOpenCv(benchmark::State& s) { run_model(s, "cnn1d.onnx", "opencv-dnn"); }
void BM_Cnn1dOneDnn(benchmark::State& s) { run_model(s, "cnn1d.onnx", "onednn"); }
void BM_GruAuto(benchmark::State& s) { run_model(s, "gru.onnx", "auto"); }
void BM_XgbRegressor(benchmark::State& s) { run_model(s, "xgb_reg.json", "auto"); }
void BM_XgbClassifier(benchmark::State& s) { run_model(s, "xgb_clf.json", "auto"); }
void BM_XgbCmapss(benchmark::State& s) { run_model(s, "models/cmapss_fd001_xgb.json", "auto"); }

// The same XGBoost models through libxgboost's in-place predict (what the native trees replace).
void capi_predict(benchmark::State& state, const std::string& file) {
  BoosterHandle h = nullptr;
  XGBoosterCreate(nullptr, 0, &h);
  if (XGBoosterLoadModel(h, data(file).c_str()) != 0) {
    state.SkipWithError(XGBGetLastError());
    XGBoosterFree(h);
    return;
  }
  XGBoosterSetParam(h, "nthread", "1");
  bst_ulong nf = 0;
  XGBoosterGetNumFeature(h, &nf);
  std::vector<float> x(nf);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.1 * static_cast<double>(i)));
  char array[256];
  std::snprintf(array, sizeof(array), "{\"data\": [%llu, true], \"shape\": [1, %llu], \"typestr\": \"<f4\", \"version\": 3}",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(x.data())), static_cast<unsigned long long>(nf));
  const char* config = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
                       "\"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}";
  for (auto _ : state) {
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    XGBoosterPredictFromDense(h, array, config, nullptr, &shape, &dim, &result);
    benchmark::DoNotOptimize(result);
  }
  XGBoosterFree(h);
}
void BM_XgbCapiRegressor(benchmark::State& s) { capi_predict(s, "xgb_reg.json"); }
void BM_XgbCapiCmapss(benchmark::State& s) { capi_predict(s, "models/cmapss_fd001_xgb.json"); }
BENCHMARK(BM_XgbCmapss)->Arg(1)->Arg(32);
BENCHMARK(BM_XgbCapiRegressor);
BENCHMARK(BM_XgbCapiCmapss);

BENCHMARK(BM_MlpOpenCv)->Arg(1)->Arg(32);
BENCHMARK(BM_MlpOneDnn)->Arg(1)->Arg(32);
BENCHMARK(BM_Cnn1dOpenCv)->Arg(1)->Arg(32);
BENCHMARK(BM_Cnn1dOneDnn)->Arg(1)->Arg(32);
BENCHMARK(BM_GruAuto)->Arg(1)->Arg(32);
BENCHMARK(BM_XgbRegressor)->Arg(1)->Arg(32);
BENCHMARK(BM_XgbClassifier)->Arg(1)->Arg(32);

class Sink final : public Emitter {
 public:
  void forward(const Record&) override { ++records; }
  void emit(Event&& e) override { last = e.f[0]; }
  uint64_t records = 0;
  double last = 0;
};

// op.model.onnx on the MLP: a record in, an event out (gather, run, emit), per batch size.
void BM_StageMlp(benchmark::State& state) {
  Registry reg;
  register_model_stages(reg);
  const Mark mark{std::make_shared<std::string>("bench.yaml"), 1, 1};
  ConfigNode n = ConfigNode::map(mark);
  n.set("path", ConfigNode::scalar(data("mlp.onnx"), mark));
  n.set("name", ConfigNode::scalar("bench_mlp_" + std::to_string(state.range(0)), mark));
  n.set("batch", ConfigNode::scalar(std::to_string(state.range(0)), mark));
  const Schema input({"a", "b", "c", "d"});
  static const std::string pipeline = "bench";
  StageContext ctx;
  ctx.pipeline = pipeline;
  ctx.pipeline_name = &pipeline;
  ctx.name = "model.onnx";
  ctx.input = &input;
  auto stage = reg.make_stage("model.onnx", n, "pipelines.bench.steps[0]", ctx);
  if (!stage.ok()) {
    state.SkipWithError(stage.error().message.c_str());
    return;
  }
  Record r;
  r.nfields = 4;
  r.f[0] = 0.5;
  r.f[1] = -1;
  r.f[2] = 2;
  r.f[3] = 0.25;
  Sink sink;
  for (auto _ : state) {
    r.slot = static_cast<uint32_t>(sink.records & 63);
    (*stage)->process(r, sink);
  }
  benchmark::DoNotOptimize(sink.last);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StageMlp)->Arg(1)->Arg(16);

}  // namespace
}  // namespace edgeloop::models

int main(int argc, char** argv) {
  edgeloop::models::set_inference_threads(1);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
