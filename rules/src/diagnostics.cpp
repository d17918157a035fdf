#include "herd/rules/diagnostics.hpp"

#include "health_rules.hpp"

namespace herd::rules {

rumination_trace trace_rumination(const animal_state& s, std::int64_t now) {
  const detail::rumination_eval e = detail::evaluate_rumination(s, now);
  rumination_trace t;
  t.valid = e.valid;
  t.actual_min = e.rum.actual / 10;
  t.expected_min = e.rum.expected / 10;
  t.drop_pct = e.drop;
  t.act_drop_pct = e.act_drop;
  t.herd_drop_pct = e.herd_drop;
  t.rum_cv_pct = e.rum_sd;
  t.act_cv_pct = e.act_sd;
  t.index_x10 = e.index_x10;
  t.fresh = e.fresh;
  t.by_rumination = e.by_rumination;
  t.by_index = e.by_index;
  t.by_persistence = e.by_persistence;
  return t;
}

}  // namespace herd::rules
