// Hand-written SVG: no scripts, no external resources.
#include "lunar/report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "lunar/report/study_stats.h"

namespace lunar::report {

namespace {

struct Ticks {
  std::vector<double> values;
  double step = 1.0;
};

// About `count` round tick values covering [low, high], `step` apart (1, 2, 2.5 or 5 times a power
// of ten).
Ticks ticks(double low, double high, int count) {
  const double span = high - low;
  const double raw = span / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  Ticks out;
  for (double factor : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    out.step = factor * magnitude;
    if (span / out.step <= count) break;
  }
  for (double t = std::ceil(low / out.step) * out.step; t <= high + 1e-9 * span; t += out.step) {
    out.values.push_back(std::abs(t) < 1e-12 * span ? 0.0 : t);
  }
  return out;
}

// A tick's label with the digits its spacing needs, so that neighbours never read the same (a
// nearly flat curve, e.g. an entropy of 0.999998 .. 0.999999, gets ticks 0.9999980, 0.9999985).
std::string tick_text(double value, double step) {
  if (value == 0.0) return "0";
  const int step_exponent = static_cast<int>(std::floor(std::log10(step) + 1e-9));
  const double mantissa = step / std::pow(10.0, step_exponent);
  const int extra = std::abs(mantissa - std::round(mantissa)) > 1e-6 ? 1 : 0;  // 2.5
  if ((std::abs(value) >= 1e5 || std::abs(value) < 1e-3)) {
    const int value_exponent = static_cast<int>(std::floor(std::log10(std::abs(value))));
    return fmt::format("{:.{}e}", value, std::max(1, value_exponent - step_exponent + extra));
  }
  return fmt::format("{:.{}f}", value, std::max(0, extra - step_exponent));
}

}  // namespace

std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string series_colour(size_t index) {
  static const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return palette[index % 10];
}

std::string line_chart_svg(const LineChart& chart) {
  double left = 58;  // widened below for long y tick labels
  const double right = 130, top = 28, bottom = 42;
  const double plot_h = chart.height - top - bottom;
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  for (const auto& s : chart.series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double spread = s.spread.empty() ? 0.0 : s.spread[i];
      x_min = std::min(x_min, s.x[i]);
      x_max = std::max(x_max, s.x[i]);
      y_min = std::min(y_min, s.y[i] - spread);
      y_max = std::max(y_max, s.y[i] + spread);
    }
  }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<text x=\"{2}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{3}</text>\n",
      chart.width, chart.height, left, escape_html(chart.title));
  if (!std::isfinite(x_min)) {
    return svg +
           fmt::format("<text x=\"{}\" y=\"{}\">no data</text>\n</svg>\n", left, top + plot_h / 2);
  }
  for (const auto& reference : chart.references) {
    y_min = std::min(y_min, reference.y);
    y_max = std::max(y_max, reference.y);
  }
  if (x_max == x_min) x_max = x_min + 1;
  if (y_max == y_min) {
    y_max += 0.5 * std::max(1e-6, std::abs(y_max));
    y_min -= 0.5 * std::max(1e-6, std::abs(y_min));
  }
  const double pad = 0.05 * (y_max - y_min);
  y_min -= pad;
  y_max += pad;
  const auto y_ticks = ticks(y_min, y_max, 5);
  std::vector<std::string> y_labels;
  for (double t : y_ticks.values) {
    y_labels.push_back(tick_text(t, y_ticks.step));
    // About 6.2 px a character at 11 px, after the rotated axis label (to x = 20).
    left = std::max(left, 26 + 6.2 * static_cast<double>(y_labels.back().size()));
  }
  const double plot_w = chart.width - left - right;
  const auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * plot_w; };
  const auto py = [&](double y) { return top + (1.0 - (y - y_min) / (y_max - y_min)) * plot_h; };
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", left,
      top, plot_w, plot_h);
  const auto x_ticks = ticks(x_min, x_max, 6);
  for (double t : x_ticks.values) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#eee\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        px(t), top, top + plot_h, top + plot_h + 14, tick_text(t, x_ticks.step));
  }
  for (size_t i = 0; i < y_ticks.values.size(); ++i) {
    const double y = py(y_ticks.values[i]);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#eee\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
        left, y, left + plot_w, left - 4, y + 4, y_labels[i]);
  }
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
      "<text transform=\"translate(14,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      left + plot_w / 2, chart.height - 6, escape_html(chart.x_label), top + plot_h / 2,
      escape_html(chart.y_label));
  for (size_t k = 0; k < chart.series.size(); ++k) {
    const auto& s = chart.series[k];
    const auto colour = series_colour(k);
    if (s.x.empty()) continue;
    if (!s.spread.empty() && s.x.size() > 1) {
      std::string band;
      for (size_t i = 0; i < s.x.size(); ++i) {
        band += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i] + s.spread[i]));
      }
      for (size_t i = s.x.size(); i-- > 0;) {
        band += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i] - s.spread[i]));
      }
      svg +=
          fmt::format("<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.15\"/>\n", band, colour);
    }
    std::string line;
    for (size_t i = 0; i < s.x.size(); ++i) {
      line += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
    }
    svg +=
        fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"/>\n",
                    line, colour);
    const double ly = top + 10 + 16.0 * static_cast<double>(k);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"3\"/>"
        "<text x=\"{4}\" y=\"{5}\">{6}</text>\n",
        left + plot_w + 8, ly, left + plot_w + 26, colour, left + plot_w + 30, ly + 4,
        escape_html(s.label));
  }
  for (const auto& reference : chart.references) {
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
        "stroke-width=\"2\" stroke-dasharray=\"6,4\"/>"
        "<text x=\"{4}\" y=\"{5:.1f}\" text-anchor=\"end\" fill=\"{3}\">{6}</text>\n",
        left, py(reference.y), left + plot_w, kReferenceColour, left + plot_w - 4,
        py(reference.y) - 4, escape_html(reference.label));
  }
  return svg + "</svg>\n";
}

