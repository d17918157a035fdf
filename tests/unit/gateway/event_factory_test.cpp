#include <doctest/doctest.h>

#include <google/protobuf/util/time_util.h>

#include <map>

#include "herd/core/time_format.hpp"
#include "herd/core/uuid.hpp"
#include "herd/events/v1/collar_reading.pb.h"
#include "herd/forwarder/cloudevents.hpp"
#include "herd/gateway/event_factory.hpp"

using namespace herd;
using google::protobuf::util::TimeUtil;

namespace {
const std::int64_t k_factory_now = *core::parse_iso8601_utc("2026-11-26T05:00:00Z");
}

TEST_CASE("occurred_at is the sensor time when sane, else the receive time, flagged") {
  using namespace events::v1;
  auto r = gateway::resolve_occurred_at(k_factory_now - 3'600'000, k_factory_now);
  CHECK(r.ms == k_factory_now - 3'600'000);
  CHECK(r.source == TIME_SOURCE_SENSOR);

  r = gateway::resolve_occurred_at(0, k_factory_now);  // collar without time sync
  CHECK(r.ms == k_factory_now);
  CHECK(r.source == TIME_SOURCE_GATEWAY_NO_SENSOR_TIME);

  r = gateway::resolve_occurred_at(k_factory_now + 10 * 60'000, k_factory_now);  // from the future
  CHECK(r.ms == k_factory_now);
  CHECK(r.source == TIME_SOURCE_GATEWAY_SENSOR_INVALID);

  r = gateway::resolve_occurred_at(86'400'000, k_factory_now);  // 1970: an RTC that reset
  CHECK(r.source == TIME_SOURCE_GATEWAY_SENSOR_INVALID);

  r = gateway::resolve_occurred_at(k_factory_now - 3LL * 86'400'000, k_factory_now);  // offline batch, 3 days old
  CHECK(r.source == TIME_SOURCE_SENSOR);
}

TEST_CASE("a collar reading becomes a complete envelope") {
  sensors::collar_reading rd;
  rd.farm_id = "farm-01";
  rd.collar_id = "C-00042";
  rd.seq = 4000000000u;
  rd.ts_ms = k_factory_now - 1000;
  rd.temp_c = 38.62;
  rd.steps = 412;
  rd.interval_s = 600;
  rd.rssi_dbm = -71;
  const std::string id = core::new_uuid_v4();
  gateway::event_factory f("gw-7");
  const auto occ = gateway::resolve_occurred_at(rd.ts_ms, k_factory_now);
  const auto env = f.collar_reading_event(rd, {id, "276000000000042", occ, k_factory_now + 5, 981});

  CHECK(env.event_id() == id);
  CHECK(env.event_type() == "collar.reading.v1");
  CHECK(TimeUtil::TimestampToMilliseconds(env.occurred_at()) == k_factory_now - 1000);
  CHECK(TimeUtil::TimestampToMilliseconds(env.ingested_at()) == k_factory_now + 5);
  CHECK(env.aggregate_id() == "276000000000042");
  CHECK(env.actor().device_kind() == "collar");
  CHECK(env.actor().device_id() == "C-00042");
  CHECK(env.actor().gateway_id() == "gw-7");
  CHECK(env.gateway_id() == "gw-7");
  CHECK(env.gateway_seq() == 981);
  CHECK(env.occurred_at_source() == events::v1::TIME_SOURCE_SENSOR);

  events::v1::CollarReading p;
  REQUIRE(env.payload().Is<events::v1::CollarReading>());
  REQUIRE(env.payload().UnpackTo(&p));
  CHECK(env.payload().type_url() == "type.googleapis.com/herd.events.v1.CollarReading");
  CHECK(p.farm_id() == "farm-01");
  CHECK(p.collar_id() == "C-00042");
  CHECK(p.collar_seq() == 4000000000u);
  CHECK(TimeUtil::TimestampToMilliseconds(p.measured_at()) == k_factory_now - 1000);
  CHECK(p.body_temp_c() == doctest::Approx(38.62));
  CHECK(p.activity_steps() == 412);
  CHECK(p.interval_s() == 600);
  CHECK(p.rssi_dbm() == -71);
  CHECK_FALSE(p.has_rumination_min());  // absent stays absent, not 0
  CHECK_FALSE(p.has_battery_pct());
}

TEST_CASE("a collar without time has no measured_at and a flagged occurred_at") {
  sensors::collar_reading rd;
  rd.collar_id = "C-1";
  const auto occ = gateway::resolve_occurred_at(0, k_factory_now);
  const auto env = gateway::event_factory("gw").collar_reading_event(rd, {core::new_uuid_v4(), "A", occ, k_factory_now, 1});
  events::v1::CollarReading p;
  REQUIRE(env.payload().UnpackTo(&p));
  CHECK_FALSE(p.has_measured_at());
  CHECK(env.occurred_at_source() == events::v1::TIME_SOURCE_GATEWAY_NO_SENSOR_TIME);
}

TEST_CASE("CloudEvents headers mirror the envelope") {
  sensors::collar_reading rd;
  rd.collar_id = "C-9";
  const auto occ = gateway::resolve_occurred_at(k_factory_now - 250, k_factory_now);
  const auto env = gateway::event_factory("gw-1").collar_reading_event(rd, {core::new_uuid_v4(), "276000000000009", occ, k_factory_now, 3});
  std::map<std::string, std::string> h;
  for (const auto& [k, v] : forwarder::cloudevents_headers(env)) h[k] = v;
  CHECK(h.size() == 7);
  CHECK(h["ce_specversion"] == "1.0");
  CHECK(h["ce_id"] == env.event_id());
  CHECK(h["ce_type"] == "collar.reading.v1");
  CHECK(h["ce_source"] == "/herdgate/gw-1/collar/C-9");
  CHECK(h["ce_time"] == "2026-11-26T04:59:59.750Z");
  CHECK(h["ce_subject"] == "276000000000009");
  CHECK(h["content-type"] == "application/x-protobuf");
}
