// cloudevents_builder: the forwarder's per-event headers, built from the outbox row's bytes with
// memory reused from one event to the next; they must stay what cloudevents_headers gives.
#include <doctest/doctest.h>

#include <string>

#include "herd/events/v1/envelope.pb.h"
#include "herd/forwarder/cloudevents.hpp"

namespace ev = herd::events::v1;
using herd::forwarder::cloudevents_builder;
using herd::forwarder::cloudevents_headers;

namespace {

ev::EventEnvelope envelope(const std::string& id, const std::string& animal, std::int64_t ms,
                           ev::ClockQuality quality, std::size_t payload_bytes) {
  ev::EventEnvelope e;
  e.set_event_id(id);
  e.set_event_type("collar.reading.v1");
  e.set_aggregate_id(animal);
  e.set_gateway_id("gw-north-barn");
  e.mutable_actor()->set_device_kind("collar");
  e.mutable_actor()->set_device_id("C-" + animal);
  e.mutable_occurred_at()->set_seconds(ms / 1000);
  e.mutable_occurred_at()->set_nanos(static_cast<std::int32_t>(ms % 1000) * 1000000);
  e.set_gateway_clock_quality(quality);
  e.mutable_payload()->set_type_url("type.googleapis.com/herd.events.v1.CollarReading");
  e.mutable_payload()->set_value(std::string(payload_bytes, 'x'));
  return e;
}

}  // namespace

TEST_CASE("cloudevents_builder gives each envelope's own headers, one event after another") {
  cloudevents_builder b;
  // With a clock quality (8 headers), then without (7), then a payload beyond the arena's first
  // block (4 KiB), then a small one again: each call's headers are exactly that envelope's.
  const ev::EventEnvelope events[] = {
      envelope("0f8fad5b-d9cb-469f-a165-70867728950e", "276000000000001", 1795668000123, ev::CLOCK_QUALITY_SYNCED, 60),
      envelope("7c9e6679-7425-40de-944b-e07fc1f90ae7", "276000000000002", 1795668000456, ev::CLOCK_QUALITY_UNSPECIFIED, 60),
      envelope("16fd2706-8baf-433b-82eb-8c7fada847da", "276000000000003", 1795668001000, ev::CLOCK_QUALITY_STEPPED, 20000),
      envelope("886313e1-3b8a-4372-9b90-0c9aee199e5d", "4", 1795668002999, ev::CLOCK_QUALITY_UNSYNCED, 10),
  };
  for (const auto& e : events) {
    const auto* h = b.build(e.SerializeAsString());
    REQUIRE(h != nullptr);
    CHECK(*h == cloudevents_headers(e));
  }
  // After a full envelope, one without actor, time or gateway: nothing of the previous one stays.
  ev::EventEnvelope bare;
  bare.set_event_id("5f2b3c1d-0000-4000-8000-000000000000");
  const auto* h = b.build(bare.SerializeAsString());
  REQUIRE(h != nullptr);
  CHECK(*h == cloudevents_headers(bare));
  CHECK((*h)[3].second == "/herdgate///");
  CHECK((*h)[4].second == "1970-01-01T00:00:00.000Z");
  // What cloudevents_headers itself gives for the first (so the comparison above is not of two
  // empty lists).
  const auto first = cloudevents_headers(events[0]);
  REQUIRE(first.size() == 8);
  CHECK(first[1].second == "0f8fad5b-d9cb-469f-a165-70867728950e");
  CHECK(first[3].second == "/herdgate/gw-north-barn/collar/C-276000000000001");
  CHECK(first[4].second == "2026-11-26T04:40:00.123Z");
  CHECK(first[7] == std::pair<std::string, std::string>{"ce_clockquality", "synced"});
}

TEST_CASE("cloudevents_builder refuses bytes that are not an envelope and goes on after them") {
  cloudevents_builder b;
  CHECK(b.build(std::string("\xff\xff\xff\xff garbage", 13)) == nullptr);
  const auto e = envelope("0f8fad5b-d9cb-469f-a165-70867728950e", "276000000000001", 1795668000123,
                          ev::CLOCK_QUALITY_SYNCED, 60);
  const auto* h = b.build(e.SerializeAsString());
  REQUIRE(h != nullptr);
  CHECK(*h == cloudevents_headers(e));
}
