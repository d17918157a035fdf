#pragma once
#include <string_view>

namespace herd::core {

// Farm, collar and device ids as they appear in MQTT topics (README, collar MQTT format):
// 1-64 characters of A-Z a-z 0-9 . _ - :  The gateway rejects other ids; the simulator refuses
// to produce them.
bool is_valid_topic_id(std::string_view id);

}  // namespace herd::core
