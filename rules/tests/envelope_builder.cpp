#include "envelope_builder.hpp"

#include <google/protobuf/util/time_util.h>

#include "herd/events/v1/collar_reading.pb.h"

namespace herd::rules::test {

events::v1::EventEnvelope reading_event(const reading_spec& r) {
  using google::protobuf::util::TimeUtil;
  events::v1::CollarReading p;
  p.set_farm_id("farm-01");
  p.set_collar_id(r.collar);
  p.set_collar_seq(r.seq);
  *p.mutable_measured_at() = TimeUtil::MillisecondsToTimestamp(r.at_ms);
  if (r.temp_c) p.set_body_temp_c(*r.temp_c);
  if (r.steps) p.set_activity_steps(*r.steps);
  if (r.rum_min) p.set_rumination_min(*r.rum_min);
  if (r.interval_s) p.set_interval_s(*r.interval_s);
  if (r.batt_pct) p.set_battery_pct(*r.batt_pct);
  if (r.rssi_dbm) p.set_rssi_dbm(*r.rssi_dbm);
  events::v1::EventEnvelope e;
  e.set_event_id("ev-" + r.collar + "-" + std::to_string(r.seq));
  e.set_event_type("collar.reading.v1");
  *e.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(r.at_ms);
  *e.mutable_ingested_at() = TimeUtil::MillisecondsToTimestamp(r.at_ms + 1000);
  e.set_aggregate_id(r.animal);
  e.mutable_actor()->set_device_kind("collar");
  e.mutable_actor()->set_device_id(r.collar);
  e.set_gateway_id("gw-1");
  e.set_gateway_seq(r.seq);
  e.mutable_payload()->PackFrom(p);
  e.set_occurred_at_source(events::v1::TIME_SOURCE_SENSOR);
  return e;
}

}  // namespace herd::rules::test
