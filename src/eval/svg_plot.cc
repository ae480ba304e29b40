#include "eval/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "eval/text_io.h"

namespace edgeloop::eval {

namespace {

constexpr double kW = 1200, kLeft = 60, kRight = 20, kTop = 30, kSigH = 220, kGap = 30, kScoreH = 120, kBottom = 30;
constexpr const char* kColors[] = {"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

// A polyline of y over rows, reduced to at most two points (min, max) per pixel column.
std::string polyline(const std::vector<double>& y, double lo, double hi, double top, double height, const char* color,
                     double width) {
  const std::size_t n = y.size();
  if (n == 0) return {};
  const double plot_w = kW - kLeft - kRight;
  const double span = hi > lo ? hi - lo : 1.0;
  auto px = [&](std::size_t i) { return kLeft + plot_w * (n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.0); };
  auto py = [&](double v) { return top + height - height * (std::clamp(v, lo, hi) - lo) / span; };
  std::string out;
  std::string pts;
  auto flush = [&] {
    if (pts.empty()) return;
    out += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"" + std::to_string(width) +
           "\" points=\"" + pts + "\"/>\n";
    pts.clear();
  };
  const std::size_t buckets = static_cast<std::size_t>(plot_w);
  char buf[64];
  if (n <= 2 * buckets) {
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isnan(y[i])) {
        flush();
        continue;
      }
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", px(i), py(y[i]));
      pts += buf;
    }
  } else {
    for (std::size_t b = 0; b < buckets; ++b) {
      const std::size_t a = b * n / buckets, e = (b + 1) * n / buckets;
      double mn = INFINITY, mx = -INFINITY;
      std::size_t imn = a, imx = a;
      for (std::size_t i = a; i < e; ++i) {
        if (std::isnan(y[i])) continue;
        if (y[i] < mn) mn = y[i], imn = i;
        if (y[i] > mx) mx = y[i], imx = i;
      }
      if (!std::isfinite(mn)) {
        flush();
        continue;
      }
      for (std::size_t i : {std::min(imn, imx), std::max(imn, imx)}) {
        std::snprintf(buf, sizeof buf, "%.1f,%.1f ", px(i), py(y[i]));
        pts += buf;
      }
    }
  }
  flush();
  return out;
}

void range_of(const std::vector<double>& y, double& lo, double& hi) {
  lo = INFINITY;
  hi = -INFINITY;
  for (double v : y) {
    if (std::isnan(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi == lo) hi = lo + 1;
}

}  // namespace

std::string render_svg(const PlotSpec& spec) {
  const double height = kTop + kSigH + kGap + kScoreH + kBottom;
  const double plot_w = kW - kLeft - kRight;
  const std::size_t n = spec.ts_ns.size();
  auto x_of = [&](std::size_t i) { return kLeft + plot_w * (n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.0); };
  char buf[512];
  std::string s;
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                kW, height, kW, height);
  s += buf;
  s += "<text x=\"" + std::to_string(static_cast<int>(kLeft)) + "\" y=\"18\" font-size=\"13\">" + esc(spec.title) + "</text>\n";
  const double panel_h = kSigH + kGap + kScoreH;
  // Unscored start, label windows (behind the lines).
  if (spec.unscored_rows > 0 && n > 1) {
    std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#eeeeee\"/>\n", kLeft, kTop,
                  x_of(std::min(spec.unscored_rows, n - 1)) - kLeft, panel_h);
    s += buf;
  }
  for (const auto& w : spec.labels) {
    if (w.first >= n) continue;
    const double x0 = x_of(w.first), x1 = x_of(std::min(w.last, n - 1));
    std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffd6d6\"/>\n", x0, kTop,
                  std::max(x1 - x0, 1.0), panel_h);
    s += buf;
  }
  // Signals.
  const bool several = spec.signals.size() > 1;
  for (std::size_t k = 0; k < spec.signals.size(); ++k) {
    double lo, hi;
    range_of(spec.signals[k], lo, hi);
    s += polyline(spec.signals[k], lo, hi, kTop, kSigH, kColors[k % 8], several ? 1.0 : 1.2);
    if (k == 0 && !several) {
      std::snprintf(buf, sizeof buf, "<text x=\"4\" y=\"%.1f\">%.4g</text>\n<text x=\"4\" y=\"%.1f\">%.4g</text>\n", kTop + 10, hi,
                    kTop + kSigH, lo);
      s += buf;
    }
  }
  for (std::size_t k = 0; k < spec.signal_names.size() && k < 8; ++k) {
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%s</text>\n", kLeft + 5 + 140.0 * static_cast<double>(k),
                  kTop + kSigH + 14, kColors[k % 8], esc(spec.signal_names[k]).c_str());
    s += buf;
  }
  // Score panel.
  const double st = kTop + kSigH + kGap;
  std::snprintf(buf, sizeof buf,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#cccccc\"/>\n"
                "<text x=\"4\" y=\"%.1f\">score</text><text x=\"4\" y=\"%.1f\">1</text><text x=\"4\" y=\"%.1f\">0</text>\n",
                kLeft, st, plot_w, kScoreH, st + kScoreH / 2, st + 10, st + kScoreH);
  s += buf;
  // Alerts: a band under the score line.
  std::size_t i = 0;
  while (i < spec.alerts.size() && i < n) {
    if (!spec.alerts[i]) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j + 1 < spec.alerts.size() && j + 1 < n && spec.alerts[j + 1]) ++j;
    std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"8\" fill=\"#d62728\"/>\n", x_of(i),
                  st + kScoreH + 3, std::max(x_of(j) - x_of(i), 1.5));
    s += buf;
    i = j + 1;
  }
  if (spec.threshold >= 0) {
    const double y = st + kScoreH - kScoreH * std::clamp(spec.threshold, 0.0, 1.0);
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" fill=\"#d62728\">threshold %.3f</text>\n",
                  kLeft, y, kLeft + plot_w, y, kLeft + plot_w - 110, y - 3, spec.threshold);
    s += buf;
  }
  s += polyline(spec.score, 0, 1, st, kScoreH, "#ff7f0e", 1.0);
  // Time axis: first and last timestamps.
  if (n > 0) {
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\">%s</text><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                  kLeft, height - 8, format_timestamp(spec.ts_ns.front()).c_str(), kLeft + plot_w, height - 8,
                  format_timestamp(spec.ts_ns.back()).c_str());
    s += buf;
  }
  s += "<text x=\"" + std::to_string(static_cast<int>(kLeft + plot_w / 2 - 150)) + "\" y=\"" + std::to_string(static_cast<int>(height - 8)) +
       "\" fill=\"#555\">shaded red: labelled anomaly; red band: alerts; grey: not scored</text>\n";
  s += "</svg>\n";
  return s;
}

}  // namespace edgeloop::eval
