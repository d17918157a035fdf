#pragma once
// Turns decoded readings into event envelopes (herd.events.v1). Their Kafka headers: herd/forwarder/cloudevents.hpp.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "herd/core/clock_monitor.hpp"
#include "herd/core/time_format.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/sensors/reading.hpp"

namespace herd::gateway {

inline constexpr const char* k_collar_reading_type = "collar.reading.v1";
inline constexpr const char* k_scale_weight_type = "scale.weight.v1";

// When is a device's own timestamp believable?
struct time_policy {
  std::int64_t max_future_ms = core::k_max_clock_lead_ms;  // ahead of the gateway clock by more: invalid
  std::int64_t min_valid_ms = core::k_min_event_time_ms;   // before 2020-01-01T00:00:00Z: invalid
};

struct occurred_at {
  std::int64_t ms = 0;  // ms since epoch, UTC
  events::v1::TimeSource source = events::v1::TIME_SOURCE_UNSPECIFIED;
};

// The sensor time if sane, else the gateway's receive time, flagged (DESIGN.md, event contract).
// While the gateway clock is not synchronized (`gateway_synced` false) it is no yardstick: a sensor
// time is then only checked against the floor, not against the gateway clock (a Pi that booted
// at its last shutdown time would otherwise take every collar's correct time for the future).
occurred_at resolve_occurred_at(std::int64_t sensor_ts_ms, std::int64_t received_ms,
                                const time_policy& policy = {}, bool gateway_synced = true);

events::v1::ClockQuality to_proto(core::clock_quality q);

struct envelope_meta {
  std::string event_id;        // UUIDv4 minted at ingest
  std::string aggregate_id;    // the animal
  occurred_at occurred;
  std::int64_t ingested_ms = 0;
  std::uint64_t gateway_seq = 0;
  events::v1::ClockQuality clock_quality = events::v1::CLOCK_QUALITY_UNSPECIFIED;
};

class event_factory {
 public:
  explicit event_factory(std::string gateway_id) : gateway_id_(std::move(gateway_id)) {}
  const std::string& gateway_id() const { return gateway_id_; }

  events::v1::EventEnvelope collar_reading_event(const sensors::collar_reading& r,
                                                 const envelope_meta& meta) const;
  // actor: device_kind "scale", device_id the scale's device name.
  events::v1::EventEnvelope scale_weight_event(const sensors::scale_weighing& w,
                                               const envelope_meta& meta) const;
  // Whichever of the above the reading's payload calls for.
  events::v1::EventEnvelope event_for(const sensors::reading& r, const envelope_meta& meta) const;

 private:
  std::string gateway_id_;
};

}  // namespace herd::gateway
