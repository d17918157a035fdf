#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace herd::core {

// Farm, collar and device ids as they appear in MQTT topics (README, collar MQTT format):
// 1-64 characters of A-Z a-z 0-9 . _ - :  The gateway rejects other ids; the simulator refuses
// to produce them.
bool is_valid_topic_id(std::string_view id);

// Why `id` is not an acceptable animal id, or nullopt when it is (README, collar registry).
// Animal ids become Kafka keys and CloudEvents subjects, so they follow the topic-id rule
// (1-64 of A-Z a-z 0-9 . _ - :, no spaces, no control characters). An id of exactly 15 digits is
// an ISO 11784 animal code (the FDX-B number of an RFID ear tag or bolus) and must be a valid
// one: a 3-digit country code (ISO 3166 numeric) or manufacturer code (900-998), 001-999, then a
// 12-digit national identification number of at most 274877906943 (38 bits, ISO 11784 table 1).
std::optional<std::string> animal_id_problem(std::string_view id);

}  // namespace herd::core
