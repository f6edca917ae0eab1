// Result matrices the Friedman, post-hoc and p-value matrix tests share; their reference values
// come from SciPy 1.10 and the numpy lines at the top of friedman_test.cpp.
#pragma once

#include "lunar/stats/friedman.h"

namespace lunar::stats::testing {

// Memory sizes 1 / 8 / 256 (columns) over five seeds (rows); ties in seeds 2 and 3.
// Columns: m1 = [0.812, 0.805, 0.820, 0.799, 0.815], m8 = [0.825, 0.818, 0.820, 0.811, 0.829],
// m256 = [0.830, 0.818, 0.826, 0.809, 0.831].
inline const ResultMatrix kMemorySeeds = {
    {0.812, 0.825, 0.830}, {0.805, 0.818, 0.818}, {0.820, 0.820, 0.826},
    {0.799, 0.811, 0.809}, {0.815, 0.829, 0.831},
};

// Four models (columns a, b, c, d) over eight datasets (rows), ties in four rows.
// a = [0.84, 0.71, 0.90, 0.66, 0.75, 0.81, 0.92, 0.60]
// b = [0.86, 0.73, 0.90, 0.69, 0.74, 0.83, 0.93, 0.62]
// c = [0.83, 0.73, 0.88, 0.65, 0.76, 0.80, 0.91, 0.60]
// d = [0.88, 0.75, 0.91, 0.70, 0.78, 0.83, 0.95, 0.64]
inline const ResultMatrix kModelsDatasets = {
    {0.84, 0.86, 0.83, 0.88}, {0.71, 0.73, 0.73, 0.75}, {0.90, 0.90, 0.88, 0.91},
    {0.66, 0.69, 0.65, 0.70}, {0.75, 0.74, 0.76, 0.78}, {0.81, 0.83, 0.80, 0.83},
    {0.92, 0.93, 0.91, 0.95}, {0.60, 0.62, 0.60, 0.64},
};

}  // namespace lunar::stats::testing
