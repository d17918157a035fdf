#pragma once
// Test helper: collar.reading.v1 envelopes as the gateway builds them.
#include <cstdint>
#include <optional>
#include <string>

#include "herd/events/v1/envelope.pb.h"

namespace herd::rules::test {

inline constexpr std::int64_t k_t0 = 1'780'272'000'000;  // 2026-06-01T00:00:00Z
inline constexpr std::int64_t k_min = 60'000;
inline constexpr std::int64_t k_hour = 3'600'000;
inline constexpr std::int64_t k_day = 86'400'000;

struct reading_spec {
  std::string animal = "276000000000001";
  std::string collar = "C-00001";
  std::uint32_t seq = 1;
  std::int64_t at_ms = k_t0;
  std::optional<double> temp_c = 38.6;
  std::optional<std::uint32_t> steps = 110;
  std::optional<double> rum_min = 18.0;
  std::optional<std::uint32_t> interval_s = 3600;
  std::optional<std::uint32_t> batt_pct = 90;
  std::optional<std::int32_t> rssi_dbm = -70;
};

events::v1::EventEnvelope reading_event(const reading_spec& r);

}  // namespace herd::rules::test
