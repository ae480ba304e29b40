// Development tool (not a test): runs the multivariate detector directly over a SKAB folder
// with parameters from the command line (name=value ...) and prints F1/FAR/MAR for a few
// thresholds and the best one. Used to choose examples/skab.yaml.
#include <algorithm>
#include <cmath>
#include <random>
#include <cstdio>
#include <string>

#include "eval/skab.h"
#include "models/multivariate_detector.h"
#include "models/tail_model.h"

using namespace edgeloop;

namespace {

// Half-Space Trees (Tan, Ting and Liu 2011), only for the comparison that chose the
// multivariate method: mass of the warm-up in random half-space partitions; the score is the
// calibrated shortage of mass where a vector falls. Inputs smoothed like the Mahalanobis ones.
class HalfSpaceTrees {
 public:
  HalfSpaceTrees(int dims, int trees, int depth, double smooth, uint64_t seed)
      : d_(dims), trees_(trees), depth_(depth), alpha_(1.0 / smooth), rng_(seed), calib_(2000, 64, 0.02) {}
  double update(const double* in, bool warming) {
    if (sm_.empty()) sm_.assign(in, in + d_);
    for (int i = 0; i < d_; ++i) sm_[static_cast<std::size_t>(i)] += alpha_ * (in[i] - sm_[static_cast<std::size_t>(i)]);
    if (warming) {
      warm_.push_back(sm_);
      return 0;
    }
    if (!built_) build();
    const double mass = mass_of(sm_);
    const double p = calib_.p_lower(mass);
    const double s = -std::log10(std::max(p, 1e-300));
    return s / (s + 3);
  }

 private:
  struct Node { int dim = -1; double split = 0; int left = -1, right = -1; double mass = 0; };
  void build() {
    built_ = true;
    lo_.assign(static_cast<std::size_t>(d_), 1e300);
    hi_.assign(static_cast<std::size_t>(d_), -1e300);
    for (const auto& v : warm_)
      for (int i = 0; i < d_; ++i) {
        lo_[static_cast<std::size_t>(i)] = std::min(lo_[static_cast<std::size_t>(i)], v[static_cast<std::size_t>(i)]);
        hi_[static_cast<std::size_t>(i)] = std::max(hi_[static_cast<std::size_t>(i)], v[static_cast<std::size_t>(i)]);
      }
    std::uniform_real_distribution<double> u(0, 1);
    for (int t = 0; t < trees_; ++t) {
      std::vector<double> mn(static_cast<std::size_t>(d_)), mx(static_cast<std::size_t>(d_));
      for (int i = 0; i < d_; ++i) {
        const double sq = u(rng_), r = 2 * std::max(sq, 1 - sq);
        mn[static_cast<std::size_t>(i)] = sq - r;
        mx[static_cast<std::size_t>(i)] = sq + r;
      }
      std::vector<Node> nodes;
      grow(nodes, mn, mx, 0);
      forest_.push_back(std::move(nodes));
    }
    for (const auto& v : warm_) {
      const auto x = scale(v);
      for (auto& tree : forest_) {
        int n = 0;
        while (true) {
          tree[static_cast<std::size_t>(n)].mass += 1;
          const Node& nd = tree[static_cast<std::size_t>(n)];
          if (nd.dim < 0) break;
          n = x[static_cast<std::size_t>(nd.dim)] < nd.split ? nd.left : nd.right;
        }
      }
    }
    for (const auto& v : warm_) calib_.push(mass_of(v));
  }
  int grow(std::vector<Node>& nodes, std::vector<double> mn, std::vector<double> mx, int depth) {
    const int id = static_cast<int>(nodes.size());
    nodes.push_back({});
    if (depth == depth_) return id;
    std::uniform_int_distribution<int> pick(0, d_ - 1);
    const int q = pick(rng_);
    const double split = 0.5 * (mn[static_cast<std::size_t>(q)] + mx[static_cast<std::size_t>(q)]);
    nodes[static_cast<std::size_t>(id)].dim = q;
    nodes[static_cast<std::size_t>(id)].split = split;
    auto mx_l = mx;
    mx_l[static_cast<std::size_t>(q)] = split;
    const int l = grow(nodes, mn, mx_l, depth + 1);
    auto mn_r = mn;
    mn_r[static_cast<std::size_t>(q)] = split;
    const int r = grow(nodes, mn_r, mx, depth + 1);
    nodes[static_cast<std::size_t>(id)].left = l;
    nodes[static_cast<std::size_t>(id)].right = r;
    return id;
  }
  std::vector<double> scale(const std::vector<double>& v) const {
    std::vector<double> x(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) x[i] = hi_[i] > lo_[i] ? (v[i] - lo_[i]) / (hi_[i] - lo_[i]) : 0.5;
    return x;
  }
  double mass_of(const std::vector<double>& v) const {
    const auto x = scale(v);
    double total = 0;
    for (const auto& tree : forest_) {
      int n = 0, depth = 0;
      while (tree[static_cast<std::size_t>(n)].dim >= 0 && tree[static_cast<std::size_t>(n)].mass >= 10) {
        const Node& nd = tree[static_cast<std::size_t>(n)];
        n = x[static_cast<std::size_t>(nd.dim)] < nd.split ? nd.left : nd.right;
        ++depth;
      }
      total += tree[static_cast<std::size_t>(n)].mass * std::ldexp(1.0, depth);
    }
    return total;
  }
  int d_, trees_, depth_;
  double alpha_;
  std::mt19937_64 rng_;
  models::TailModel calib_;
  std::vector<double> sm_, lo_, hi_;
  std::vector<std::vector<double>> warm_;
  std::vector<std::vector<Node>> forest_;
  bool built_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  std::string dir = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data/skab";
  models::MultivariateConfig c;
  int warmup = 400;
  int hst = 0;
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
    else if (k == "hst") hst = static_cast<int>(v);
    else { std::fprintf(stderr, "unknown %s\n", k.c_str()); return 2; }
  }
  auto files = eval::load_skab_folder(dir);
  if (!files.ok()) { std::fprintf(stderr, "%s\n", files.error().message.c_str()); return 1; }
  std::vector<std::vector<double>> scores;
  for (const auto& f : *files) {
    models::MultivariateDetector d(c, static_cast<int>(f.columns.size()));
    HalfSpaceTrees h(static_cast<int>(f.columns.size()), 25, hst > 0 ? hst : 1, c.smooth, 7);
    std::vector<double> s;
    for (std::size_t i = 0; i < f.rows.size(); ++i) {
      const bool warming = static_cast<int>(i) < warmup;
      s.push_back(hst > 0 ? h.update(f.rows[i].data(), warming) : d.update(f.rows[i].data(), f.ts_ns[i], warming));
    }
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
