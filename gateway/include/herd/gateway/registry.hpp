#pragma once
// Which animal wears which collar, and since when.
//
// File format (CSV, UTF-8): a header line `collar_id,animal_id,valid_from`, then one assignment
// per line; valid_from is ISO-8601 UTC ("2026-03-01T06:00:00Z" or "2026-03-01"). A collar moved
// to another animal gets a second line with a later valid_from. Blank lines and lines starting
// with '#' are ignored.
//
// Ids (checked at load, every error with its line number): collar_id follows the MQTT topic-id rule
// (1-64 of A-Z a-z 0-9 . _ - :), or no topic could ever name it; animal_id too (it becomes a Kafka
// key and a CloudEvents subject), and a 15-digit animal_id must be a valid ISO 11784 code
// (core/ids.hpp). The file must be a regular file of at most k_max_registry_bytes.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "herd/core/result.hpp"

namespace herd::gateway {

// 64 MiB: ~1 million assignment lines, far beyond any farm; a larger file is refused.
inline constexpr std::size_t k_max_registry_bytes = std::size_t{64} << 20;

class collar_registry {
 public:
  static core::result<collar_registry> load_csv(const std::string& path);
  static core::result<collar_registry> parse_csv(std::string_view text, const std::string& origin);

  // The animal wearing `collar_id` at `at_ms` (ms since epoch). A permanent error, whose message
  // is the dead-letter reason, when the collar is unknown or was not yet assigned then.
  core::result<std::string> animal_at(const std::string& collar_id, std::int64_t at_ms) const;
  std::size_t collar_count() const { return by_collar_.size(); }

 private:
  struct assignment {
    std::int64_t valid_from_ms;
    std::string animal_id;
  };
  std::map<std::string, std::vector<assignment>, std::less<>> by_collar_;  // sorted by valid_from
};

}  // namespace herd::gateway
