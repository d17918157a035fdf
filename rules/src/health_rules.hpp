#pragma once
// Private: the animal-health rules. Each looks at the state as of event time `now` (the
// animal's newest reading) and raises, updates or resolves its alert.
#include <cstdint>
#include <string>
#include <vector>

#include "herd/rules/alert.hpp"
#include "herd/rules/animal_state.hpp"
#include "signals.hpp"

namespace herd::rules::detail {

void fever_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out);
void estrus_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out);
void rumination_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out);
// What the rumination rule sees at `now` (its inputs and both raise conditions), without acting.
struct rumination_eval {
  bool valid = false;  // enough coverage and a baseline
  flow rum;            // the last 24 h's rumination against the healthy baseline
  std::int32_t drop = 0, act_drop = 0, herd_drop = 0, rum_sd = 0, act_sd = 0, index_x10 = 0;
  bool fresh = false, by_rumination = false, by_index = false, by_persistence = false;
};
rumination_eval evaluate_rumination(const animal_state& s, std::int64_t now);
void lameness_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out);
void calving_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out);
// Time-outs of the health alerts at event time `now` (advance()).
void health_timeouts(animal_state& s, std::int64_t now, std::vector<alert_change>& out);

// The herd's temperature excess / rumination drop when the context is fresh, else 0. Only a
// herd-wide rise (positive excess, a drop) is taken off: a cold day must not hide a fever.
std::int32_t herd_temp_excess(const animal_state& s, std::int64_t now);
std::int32_t herd_rum_drop(const animal_state& s, std::int64_t now);

std::string centi_text(std::int32_t centi);  // "39.85"

}  // namespace herd::rules::detail
