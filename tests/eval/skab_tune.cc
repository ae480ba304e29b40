// Development tool (not a test): runs the multivariate detector directly over a SKAB folder
// with parameters from the command line (name=value ...) and prints F1/FAR/MAR for a few
// thresholds and the best one. Used to choose examples/skab.yaml.
#include <cmath>
#include <cstdio>
#include <string>

#include "eval/skab.h"
#include "models/multivariate_detector.h"

using namespace edgeloop;

int main(int argc, char** argv) {
  std::string dir = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data/skab";
  models::MultivariateConfig c;
  int warmup = 400;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const auto eq = a.find('=');
    if (eq == std::string::npos) { dir = a; continue; }
    const std::string k = a.substr(0, eq);
    const double v = std::stod(a.substr(eq + 1));
    if (k == "shrink") c.shrink = v;
    else if (k == "smooth") c.smooth = v;
    else if (k == "adapt") c.adapt = v;
    else if (k == "adapt_below") c.adapt_below = v;
    else if (k == "half") c.half = v;
    else if (k == "online") c.calibrate_online = v != 0;
    else if (k == "warmup") warmup = static_cast<int>(v);
    else { std::fprintf(stderr, "unknown %s\n", k.c_str()); return 2; }
  }
  auto files = eval::load_skab_folder(dir);
  if (!files.ok()) { std::fprintf(stderr, "%s\n", files.error().message.c_str()); return 1; }
  std::vector<std::vector<double>> scores;
  for (const auto& f : *files) {
    models::MultivariateDetector d(c, static_cast<int>(f.columns.size()));
    std::vector<double> s;
    for (std::size_t i = 0; i < f.rows.size(); ++i) s.push_back(d.update(f.rows[i].data(), f.ts_ns[i], static_cast<int>(i) < warmup));
    scores.push_back(std::move(s));
  }
  double best_f1 = -1, best_t = 0;
  for (double t = 0.05; t < 1.0; t += 0.01) {
    eval::SkabCounts total;
    for (std::size_t k = 0; k < files->size(); ++k) {
      std::vector<uint8_t> pred(scores[k].size());
      for (std::size_t i = 0; i < pred.size(); ++i) pred[i] = scores[k][i] >= t;
      total.add(eval::skab_count(pred, (*files)[k].anomaly));
    }
    const auto m = eval::skab_metrics(total);
    if (m.f1 > best_f1) { best_f1 = m.f1; best_t = t; }
    if (static_cast<int>(std::lround(t * 100)) % 10 == 0 || (t > 0.55 && t < 0.85 && static_cast<int>(std::lround(t * 100)) % 2 == 0)) std::printf("t %.2f f1 %.3f far %.1f mar %.1f\n", t, m.f1, m.far, m.mar);
  }
  std::printf("best t %.2f f1 %.3f\n", best_t, best_f1);
  return 0;
}
