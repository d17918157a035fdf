#include "herd/rules/alert_events.hpp"

#include <google/protobuf/util/time_util.h>

namespace herd::rules {

namespace {
using google::protobuf::util::TimeUtil;
void set(google::protobuf::Timestamp* t, std::int64_t ms) { *t = TimeUtil::MillisecondsToTimestamp(ms); }
}  // namespace

events::v1::Alert to_proto(const alert& a, const std::string& animal_id) {
  events::v1::Alert p;
  p.set_alert_id(a.alert_id);
  p.set_animal_id(animal_id);
  p.set_kind(static_cast<events::v1::AlertKind>(static_cast<int>(a.kind)));
  p.set_severity(static_cast<events::v1::AlertSeverity>(static_cast<int>(a.severity)));
  p.set_device_id(a.device_id);
  set(p.mutable_started_at(), a.started_at_ms);
  set(p.mutable_updated_at(), a.updated_at_ms);
  if (a.resolved_at_ms) set(p.mutable_resolved_at(), a.resolved_at_ms);
  p.set_resolution(a.resolution);
  p.set_evidence(a.evidence);
  p.set_value(a.value);
  p.set_reference(a.reference);
  if (a.window_from_ms) set(p.mutable_window_from(), a.window_from_ms);
  if (a.window_to_ms) set(p.mutable_window_to(), a.window_to_ms);
  p.set_acknowledged(a.acknowledged);
  if (a.acknowledged) set(p.mutable_acknowledged_at(), a.acknowledged_at_ms);
  p.set_acknowledged_by(a.acknowledged_by);
  return p;
}

std::string event_type(alert_change_kind c) { return "alert." + std::string(to_string(c)) + ".v1"; }

events::v1::EventEnvelope alert_event(const alert_change& c) {
  events::v1::EventEnvelope e;
  const std::int64_t at = c.change == alert_change_kind::acknowledged ? c.alert.acknowledged_at_ms : c.alert.updated_at_ms;
  e.set_event_id(c.alert.alert_id + "/" + std::string(to_string(c.change)) + "/" + std::to_string(at));
  e.set_event_type(event_type(c.change));
  set(e.mutable_occurred_at(), at);
  e.set_aggregate_id(c.animal_id);
  e.mutable_actor()->set_device_kind("rules");
  e.mutable_actor()->set_device_id(std::string(to_string(c.alert.kind)));
  const auto a = to_proto(c.alert, c.animal_id);
  switch (c.change) {
    case alert_change_kind::raised: {
      events::v1::AlertRaised m;
      *m.mutable_alert() = a;
      e.mutable_payload()->PackFrom(m);
      break;
    }
    case alert_change_kind::updated: {
      events::v1::AlertUpdated m;
      *m.mutable_alert() = a;
      e.mutable_payload()->PackFrom(m);
      break;
    }
    case alert_change_kind::resolved: {
      events::v1::AlertResolved m;
      *m.mutable_alert() = a;
      e.mutable_payload()->PackFrom(m);
      break;
    }
    case alert_change_kind::acknowledged: {
      events::v1::AlertAcknowledged m;
      m.set_alert_id(c.alert.alert_id);
      m.set_animal_id(c.animal_id);
      set(m.mutable_acknowledged_at(), c.alert.acknowledged_at_ms);
      m.set_acknowledged_by(c.alert.acknowledged_by);
      *m.mutable_alert() = a;
      e.mutable_payload()->PackFrom(m);
      break;
    }
  }
  return e;
}

}  // namespace herd::rules
