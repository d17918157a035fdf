#include "envelopes.hpp"

#include <map>

#include "herd/events/v1/collar_reading.pb.h"
#include "herd/events/v1/envelope.pb.h"

namespace herd::test_envelopes {
namespace {

void stamp(google::protobuf::Timestamp* t, std::int64_t ms) {
  t->set_seconds(ms / 1000);
  t->set_nanos(static_cast<std::int32_t>(ms % 1000) * 1'000'000);
}

}  // namespace

std::string collar_envelope(const reading& r) {
  events::v1::CollarReading c;
  c.set_farm_id("farm-1");
  c.set_collar_id(r.collar);
  c.set_collar_seq(r.seq);
  stamp(c.mutable_measured_at(), r.occurred_ms);
  c.set_body_temp_c(r.temp_c);
  c.set_activity_steps(r.steps);
  c.set_rumination_min(r.rum_min);
  c.set_interval_s(600);
  c.set_battery_pct(r.battery);
  c.set_rssi_dbm(-70);
  events::v1::EventEnvelope e;
  e.set_event_id(r.event_id);
  e.set_event_type("collar.reading.v1");
  stamp(e.mutable_occurred_at(), r.occurred_ms);
  stamp(e.mutable_ingested_at(), r.ingested_ms != 0 ? r.ingested_ms : r.occurred_ms + 1500);
  e.set_aggregate_id(r.animal);
  e.mutable_actor()->set_device_kind("collar");
  e.mutable_actor()->set_device_id(r.collar);
  e.mutable_actor()->set_gateway_id("gw-1");
  e.set_gateway_id("gw-1");
  e.set_gateway_seq(r.seq);
  e.mutable_payload()->PackFrom(c);
  e.set_occurred_at_source(events::v1::TIME_SOURCE_SENSOR);
  return e.SerializeAsString();
}

std::string unknown_type_envelope(const std::string& event_id, const std::string& animal, std::int64_t occurred_ms) {
  events::v1::EventEnvelope e;
  e.set_event_id(event_id);
  e.set_event_type("collar.mood.v7");
  stamp(e.mutable_occurred_at(), occurred_ms);
  e.set_aggregate_id(animal);
  e.set_gateway_id("gw-1");
  e.mutable_payload()->set_type_url("type.googleapis.com/herd.events.v7.Mood");
  e.mutable_payload()->set_value("\x08\x01");
  return e.SerializeAsString();
}

herd_stream make_stream(int animals, int per_animal, int partitions, std::int64_t start_ms) {
  herd_stream s;
  std::map<int, std::int64_t> next_offset;
  for (int n = 0; n < per_animal; ++n) {
    for (int a = 0; a < animals; ++a) {
      reading r;
      r.animal = "DE0" + std::to_string(1000 + a);
      r.collar = "C" + std::to_string(100 + a);
      r.seq = static_cast<std::uint32_t>(n + 1);
      r.event_id = "ev-" + r.animal + "-" + std::to_string(n);
      r.occurred_ms = start_ms + std::int64_t{n} * 600'000 + a * 1000;
      r.temp_c = 38.4 + 0.01 * ((n * 7 + a * 3) % 40);
      r.steps = static_cast<std::uint32_t>(50 + (n * 13 + a) % 300);
      r.rum_min = 2.0 + ((n + a) % 6);
      r.battery = static_cast<std::uint32_t>(100 - n / 50);
      const int p = a % partitions;
      s.records.push_back({"herd.events", p, next_offset[p]++, r.animal, collar_envelope(r)});
    }
  }
  return s;
}

}  // namespace herd::test_envelopes