namespace {
// Log scale: 1 -> white, 0.001 and below -> dark blue; returns the fill and a readable ink.
std::pair<std::string, std::string> p_colour(double p) {
  const double t = std::clamp(-std::log10(std::max(p, 1e-12)) / 3.0, 0.0, 1.0);
  const auto mix = [t](int from, int to) {
    return static_cast<int>(std::lround(from + (to - from) * t));
  };
  return {fmt::format("#{:02x}{:02x}{:02x}", mix(255, 8), mix(255, 48), mix(255, 107)),
          t > 0.55 ? "#fff" : "#000"};
}
}  // namespace

std::string p_value_heatmap_svg(const std::string& title, const std::vector<std::string>& names,
                                const std::vector<std::vector<double>>& p) {
  const double cell = 62, label_w = 100, top = 30;
  const double k = static_cast<double>(names.size());
  const double scale_top = top + cell * k + 30;
  const double width = std::max(label_w + cell * k + 10, 370.0), height = scale_top + 36;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<text x=\"4\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{2}</text>\n",
      width, height, escape_html(title));
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = 0; j < names.size(); ++j) {
      const double value = p[i][j];
      const double x = label_w + cell * static_cast<double>(j);
      const double y = top + cell * static_cast<double>(i);
      std::string fill = "#dddddd", text = "–", ink = "#000";
      std::string weight = "normal";
      if (i != j && std::isfinite(value)) {
        std::tie(fill, ink) = p_colour(value);
        text = p_text(value);
        if (value <= kAlpha) weight = "bold";
      }
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#fff\"/>"
          "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\" font-weight=\"{}\">{}"
          "</text>\n",
          x, y, cell, cell, fill, x + cell / 2, y + cell / 2 + 4, ink, weight, text);
    }
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>"
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
        label_w - 6, top + cell * static_cast<double>(i) + cell / 2 + 4, escape_html(names[i]),
        label_w + cell * static_cast<double>(i) + cell / 2, top + cell * k + 16,
        escape_html(names[i]));
  }
  // The colour scale: 24 steps from p = 1 to p = 0.001, ticks at each decade.
  const double bar_x = 10, bar_w = 240, step_w = bar_w / 24;
  for (int s = 0; s < 24; ++s) {
    const double value = std::pow(10.0, -3.0 * (s + 0.5) / 24.0);
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"12\" fill=\"{}\"/>",
                       bar_x + step_w * s, scale_top, step_w + 0.5, p_colour(value).first);
  }
  const char* ticks[] = {"1", "0.1", "0.01", "≤ 0.001"};
  for (int decade = 0; decade <= 3; ++decade) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                       bar_x + bar_w * decade / 3.0, scale_top + 26, ticks[decade]);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\">p (bold: ≤ 0.05)</text>\n", bar_x + bar_w + 8,
                     scale_top + 10);
  return svg + "</svg>\n";
}

}  // namespace lunar::report
