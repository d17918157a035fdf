#pragma once
// Herd-wide context and rule readiness.
//
// Heat stress (HERD.md: THI 68/72/74; temperature up, rumination down, readings >= 39.5 °C 4x
// as often) moves every animal at once. Individual rules must not turn it into a wave of fever
// or rumination alerts, so they compare with the herd as well: the caller computes a
// herd_context from the animals it holds and passes it to advance(), which stores it in each
// state for the rules to use until it is older than 2 h of event time. A projector computes it
// per Kafka partition (the animals of one partition, from their states), so it is the same
// whichever instance owns the partition and a rebuild reproduces it; a partition should hold
// at least k_min_context_animals animals, else the context stays empty (no correction).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "herd/rules/animal_state.hpp"

namespace herd::rules {

inline constexpr int k_min_context_animals = 5;

// Medians over the animals of the figures in herd_context (temperature of the last 3 h and
// rumination of the last 24 h / 6 h against their own baselines). Animals without a baseline or
// without data in the last 3 h are left out. Pure; `now_ms` is event time.
herd_context compute_herd_context(std::span<const animal_state* const> animals, std::int64_t now_ms);

// "No baseline, no rule": which rules can fire for this animal at event time `now_ms`, and
// why not. One entry per health rule (fever, estrus, rumination_drop, lameness, calving).
struct rule_readiness {
  alert_kind rule = alert_kind::fever;
  bool ready = false;
  std::string reason;  // e.g. "temperature baseline: 2 of 3 days with readings at this hour"
};
std::vector<rule_readiness> readiness(const animal_state& s, std::int64_t now_ms);

}  // namespace herd::rules
