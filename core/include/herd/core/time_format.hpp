#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herd::core {

// The event contract's bounds on a time (README, "Time"), shared by the gateway (a collar's `ts`),
// the rules (a partition's event time) and the projector (an envelope's `ingested_at`):
// - a time more than this far ahead of the clock it is checked against is not believed
//   (a collar or gateway clock gone wrong), in ms;
inline constexpr std::int64_t k_max_clock_lead_ms = 5 * 60 * 1000;
// - a time before 2020-01-01T00:00:00Z (ms since the Unix epoch) is a clock never set (a Pi or a
//   collar after a boot without time), not an event time.
inline constexpr std::int64_t k_min_event_time_ms = 1'577'836'800'000;

// ms since the Unix epoch (UTC) -> "2026-11-26T05:00:00.123Z" (RFC 3339 / ISO-8601 UTC).
// Years outside 0000-9999 are written with more digits or a sign, as printf's %04d would.
std::string iso8601_utc_ms(std::int64_t epoch_ms);
// The same into `out` (its content replaced, its capacity reused: no allocation once it has held
// one). Any thread.
void iso8601_utc_ms_into(std::int64_t epoch_ms, std::string& out);

// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" or "YYYY-MM-DD" (midnight UTC) into ms since the epoch.
std::optional<std::int64_t> parse_iso8601_utc(std::string_view text);

}  // namespace herd::core
