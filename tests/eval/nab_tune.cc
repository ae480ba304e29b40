// Development tool (not a test): runs the univariate detector directly over a NAB folder with
// parameters from the command line (name=value ...) and prints the three NAB scores, and with
// -v the per-file outcome at the standard threshold. Used to choose examples/nab.yaml.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "eval/nab_corpus.h"
#include "eval/nab_scorer.h"
#include "eval/text_io.h"
#include "models/univariate_detector.h"

using namespace edgeloop;

namespace {
bool set_param(models::UnivariateConfig& c, int& warmup, const std::string& k, double v) {
  const auto i = static_cast<int>(v);
  if (k == "warmup") warmup = i;
  else if (k == "history") c.history = i;
  else if (k == "refit_every") c.refit_every = i;
  else if (k == "tail") c.tail = v;
  else if (k == "w_level") c.w_level = v;
  else if (k == "w_step") c.w_step = v;
  else if (k == "w_mean") c.w_mean = v;
  else if (k == "w_season") c.w_season = v;
  else if (k == "w_sequence") c.w_sequence = v;
  else if (k == "w_sequence_mean") c.w_sequence_mean = v;
  else if (k == "mean_len") c.mean_len = i;
  else if (k == "w_activity") c.w_activity = v;
  else if (k == "peak_half_life") c.peak_half_life = v;
  else if (k == "sequence_mean_len") c.sequence_mean_len = i;
  else if (k == "levels") c.levels = i;
  else if (k == "order") c.order = i;
  else if (k == "season_s") c.season_ns = static_cast<int64_t>(v * 1e9);
  else if (k == "half") c.half = v;
  else if (k == "suppress") c.suppress = i;
  else if (k == "suppress_above") c.suppress_above = v;
  else if (k == "suppress_factor") c.suppress_factor = v;
  else return false;
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data/nab";
  models::UnivariateConfig p;
  int warmup = 200;
  bool verbose = false;
  bool htm = false;
  std::string dump;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-v") { verbose = true; continue; }
    if (a == "--htm") { htm = true; continue; }
    if (a.rfind("dump=", 0) == 0) { dump = a.substr(5); continue; }
    if (a.rfind("only=", 0) == 0) { only = a.substr(5); continue; }
    const auto eq = a.find('=');
    if (eq == std::string::npos) { dir = a; continue; }
    if (!set_param(p, warmup, a.substr(0, eq), std::stod(a.substr(eq + 1)))) {
      std::fprintf(stderr, "unknown parameter %s\n", a.c_str());
      return 2;
    }
  }
  auto corpus = eval::load_nab_corpus(dir);
  if (corpus.ok() && !only.empty()) {  // "odd" / "even": every other file (a robustness split)
    std::vector<eval::NabFile> keep;
    for (std::size_t i = 0; i < corpus->files.size(); ++i)
      if ((only == "odd") == (i % 2 == 1)) keep.push_back(std::move(corpus->files[i]));
    corpus->files = std::move(keep);
  }
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
    const bool dumping = !dump.empty() && f.name.find(dump) != std::string::npos;
    FILE* parts = dumping ? std::fopen("/tmp/viz/parts.txt", "w") : nullptr;
    for (std::size_t i = 0; i < f.values.size(); ++i) {
      s.push_back(d.update(f.values[i], f.ts_ns[i], static_cast<int>(i) < warmup));
      if (parts) {
        std::fprintf(parts, "%zu %.4g %.3f |", i, f.values[i], s.back());
        for (double part : d.parts()) std::fprintf(parts, " %.2f", part);
        std::fprintf(parts, "\n");
      }
    }
    if (parts) std::fclose(parts);
    if (!dump.empty() && f.name.find(dump) != std::string::npos) {
      FILE* o = std::fopen("/tmp/viz/scores.txt", "w");
      for (double v : s) std::fprintf(o, "%.6f\n", v);
      std::fclose(o);
    }
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
    // Missed windows: their best score; false positives: the highest ones outside windows.
    struct Fp { double score; std::string file; std::size_t row; double cost; };
    std::vector<Fp> fps;
    for (std::size_t f = 0; f < corpus->files.size(); ++f) {
      const auto& sw = sweeps[f];
      for (std::size_t w = 0; w < corpus->files[f].windows.size(); ++w) {
        const auto& win = corpus->files[f].windows[w];
        double best = 0; std::size_t at = 0;
        for (std::size_t i = win.first; i <= win.last; ++i) if (scores[f][i] > best) { best = scores[f][i]; at = i; }
        if (best < std_result.threshold) std::printf("MISS %-55s w%zu best %.3f at %.2f\n", corpus->files[f].name.c_str(), w, best, static_cast<double>(at - win.first) / static_cast<double>(win.last - win.first + 1));
      }
      for (std::size_t i = sw.probation; i < sw.rows; ++i)
        if (sw.window[i] < 0 && scores[f][i] >= std_result.threshold - 0.05) fps.push_back({scores[f][i], corpus->files[f].name, i, sw.value[i]});
    }
    std::sort(fps.begin(), fps.end(), [](const Fp& a, const Fp& b) { return a.score > b.score; });
    for (const auto& fp : fps) std::printf("FP %.3f %-55s row %zu cost %.2f\n", fp.score, fp.file.c_str(), fp.row, fp.cost);
  }
  std::printf("standard %.2f lowFP %.2f lowFN %.2f\n", out[0], out[1], out[2]);
  return 0;
}
