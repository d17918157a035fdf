#include "herd/gateway/event_factory.hpp"

#include <google/protobuf/util/time_util.h>

#include "herd/events/v1/collar_reading.pb.h"
#include "herd/events/v1/scale_weight.pb.h"

namespace herd::gateway {

namespace {

void set_ms(google::protobuf::Timestamp* ts, std::int64_t ms) {
  *ts = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(ms);
}

// The envelope around a typed payload: the same fields for every event type (DESIGN.md, "The
// event contract").
events::v1::EventEnvelope envelope(std::string_view event_type, std::string_view device_kind,
                                   const std::string& device_id, const google::protobuf::Message& payload,
                                   const envelope_meta& meta, const std::string& gateway_id) {
  events::v1::EventEnvelope e;
  e.set_event_id(meta.event_id);
  e.set_event_type(std::string(event_type));
  set_ms(e.mutable_occurred_at(), meta.occurred.ms);
  set_ms(e.mutable_ingested_at(), meta.ingested_ms);
  e.set_aggregate_id(meta.aggregate_id);
  e.mutable_actor()->set_device_kind(std::string(device_kind));
  e.mutable_actor()->set_device_id(device_id);
  e.mutable_actor()->set_gateway_id(gateway_id);
  e.set_gateway_id(gateway_id);
  e.set_gateway_seq(meta.gateway_seq);
  e.mutable_payload()->PackFrom(payload);
  e.set_occurred_at_source(meta.occurred.source);
  e.set_gateway_clock_quality(meta.clock_quality);
  return e;
}

}  // namespace

occurred_at resolve_occurred_at(std::int64_t sensor_ts_ms, std::int64_t received_ms,
                                const time_policy& policy, bool gateway_synced) {
  if (sensor_ts_ms == 0) return {received_ms, events::v1::TIME_SOURCE_GATEWAY_NO_SENSOR_TIME};
  if (sensor_ts_ms < policy.min_valid_ms ||
      (gateway_synced && sensor_ts_ms > received_ms + policy.max_future_ms)) {
    return {received_ms, events::v1::TIME_SOURCE_GATEWAY_SENSOR_INVALID};
  }
  return {sensor_ts_ms, events::v1::TIME_SOURCE_SENSOR};
}

events::v1::ClockQuality to_proto(core::clock_quality q) {
  switch (q) {
    case core::clock_quality::synced: return events::v1::CLOCK_QUALITY_SYNCED;
    case core::clock_quality::unsynced: return events::v1::CLOCK_QUALITY_UNSYNCED;
    case core::clock_quality::stepped: return events::v1::CLOCK_QUALITY_STEPPED;
  }
  return events::v1::CLOCK_QUALITY_UNSPECIFIED;
}

events::v1::EventEnvelope event_factory::collar_reading_event(const sensors::collar_reading& r,
                                                              const envelope_meta& meta) const {
  events::v1::CollarReading p;
  p.set_farm_id(r.farm_id);
  p.set_collar_id(r.collar_id);
  p.set_collar_seq(r.seq);
  if (r.ts_ms != 0) set_ms(p.mutable_measured_at(), r.ts_ms);
  if (r.temp_c) p.set_body_temp_c(*r.temp_c);
  if (r.steps) p.set_activity_steps(*r.steps);
  if (r.rum_min) p.set_rumination_min(*r.rum_min);
  if (r.interval_s) p.set_interval_s(*r.interval_s);
  if (r.batt_pct) p.set_battery_pct(*r.batt_pct);
  if (r.rssi_dbm) p.set_rssi_dbm(*r.rssi_dbm);

  return envelope(k_collar_reading_type, "collar", r.collar_id, p, meta, gateway_id_);
}

events::v1::EventEnvelope event_factory::scale_weight_event(const sensors::scale_weighing& w,
                                                            const envelope_meta& meta) const {
  events::v1::ScaleWeight p;
  p.set_scale_id(w.scale_id);
  p.set_weighing_seq(w.weighing_seq);
  if (w.ts_ms != 0) set_ms(p.mutable_weighed_at(), w.ts_ms);
  p.set_rfid_country_code(w.country_code);
  p.set_rfid_national_id(w.national_id);
  p.set_animal_id(w.animal_id());
  p.set_weight_kg(w.weight_kg);
  p.set_stable(w.stable);

  return envelope(k_scale_weight_type, "scale", w.scale_id, p, meta, gateway_id_);
}

events::v1::EventEnvelope event_factory::event_for(const sensors::reading& r,
                                                   const envelope_meta& meta) const {
  if (const auto* w = std::get_if<sensors::scale_weighing>(&r.payload)) return scale_weight_event(*w, meta);
  return collar_reading_event(std::get<sensors::collar_reading>(r.payload), meta);
}

}  // namespace herd::gateway
