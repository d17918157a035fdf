#pragma once
// Private: the alert lifecycle inside the state. One open alert per (kind, device); its id is
// fixed when raised and derived from the animal, kind, device and start time only, so a rebuild
// from the same events gives the same ids.
#include <string>
#include <vector>

#include "herd/rules/alert.hpp"
#include "herd/rules/animal_state.hpp"

namespace herd::rules::detail {

// Resolved alerts are kept this long (for acknowledgements and for merging heats), and at most
// k_max_kept_alerts alerts in all (open ones are never dropped).
inline constexpr std::int64_t k_keep_resolved_ms = 14 * k_day_ms;
inline constexpr std::size_t k_max_kept_alerts = 32;
// A resolved calving alert is kept longer, and dropped for the cap last: the rules count days
// in milk from it (no heat alert within 21 days of it; the fresh-cow window of the rumination
// rule, to 22 days after it; thresholds.hpp).
inline constexpr std::int64_t k_keep_calving_ms = 25 * k_day_ms;

alert* find_open(animal_state& s, alert_kind kind, const std::string& device = {});
const alert* find_open(const animal_state& s, alert_kind kind, const std::string& device = {});
// The newest alert of the kind (open or resolved), or null.
alert* find_latest(animal_state& s, alert_kind kind, const std::string& device = {});
const alert* find_latest(const animal_state& s, alert_kind kind, const std::string& device = {});

struct alert_fields {
  alert_severity severity = alert_severity::warning;
  std::string evidence;
  std::int32_t value = 0;
  std::int32_t reference = 0;
  std::int64_t window_from_ms = 0;
  std::int64_t window_to_ms = 0;
};

alert& raise(animal_state& s, alert_kind kind, const std::string& device, std::int64_t at_ms,
             const alert_fields& f, std::vector<alert_change>& out);
// Updates and reports the change when severity, value (by at least `min_value_step`), window or
// evidence class changed; returns whether it reported.
bool update(animal_state& s, alert& a, std::int64_t at_ms, const alert_fields& f, std::int32_t min_value_step,
            std::vector<alert_change>& out);
// Re-opens a resolved alert (a heat resuming within the merge gap): reported as updated.
void reopen(animal_state& s, alert& a, std::int64_t at_ms, std::vector<alert_change>& out);
void resolve(animal_state& s, alert& a, std::int64_t at_ms, const std::string& resolution,
             std::vector<alert_change>& out);
// Drops resolved alerts past k_keep_resolved_ms (relative to the animal's event time).
void prune(animal_state& s);

}  // namespace herd::rules::detail
