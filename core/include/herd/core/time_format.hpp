#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herd::core {

// ms since the Unix epoch (UTC) -> "2026-11-26T05:00:00.123Z" (RFC 3339 / ISO-8601 UTC).
std::string iso8601_utc_ms(std::int64_t epoch_ms);

// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" or "YYYY-MM-DD" (midnight UTC) into ms since the epoch.
std::optional<std::int64_t> parse_iso8601_utc(std::string_view text);

}  // namespace herd::core
