#pragma once
// Private: device rules (offline, fallen off, low battery).
#include <vector>

#include "herd/rules/alert.hpp"
#include "state_ops.hpp"

namespace herd::rules::detail {

// After a reading of r.collar_id: clears its offline alert, raises / clears fallen-off and
// low battery.
void device_rules_on_reading(animal_state& s, const reading& r, std::vector<alert_change>& out);
// At event time `now`: raises offline alerts for current devices past their expected readings.
void offline_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out);

}  // namespace herd::rules::detail
