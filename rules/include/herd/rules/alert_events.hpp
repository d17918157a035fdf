#pragma once
// Alert lifecycle changes as herd.alerts events (proto/herd/events/v1/alert.proto).
#include <string>

#include "herd/events/v1/alert.pb.h"
#include "herd/events/v1/envelope.pb.h"
#include "herd/rules/alert.hpp"

namespace herd::rules {

events::v1::Alert to_proto(const alert& a, const std::string& animal_id);

// "alert.raised.v1", "alert.updated.v1", "alert.resolved.v1", "alert.acknowledged.v1".
std::string event_type(alert_change_kind c);

// The herd.alerts envelope of one change: event_type as above, aggregate_id the animal,
// occurred_at the change's event time (updated_at, or acknowledged_at), payload the matching
// message. event_id is deterministic: "<alert_id>/<change>/<occurred_at ms>", so a rebuild that
// reproduces a change reproduces its id (an idempotent relay can drop what it already sent).
// actor.device_kind "rules"; ingested_at, gateway fields are left to the caller.
events::v1::EventEnvelope alert_event(const alert_change& c);

}  // namespace herd::rules
