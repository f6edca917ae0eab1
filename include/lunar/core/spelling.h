// "Did you mean": the closest of a set of names to a misspelt one. Header-only, so the modules
// without LibTorch (stats, report) use it too.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lunar {

// Levenshtein distance: insertions, deletions and substitutions of one character.
inline size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate nearest to `word`, when it is close enough to be worth suggesting (fewer than
// |word| / 3 + 2 edits); the first of equally near ones.
inline std::optional<std::string> closest_spelling(std::string_view word,
                                                   const std::vector<std::string>& candidates) {
  std::optional<std::string> closest;
  size_t best = word.size() / 3 + 2;
  for (const auto& candidate : candidates) {
    const size_t distance = edit_distance(word, candidate);
    if (distance < best) best = distance, closest = candidate;
  }
  return closest;
}

}  // namespace lunar
