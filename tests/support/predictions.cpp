// Parsing `lunar predict` output for end-to-end tests.
#include "support/predictions.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace lunar::testing {

std::vector<PredictionRow> parse_predictions(const std::string& text) {
  std::vector<PredictionRow> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    PredictionRow row;
    fields >> row.label;
    for (double value; fields >> value;) row.values.push_back(value);
    rows.push_back(std::move(row));
  }
  return rows;
}

double max_difference(const std::vector<PredictionRow>& a, const std::vector<PredictionRow>& b) {
  double worst = 0;
  for (size_t row = 0; row < std::min(a.size(), b.size()); ++row) {
    const auto& x = a[row].values;
    const auto& y = b[row].values;
    for (size_t c = 0; c < std::min(x.size(), y.size()); ++c) {
      worst = std::max(worst, std::abs(x[c] - y[c]));
    }
  }
  return worst;
}

}  // namespace lunar::testing
