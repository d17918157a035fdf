#pragma once
// The collar MQTT format: topic farm/<farm_id>/collar/<collar_id>/telemetry, JSON payload.
// Pure functions, no I/O: decoding failures are permanent errors whose message is the
// dead-letter reason.
#include <cstddef>
#include <string_view>

#include "herd/core/result.hpp"
#include "herd/sensors/reading.hpp"

namespace herd::sensors {

inline constexpr std::size_t k_max_collar_payload = 4096;  // bytes; larger is dead-lettered

struct collar_topic {
  std::string farm_id;
  std::string collar_id;
};

core::result<collar_topic> parse_collar_topic(std::string_view topic);

// Decodes and validates one message. Unknown JSON fields are ignored (newer firmware).
core::result<collar_reading> decode_collar_message(std::string_view topic, std::string_view payload);

// The same range checks for a reading that did not come as JSON (a base station's slot): a
// permanent error naming the field, as decode_collar_message() gives.
core::status validate_collar_reading(const collar_reading& r);

}  // namespace herd::sensors
