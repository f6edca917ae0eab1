// Line charts' reference lines: drawn where their value sits on the y axis, inside the plot even
// when the series do not reach them, with their labels escaped.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "lunar/report/svg.h"

using namespace lunar::report;

namespace {

// The number in attribute `name` of the last element that starts before `position`.
double attribute_before(const std::string& svg, size_t position, const std::string& name) {
  const auto element = svg.rfind('<', position);
  const auto found = svg.find(" " + name + "=\"", element);
  EXPECT_NE(found, std::string::npos) << name;
  return std::stod(svg.substr(found + name.size() + 3));
}

// The pixel row of the y-axis gridline whose tick reads `tick`.
double tick_y(const std::string& svg, const std::string& tick) {
  const auto label = svg.find("text-anchor=\"end\">" + tick + "</text>");
  EXPECT_NE(label, std::string::npos) << "no y tick " << tick << " in\n" << svg;
  return attribute_before(svg, svg.rfind("<line", label), "y1");
}

// The pixel row of the reference line labelled `label` (escaped as in the SVG).
double reference_y(const std::string& svg, const std::string& label) {
  const auto text = svg.find(">" + label + "</text>");
  EXPECT_NE(text, std::string::npos) << "no reference " << label << " in\n" << svg;
  const auto line = svg.rfind("<line", text);
  EXPECT_NE(svg.find("stroke-dasharray", line), std::string::npos);
  EXPECT_LT(svg.find("stroke-dasharray", line), text);
  return attribute_before(svg, line, "y1");
}

LineChart chart(double low, double high) {
  LineChart c;
  c.title = "accuracy";
  c.series.push_back({"val", {0, 5, 10}, {low, (low + high) / 2, high}, {}});
  return c;
}

TEST(ReferenceLine, SitsAtItsValueOnTheAxis) {
  // y spans 0.2 .. 0.8 (padded), ticks every 0.2: 0.4 is a tick, 0.5 halfway between two.
  auto c = chart(0.2, 0.8);
  c.references = {{"at a tick", 0.4}, {"between ticks", 0.5}};
  const auto svg = line_chart_svg(c);
  EXPECT_DOUBLE_EQ(reference_y(svg, "at a tick"), tick_y(svg, "0.4"));
  EXPECT_NEAR(reference_y(svg, "between ticks"), (tick_y(svg, "0.4") + tick_y(svg, "0.6")) / 2,
              0.11);
  EXPECT_LT(tick_y(svg, "0.6"), tick_y(svg, "0.4"));  // higher values are drawn higher up
}

TEST(ReferenceLine, OutsideTheSeriesExtendsTheAxis) {
  auto c = chart(0.6, 0.9);
  c.references = {{"majority", 0.1}};
  const auto svg = line_chart_svg(c);
  const double y = reference_y(svg, "majority");
  const double top = 28, bottom = c.height - 42;  // the plot area of line_chart_svg
  EXPECT_GE(y, top);
  EXPECT_LE(y, bottom);
  EXPECT_GT(y, tick_y(svg, "0.6"));  // below the lowest point of the series
  EXPECT_NEAR(y, tick_y(svg, "0.2") + (tick_y(svg, "0.2") - tick_y(svg, "0.4")) / 2, 0.11);
}

TEST(ReferenceLine, LabelIsEscapedAndColoured) {
  auto c = chart(0.2, 0.8);
  c.references = {{"majority <class> & \"rate\"", 0.4}};
  const auto svg = line_chart_svg(c);
  EXPECT_EQ(svg.find("<class>"), std::string::npos);
  const std::string escaped = "majority &lt;class&gt; &amp; &quot;rate&quot;";
  EXPECT_DOUBLE_EQ(reference_y(svg, escaped), tick_y(svg, "0.4"));
  EXPECT_NE(svg.find("fill=\"" + std::string(kReferenceColour) + "\">" + escaped),
            std::string::npos);
}

TEST(ReferenceLine, ChartWithoutPointsDrawsNone) {
  LineChart c;
  c.title = "accuracy";
  c.references = {{"majority", 0.4}};
  const auto svg = line_chart_svg(c);
  EXPECT_NE(svg.find("no data"), std::string::npos);
  EXPECT_EQ(svg.find("stroke-dasharray"), std::string::npos);
  EXPECT_EQ(svg.find("majority"), std::string::npos);
}

TEST(TickLabels, NeighboursNeverReadTheSameAndFitTheMargin) {
  // A nearly flat curve (an unpack slot entropy) and learning rates of order 1e-5.
  for (const auto& [low, high] :
       {std::pair<double, double>{0.9999977, 0.9999996}, {1e-5, 1.3e-5}, {0.0, 1000.0}}) {
    const auto svg = line_chart_svg(chart(low, high));
    std::vector<std::string> labels;
    for (auto at = svg.find("text-anchor=\"end\">"); at != std::string::npos;
         at = svg.find("text-anchor=\"end\">", at + 1)) {
      const auto begin = at + std::string("text-anchor=\"end\">").size();
      labels.push_back(svg.substr(begin, svg.find('<', begin) - begin));
      // Right-aligned at x, about 6.2 px a character: clear of the rotated axis label (x < 20).
      EXPECT_GE(attribute_before(svg, at, "x") - 6.2 * labels.back().size(), 20.0) << svg;
    }
    ASSERT_GE(labels.size(), 3u) << svg;
    for (size_t i = 1; i < labels.size(); ++i) EXPECT_NE(labels[i], labels[i - 1]) << svg;
  }
  const auto svg = line_chart_svg(chart(0.0, 1000.0));
  EXPECT_NE(svg.find(">250</text>"), std::string::npos);  // whole numbers stay whole
  EXPECT_NE(line_chart_svg(chart(1e-5, 1.3e-5)).find(">1.2e-05</text>"), std::string::npos);
  EXPECT_NE(line_chart_svg(chart(0.0, 1e-5)).find(">0</text>"), std::string::npos);
}

}  // namespace
