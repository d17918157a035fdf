#include "key_rows.hpp"

#include <algorithm>
#include <sstream>

namespace herd::buffer::detail {

namespace {

constexpr char k_hex[] = "0123456789abcdef";

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string encode_key_rows(const key_rows_map& keys) {
  std::string out = "keys " + std::to_string(keys.size()) + "\n";
  for (const auto& [key, kr] : keys) {
    out += 'x';  // never an empty word, even for an empty key
    for (const unsigned char c : key) {
      out += k_hex[c >> 4];
      out += k_hex[c & 0xf];
    }
    out += ' ' + std::to_string(kr.rows) + ' ' + std::to_string(kr.last) + '\n';
  }
  return out;
}

std::optional<key_rows_map> decode_key_rows(const std::string& text) {
  std::istringstream in(text);
  std::string word;
  std::size_t n = 0;
  if (!(in >> word >> n) || word != "keys") return std::nullopt;
  key_rows_map out;
  out.reserve(std::min<std::size_t>(n, 1U << 16));  // n is not trusted yet
  for (std::size_t i = 0; i < n; ++i) {
    std::string hex;
    key_rows kr;
    if (!(in >> hex >> kr.rows >> kr.last) || hex[0] != 'x' || hex.size() % 2 != 1 || kr.rows == 0) {
      return std::nullopt;
    }
    std::string key(hex.size() / 2, '\0');
    for (std::size_t j = 0; j < key.size(); ++j) {
      const int hi = nibble(hex[1 + 2 * j]), lo = nibble(hex[2 + 2 * j]);
      if (hi < 0 || lo < 0) return std::nullopt;
      key[j] = static_cast<char>(hi << 4 | lo);
    }
    if (!out.emplace(std::move(key), kr).second) return std::nullopt;
  }
  if (in >> word) return std::nullopt;  // more than announced
  return out;
}

}  // namespace herd::buffer::detail
