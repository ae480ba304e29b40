// Development tool (not a test): runs the univariate detector directly over a NAB folder with
// parameters from the command line (name=value ...) and prints the three NAB scores, and with
// -v the per-file outcome at the standard threshold. Used to choose examples/nab.yaml.
#include <cstdio>
#include <cstring>
#include <string>

#include "eval/nab_corpus.h"
#include "eval/nab_scorer.h"
#include "eval/text_io.h"
#include "models/univariate_detector.h"

using namespace edgeloop;

int main(int argc, char** argv) {
  std::string dir = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data/nab";
  models::UnivariateParams p;
  bool verbose = false;
  bool htm = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-v") { verbose = true; continue; }
    if (a == "--htm") { htm = true; continue; }
    const auto eq = a.find('=');
    if (eq == std::string::npos) { dir = a; continue; }
    if (!models::set_univariate_param(p, a.substr(0, eq), std::stod(a.substr(eq + 1)))) {
      std::fprintf(stderr, "unknown parameter %s\n", a.c_str());
      return 2;
    }
  }
  auto corpus = eval::load_nab_corpus(dir);
  if (!corpus.ok()) { std::fprintf(stderr, "%s\n", corpus.error().message.c_str()); return 1; }
  std::vector<eval::NabSweep> sweeps;
  std::vector<std::vector<double>> scores;
  for (const auto& f : corpus->files) {
    sweeps.push_back(eval::nab_sweep(f.values.size(), f.windows));
    std::vector<double> s;
    if (htm) {
      const auto slash = f.name.find('/');
      auto text = eval::read_file(dir + "/published_results/numenta/" + f.name.substr(0, slash) + "/numenta_" + f.name.substr(slash + 1));
      std::vector<std::string_view> cols;
      const auto ls = eval::lines(*text);
      for (std::size_t i = 1; i < ls.size(); ++i) { eval::split(ls[i], ',', cols); s.push_back(*eval::to_number(cols[2])); }
      scores.push_back(std::move(s));
      continue;
    }
    models::UnivariateDetector d(p);
    s.reserve(f.values.size());
    for (std::size_t i = 0; i < f.values.size(); ++i) s.push_back(d.update(f.values[i], f.ts_ns[i]));
    scores.push_back(std::move(s));
  }
  double out[3];
  eval::NabProfileResult std_result;
  for (int k = 0; k < 3; ++k) {
    auto r = eval::nab_score_corpus(sweeps, scores, eval::nab_profiles()[static_cast<std::size_t>(k)]);
    out[k] = r.score;
    if (k == 0) std_result = r;
  }
  if (verbose) {
    for (std::size_t f = 0; f < corpus->files.size(); ++f) {
      const auto& fs = std_result.files[f];
      std::printf("%-58s raw %6.2f win %zu/%zu fp %zu  first:", corpus->files[f].name.c_str(), fs.raw, fs.windows_detected,
                  fs.windows, fs.counts.fp);
      for (std::size_t w = 0; w < fs.first_detection.size(); ++w) {
        const auto& win = corpus->files[f].windows[w];
        if (fs.first_detection[w] == SIZE_MAX) std::printf(" miss");
        else std::printf(" %.2f", static_cast<double>(fs.first_detection[w] - win.first) / static_cast<double>(win.last - win.first + 1));
      }
      std::printf("\n");
    }
    std::printf("threshold %.6f\n", std_result.threshold);
  }
  std::printf("standard %.2f lowFP %.2f lowFN %.2f\n", out[0], out[1], out[2]);
  return 0;
}
