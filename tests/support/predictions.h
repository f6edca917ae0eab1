// Reading what `lunar predict` prints: one line per example, "class<TAB>v1 v2 ...".
#pragma once

#include <string>
#include <vector>

namespace lunar::testing {

struct PredictionRow {
  int label = -1;              // the predicted class
  std::vector<double> values;  // probabilities, or logits with --logits
};

std::vector<PredictionRow> parse_predictions(const std::string& text);

// The largest |a - b| over the values both row lists have.
double max_difference(const std::vector<PredictionRow>& a, const std::vector<PredictionRow>& b);

}  // namespace lunar::testing
