#pragma once
// Private: the rules, run by the fold after a reading was added, or by advance().
#include <vector>

#include "herd/core/result.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/rules/alert.hpp"
#include "state_ops.hpp"

namespace herd::rules::detail {

// After `r` was added to the windows (`flags`: its temperature point's dip marks).
void run_reading_rules(animal_state& s, const reading& r, std::uint8_t flags, std::vector<alert_change>& out);
// Time-driven rules (device offline) at event time `now_ms`.
void run_time_rules(animal_state& s, std::int64_t now_ms, std::vector<alert_change>& out);
// alert.acknowledged.v1: marks the alert acknowledged (permanent error: bad payload).
core::result<std::vector<alert_change>> apply_acknowledgement(animal_state& s, const events::v1::EventEnvelope& e);

}  // namespace herd::rules::detail
