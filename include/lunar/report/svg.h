// Inline SVG figures for the HTML report: line charts with a band per series (mean ± std over
// seeds) and p-value heatmaps.
#pragma once

#include <string>
#include <vector>

namespace lunar::report {

struct Series {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  std::vector<double> spread;  // band y ± spread; empty for no band
};

// A labelled dashed horizontal line at `y`, e.g. the majority-class rate on an accuracy chart.
struct Reference {
  std::string label;
  double y = 0.0;
};

// The colour of every reference line and its label.
inline constexpr char kReferenceColour[] = "#c000c0";

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  std::vector<Reference> references;  // the y axis extends to include them
  int width = 520;
  int height = 300;
};

// An <svg> element: axes with ticks, one coloured line (and translucent band) per series, a
// legend, and each reference as a dashed line labelled above its right end. A chart with no
// points says so in its body (and draws no reference).
std::string line_chart_svg(const LineChart& chart);

// A square matrix of p-values in [0, 1], coloured on a log scale from dark (p <= 0.001) to white
// (p = 1), with each value written in its cell as the tables write it (p_text); values <= 0.05
// bold. The diagonal and NaN cells are grey "–". A colour scale is drawn below.
std::string p_value_heatmap_svg(const std::string& title, const std::vector<std::string>& names,
                                const std::vector<std::vector<double>>& p);

// Escapes &, <, >, " and ' for HTML text and attributes.
std::string escape_html(const std::string& text);

// The colour of series `index` (a fixed palette of 10, then repeating).
std::string series_colour(size_t index);

}  // namespace lunar::report
