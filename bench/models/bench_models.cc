// bench_models: times one model on one edgeloop backend for bench/models/compare.js, which runs
// onnxruntime-node on the same input file and compares. Not a Google Benchmark: the reference
// runs in another process (node), so both sides use the same simple protocol: warm up, then
// 7 rounds of at least min_ms/7 each; the median and the best of the per-run round times (the
// best is what compare.js uses: on a shared machine it is the round least disturbed).
//
//   bench_models --model F.onnx --batch N [--backend auto|opencv-dnn|onednn] [--seed S]
//                [--input IN.bin | --write-input IN.bin] [--output OUT.bin] [--min-ms 700]
// Prints one JSON line: model, backend, batch, us (median per run), us_min, input_shape, outputs.
// Files are raw little-endian float32; OUT.bin holds every output, in order.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/infer/tensor_model.h"

namespace {

struct Args {
  std::string model, backend = "auto", input, write_input, output;
  int batch = 1;
  unsigned seed = 6;
  double min_ms = 700;
};

bool parse(int argc, char** argv, Args& a) {
  for (int k = 1; k + 1 < argc; k += 2) {
    const std::string key = argv[k], val = argv[k + 1];
    if (key == "--model") a.model = val;
    else if (key == "--backend") a.backend = val;
    else if (key == "--input") a.input = val;
    else if (key == "--write-input") a.write_input = val;
    else if (key == "--output") a.output = val;
    else if (key == "--batch") a.batch = std::stoi(val);
    else if (key == "--seed") a.seed = static_cast<unsigned>(std::stoul(val));
    else if (key == "--min-ms") a.min_ms = std::stod(val);
    else return false;
  }
  return !a.model.empty() && a.batch >= 1;
}

int fail(const std::string& what) {
  std::cout << nlohmann::json{{"error", what}}.dump() << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  try {
    if (!parse(argc, argv, a)) {
      std::cerr << "usage: bench_models --model F --batch N [--backend B] [--input F | --write-input F] [--output F]\n";
      return 2;
    }
  } catch (const std::exception&) {
    return fail("bad numeric argument");
  }
  edgeloop::models::LoadOptions options;
  options.backend = a.backend;
  auto loaded = edgeloop::models::load_tensor_model(a.model, options);
  if (!loaded.ok()) return fail(loaded.error().message);
  auto& model = **loaded;
  std::vector<int64_t> shape = model.inputs().at(0).shape;
  shape[0] = a.batch;
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(std::max<int64_t>(d, 1));

  std::vector<float> input(n);
  if (!a.input.empty()) {
    std::ifstream in(a.input, std::ios::binary);
    if (!in.read(reinterpret_cast<char*>(input.data()), static_cast<std::streamsize>(n * sizeof(float))))
      return fail("cannot read " + std::to_string(n) + " floats from " + a.input);
  } else {
    std::mt19937 rng(a.seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& v : input) v = normal(rng);
    if (!a.write_input.empty())
      std::ofstream(a.write_input, std::ios::binary).write(reinterpret_cast<const char*>(input.data()),
                                                           static_cast<std::streamsize>(n * sizeof(float)));
  }

  std::vector<std::vector<float>> out;
  using clock = std::chrono::steady_clock;
  const auto warm_end = clock::now() + std::chrono::milliseconds(100);
  int warm = 0;
  do {
    if (auto s = model.run(input, a.batch, out); !s.ok()) return fail(s.error().message);
  } while (++warm < 3 || clock::now() < warm_end);
  std::vector<double> rounds;
  const auto round_budget = std::chrono::duration<double, std::milli>(a.min_ms / 7);
  for (int r = 0; r < 7; ++r) {
    int iters = 0;
    const auto start = clock::now();
    auto now = start;
    do {
      (void)model.run(input, a.batch, out);
      ++iters;
      now = clock::now();
    } while (now - start < round_budget);
    rounds.push_back(std::chrono::duration<double, std::micro>(now - start).count() / iters);
  }
  std::sort(rounds.begin(), rounds.end());

  if (!a.output.empty()) {
    std::ofstream o(a.output, std::ios::binary);
    for (const auto& v : out) o.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  }
  nlohmann::json outputs = nlohmann::json::array();
  for (size_t k = 0; k < model.outputs().size(); ++k)
    outputs.push_back({{"name", model.outputs()[k].name}, {"values", k < out.size() ? out[k].size() : 0}});
  std::cout << nlohmann::json{{"model", a.model}, {"backend", model.backend()}, {"batch", a.batch}, {"us", rounds[3]}, {"us_min", rounds[0]},
                              {"input_name", model.inputs()[0].name}, {"input_shape", shape}, {"outputs", outputs}}
                   .dump()
            << std::endl;
  return 0;
}
