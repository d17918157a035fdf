#include "engine.hpp"

#include <google/protobuf/util/time_util.h>

#include "device_rules.hpp"
#include "health_rules.hpp"
#include "herd/events/v1/alert.pb.h"
#include "herd/rules/fold.hpp"
#include "lifecycle.hpp"

namespace herd::rules::detail {

void run_reading_rules(animal_state& s, const reading& r, std::uint8_t, std::vector<alert_change>& out) {
  device_rules_on_reading(s, r, out);
  if (!is_lifeless(r)) {
    const std::int64_t now = s.newest_ms;
    // Rules read the windows as of the animal's newest reading; a late reading changes the
    // windows it falls in, and the rules look again at the present.
    fever_rule(s, now, out);
    calving_rule(s, now, out);
    estrus_rule(s, now, out);
    rumination_rule(s, now, out);
    lameness_rule(s, now, out);
    health_timeouts(s, now, out);
  }
  prune(s);
}

void run_time_rules(animal_state& s, std::int64_t now_ms, std::vector<alert_change>& out) {
  if (s.animal_id.empty()) return;
  offline_rule(s, now_ms, out);
  health_timeouts(s, now_ms, out);
  prune(s);
}

core::result<std::vector<alert_change>> apply_acknowledgement(animal_state& s, const events::v1::EventEnvelope& e) {
  events::v1::AlertAcknowledged ack;
  if (!e.has_payload() || !e.payload().Is<events::v1::AlertAcknowledged>() || !e.payload().UnpackTo(&ack)) {
    return core::error::permanent("alert.acknowledged.v1 payload is not a herd.events.v1.AlertAcknowledged");
  }
  if (ack.alert_id().empty()) return core::error::permanent("alert.acknowledged.v1 without alert_id");
  if (ack.has_acknowledged_at() ? !valid_timestamp(ack.acknowledged_at()) : !valid_timestamp(e.occurred_at())) {
    return core::error::permanent("alert.acknowledged.v1: acknowledged_at (or occurred_at) is not a valid Timestamp");
  }
  std::vector<alert_change> out;
  for (auto& a : s.alerts) {
    if (a.alert_id != ack.alert_id()) continue;
    if (a.acknowledged) return out;  // a second acknowledgement changes nothing
    a.acknowledged = true;
    a.acknowledged_at_ms = ack.has_acknowledged_at()
                               ? google::protobuf::util::TimeUtil::TimestampToMilliseconds(ack.acknowledged_at())
                               : google::protobuf::util::TimeUtil::TimestampToMilliseconds(e.occurred_at());
    a.acknowledged_by = ack.acknowledged_by();
    out.push_back({alert_change_kind::acknowledged, s.animal_id, a});
    return out;
  }
  // The alert is no longer in the state (pruned long after it was resolved) or unknown: the
  // read model keeps the acknowledgement in its history; the state has nothing to change.
  return out;
}

}  // namespace herd::rules::detail
