// Byte and ListOps tokenisers, and UTF-8 validation.
#include "lunar/data/tokenizer.h"

#include <array>

namespace lunar::data {
namespace {

// Ids 2..16 in this order; 0 is padding and 1 unknown.
constexpr std::array<std::string_view, 15> kListOpsSymbols = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[MIN", "[MAX", "[MED", "[SM", "X"};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::vector<int32_t> byte_tokens(std::string_view text, int64_t max_length) {
  size_t count = text.size();
  if (max_length > 0 && count > static_cast<size_t>(max_length)) count = max_length;
  std::vector<int32_t> tokens(count);
  for (size_t i = 0; i < count; ++i) tokens[i] = static_cast<unsigned char>(text[i]) + 1;
  return tokens;
}

int32_t listops_token_id(std::string_view symbol) {
  if (symbol.size() == 1 && symbol[0] >= '0' && symbol[0] <= '9') return 2 + (symbol[0] - '0');
  for (size_t i = 10; i < kListOpsSymbols.size(); ++i) {
    if (kListOpsSymbols[i] == symbol) return static_cast<int32_t>(2 + i);
  }
  return kUnknownId;
}

std::string listops_symbol(int32_t id) {
  if (id == kPadId) return "<pad>";
  if (id < 2 || id >= 2 + static_cast<int32_t>(kListOpsSymbols.size())) return "<unk>";
  return std::string(kListOpsSymbols[id - 2]);
}

std::vector<int32_t> listops_tokens(std::string_view source, int64_t max_length) {
  std::vector<int32_t> tokens;
  std::string symbol;
  auto flush = [&] {
    if (!symbol.empty()) tokens.push_back(listops_token_id(symbol));
    symbol.clear();
  };
  for (char c : source) {
    if (max_length > 0 && static_cast<int64_t>(tokens.size()) >= max_length) break;
    if (c == '(' || c == ')') continue;
    if (is_space(c)) {
      flush();
    } else {
      symbol.push_back(c == ']' ? 'X' : c);
    }
  }
  if (max_length <= 0 || static_cast<int64_t>(tokens.size()) < max_length) flush();
  return tokens;
}

int64_t find_invalid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const size_t size = text.size();
  size_t i = 0;
  while (i < size) {
    const unsigned char c = bytes[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t code;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return static_cast<int64_t>(i);
    }
    for (size_t k = 1; k <= extra; ++k) {
      if (i + k >= size || (bytes[i + k] & 0xC0) != 0x80) return static_cast<int64_t>(i);
      code = (code << 6) | (bytes[i + k] & 0x3F);
    }
    // Overlong encodings, surrogates and values past U+10FFFF are invalid.
    static constexpr uint32_t kMinimum[4] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return static_cast<int64_t>(i);
    }
    i += extra + 1;
  }
  return -1;
}

}  // namespace lunar::data
