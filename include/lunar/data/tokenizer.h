// Tokenisers: UTF-8 bytes (text, matching) and the fixed ListOps symbol vocabulary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lunar::data {

inline constexpr int32_t kPadId = 0;
inline constexpr int32_t kUnknownId = 1;          // ListOps only: a symbol outside the vocabulary
inline constexpr int64_t kByteVocabSize = 257;    // pad 0, byte b -> b + 1
inline constexpr int64_t kPixelVocabSize = 256;   // raw intensities 0..255
inline constexpr int64_t kListOpsVocabSize = 17;  // pad, unknown, 0-9, [MIN [MAX [MED [SM X

// Byte-level tokens: each UTF-8 byte b becomes b + 1; at most `max_length` tokens
// (max_length <= 0: no truncation). Never includes CLS: the model prepends it.
std::vector<int32_t> byte_tokens(std::string_view text, int64_t max_length);

// The id of one ListOps symbol ("0".."9", "[MIN", "[MAX", "[MED", "[SM", "X"), or kUnknownId.
int32_t listops_token_id(std::string_view symbol);

// The symbol of an id (for messages and tests); "<pad>" and "<unk>" for 0 and 1.
std::string listops_symbol(int32_t id);

// LRA's ListOps tokenisation: delete '(' and ')', map ']' to 'X', split on whitespace.
std::vector<int32_t> listops_tokens(std::string_view source, int64_t max_length);

// Returns the offset of the first byte that is not valid UTF-8, or -1 when all is valid.
int64_t find_invalid_utf8(std::string_view text);

}  // namespace lunar::data
