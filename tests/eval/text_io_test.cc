#include <gtest/gtest.h>

#include "eval/nab_corpus.h"
#include "eval/svg_plot.h"
#include "eval/text_io.h"

namespace edgeloop::eval {
namespace {

TEST(TextIo, Timestamps) {
  EXPECT_EQ(*parse_timestamp_ns("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(*parse_timestamp_ns("2014-04-01 00:05:00"), 1396310700LL * 1'000'000'000);
  EXPECT_EQ(*parse_timestamp_ns("2014-04-10 07:15:00.000000"), *parse_timestamp_ns("2014-04-10 07:15:00"));
  EXPECT_EQ(*parse_timestamp_ns("2000-02-29T12:00:00.5"), 951825600LL * 1'000'000'000 + 500'000'000);
  EXPECT_FALSE(parse_timestamp_ns("2014-13-01 00:00:00").ok());
  EXPECT_FALSE(parse_timestamp_ns("yesterday").ok());
  EXPECT_EQ(format_timestamp(1396310700LL * 1'000'000'000), "2014-04-01 00:05:00");
  EXPECT_EQ(format_timestamp(0), "1970-01-01 00:00:00");
}

TEST(TextIo, Numbers) {
  EXPECT_DOUBLE_EQ(*to_number("0.0"), 0.0);
  EXPECT_DOUBLE_EQ(*to_number(" -1.5e-3 "), -0.0015);
  EXPECT_DOUBLE_EQ(*to_number("+2"), 2.0);
  EXPECT_FALSE(to_number("1.2.3").ok());
  EXPECT_FALSE(to_number("").ok());
}

TEST(TextIo, WindowRows) {
  const std::vector<int64_t> ts = {10, 20, 30, 40};
  const auto w = window_rows(ts, 15, 35);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->first, 1u);
  EXPECT_EQ(w->last, 2u);
  EXPECT_FALSE(window_rows(ts, 41, 50).ok());
}

TEST(SvgPlot, RendersEveryPart) {
  PlotSpec p;
  p.title = "a <b>";
  for (int i = 0; i < 5000; ++i) {
    p.ts_ns.push_back(int64_t{i} * 1'000'000'000);
    p.score.push_back(i % 100 / 100.0);
  }
  p.signals = {std::vector<double>(5000, 1.0), std::vector<double>(5000, 2.0)};
  p.signal_names = {"x", "y"};
  p.labels = {{100, 200}};
  p.alerts.assign(5000, 0);
  p.alerts[150] = 1;
  p.threshold = 0.7;
  p.unscored_rows = 750;
  const std::string svg = render_svg(p);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("a &lt;b&gt;"), std::string::npos);
  EXPECT_NE(svg.find("threshold 0.700"), std::string::npos);
  EXPECT_NE(svg.find("#ffd6d6"), std::string::npos);  // the label window
  EXPECT_NE(svg.find("#d62728\"/>"), std::string::npos);  // an alert band
  EXPECT_LT(svg.size(), 200'000u);  // reduced to the pixel columns
}

}  // namespace
}  // namespace edgeloop::eval
