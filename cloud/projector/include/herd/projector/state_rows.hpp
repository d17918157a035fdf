#pragma once
// rules::animal_state / alert -> the read model's rows (queryable columns beside the state bytes).
#include <string>

#include "herd/read_model/rows.hpp"
#include "herd/rules/alert.hpp"
#include "herd/rules/animal_state.hpp"

namespace herd::projector {

// The row of an animal: state = rules::encode(state); columns from the state (latest readings
// in °C / steps / minutes, collars with battery and RSSI when sent; ms -> µs).
read_model::animal_row to_row(const rules::animal_state& state, const std::string& topic,
                              std::int32_t partition);

// The row of an alert after a lifecycle change. status "active" or "resolved"; severity 1..3
// (info, warning, critical); body: JSON with evidence, value, device_id, resolution, window,
// acknowledged_by.
read_model::alert_row to_row(const std::string& animal_id, const rules::alert& a);

}  // namespace herd::projector
