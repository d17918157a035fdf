#pragma once
// For tuning (herd-eval --trace-animal): what a rule sees, without raising anything. Pure.
#include <cstdint>

#include "herd/rules/animal_state.hpp"

namespace herd::rules {

// The rumination rule's view at event time `now`: the last 24 h against the healthy baseline,
// the own day-to-day CVs, the health index and which raise condition holds (thresholds.hpp).
struct rumination_trace {
  bool valid = false;  // enough coverage and a baseline
  std::int64_t actual_min = 0, expected_min = 0;
  std::int32_t drop_pct = 0, act_drop_pct = 0, herd_drop_pct = 0, rum_cv_pct = 0, act_cv_pct = 0, index_x10 = 0;
  bool fresh = false, by_rumination = false, by_index = false, by_persistence = false;
};
rumination_trace trace_rumination(const animal_state& s, std::int64_t now);

}  // namespace herd::rules
