// Examples typed by a user, one per line, for `lunar predict`.
#pragma once

#include <string>
#include <string_view>

#include "lunar/data/task_config.h"

namespace lunar::data {

// Parses one line of `source` (for messages) into an example of `info`'s task:
//   pixel tasks: the image's pixel intensities 0..255 separated by spaces or commas;
//   pair tasks (matching): the two documents separated by one TAB, each through the row's
//   tokenize;
//   others: the line through the task row's tokenize (listops: the expression as in the LRA
//   files, e.g. "( [MAX 2 9 ] )"; text: the raw UTF-8 bytes).
// Tokens are truncated to `max_length`. Throws DataError naming source:line on bad input.
Example parse_input_line(const TaskInfo& info, std::string_view line, int64_t max_length,
                         const std::string& source, int64_t line_number);

}  // namespace lunar::data
