#include "herd/core/ids.hpp"

#include <algorithm>
#include <cstdint>

namespace herd::core {

bool is_valid_topic_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> animal_id_problem(std::string_view id) {
  if (!is_valid_topic_id(id)) return std::string("must be 1-64 characters of A-Z a-z 0-9 . _ - :");
  const bool all_digits = std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (all_digits && id.size() == 15) {
    const int country = (id[0] - '0') * 100 + (id[1] - '0') * 10 + (id[2] - '0');
    std::uint64_t national = 0;
    for (const char c : id.substr(3)) national = national * 10 + static_cast<std::uint64_t>(c - '0');
    if (country == 0) return std::string("is a 15-digit ISO 11784 code with country code 000");
    if (national > 274877906943ULL) {
      return std::string("is a 15-digit ISO 11784 code whose national number exceeds 274877906943 (38 bits)");
    }
  }
  return std::nullopt;
}

}  // namespace herd::core
