// A self-contained SVG plot of one evaluated series: the signal(s) on top, the score below
// (with the detection threshold), the labelled anomaly windows shaded across both, the
// unscored start (probation / training part) greyed, and the alerts (or detections) marked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/nab_corpus.h"

namespace edgeloop::eval {

struct PlotSpec {
  std::string title;
  std::vector<int64_t> ts_ns;                 // x axis (event time)
  std::vector<std::string> signal_names;
  std::vector<std::vector<double>> signals;   // each scaled to its own range when several
  std::vector<double> score;                  // 0..1 (NaN: gap)
  double threshold = -1;                      // < 0: none
  std::vector<RowWindow> labels;              // shaded
  std::vector<uint8_t> alerts;                // per row, 1 where an alert/detection holds
  std::size_t unscored_rows = 0;              // greyed from the start
};

std::string render_svg(const PlotSpec& spec);

}  // namespace edgeloop::eval
