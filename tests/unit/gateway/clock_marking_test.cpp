// The gateway clock's quality in the events (envelope field, CloudEvents header, ingest), and
// backlog ages that a clock step does not falsify.
#include <doctest/doctest.h>

#include <google/protobuf/util/time_util.h>

#include <filesystem>
#include <map>

#include "../temp_path.hpp"
#include "herd/core/time_format.hpp"
#include "herd/core/uuid.hpp"
#include "herd/forwarder/cloudevents.hpp"
#include "herd/gateway/backlog_age.hpp"
#include "herd/gateway/ingest.hpp"
#include "herd/gateway/observability.hpp"

using namespace herd;
using google::protobuf::util::TimeUtil;

namespace {

const std::int64_t k_marking_now = *core::parse_iso8601_utc("2026-11-26T06:00:00Z");

struct fake_clocks {
  core::manual_clock wall{k_marking_now};
  core::manual_clock mono{5'000'000};
  core::kernel_clock_state kernel{true, true, 40'000};
  void pass(std::int64_t ms) {
    wall.advance(ms);
    mono.advance(ms);
  }
};

// A real outbox and registry; ingest with a clock monitor on hand-moved clocks.
struct ingest_rig {
  test::scratch_dir dir;
  fake_clocks c;
  core::clock_monitor monitor{c.wall, c.mono, {}, [this] { return c.kernel; }};
  std::unique_ptr<buffer::outbox> ob;
  std::unique_ptr<gateway::backlog_age> ages;
  std::unique_ptr<gateway::ingest> sink;

  ingest_rig() {
    auto o = buffer::outbox::open({dir.file("outbox.db"), buffer::sync_mode::off, &c.wall});
    REQUIRE(o.ok());
    ob = std::move(*o);
    // C-1 moved from animal A to animal B on 2026-11-20.
    auto reg = gateway::collar_registry::parse_csv(
        "collar_id,animal_id,valid_from\nC-1,276000000000001,2026-01-01\nC-1,276000000000002,2026-11-20\n", "r.csv");
    REQUIRE(reg.ok());
    ages = std::make_unique<gateway::backlog_age>(monitor.sample(), core::k_wall_floor_ms);
    sink = std::make_unique<gateway::ingest>(*ob, gateway::event_factory("gw"), monitor,
                                             std::make_shared<const gateway::collar_registry>(std::move(*reg)),
                                             nullptr, ages.get());
  }

  events::v1::EventEnvelope store(std::uint32_t seq, std::int64_t ts_ms) {
    sensors::collar_reading r;
    r.farm_id = "f";
    r.collar_id = "C-1";
    r.seq = seq;
    r.ts_ms = ts_ms;
    const sensors::raw_message raw{"farm/f/collar/C-1/telemetry", "{}", c.wall.now_ms(), false};
    REQUIRE(sink->on_reading(raw, sensors::make_reading(r)).ok());
    auto rows = ob->peek(0, 100000);
    REQUIRE(rows.ok());
    REQUIRE_FALSE(rows->empty());
    events::v1::EventEnvelope e;
    REQUIRE(e.ParseFromString(rows->back().value));
    return e;
  }
};

}  // namespace

TEST_CASE("while the gateway clock is unsynced a sensor time is not judged against it") {
  using namespace events::v1;
  const std::int64_t gateway_1970 = 86'400'000;
  // A Pi booted at 1970: the collar's correct time would look 56 years in the future.
  auto r = gateway::resolve_occurred_at(k_marking_now, gateway_1970, {}, false);
  CHECK(r.source == TIME_SOURCE_SENSOR);
  CHECK(r.ms == k_marking_now);
  r = gateway::resolve_occurred_at(k_marking_now, gateway_1970, {}, true);  // a synced clock does judge
  CHECK(r.source == TIME_SOURCE_GATEWAY_SENSOR_INVALID);
  r = gateway::resolve_occurred_at(1000, gateway_1970, {}, false);  // the floor still applies
  CHECK(r.source == TIME_SOURCE_GATEWAY_SENSOR_INVALID);
}

TEST_CASE("the envelope and its CloudEvents headers carry the gateway clock quality") {
  sensors::collar_reading rd;
  rd.collar_id = "C-9";
  const auto occ = gateway::resolve_occurred_at(k_marking_now - 250, k_marking_now);
  for (const auto& [q, header] : std::map<core::clock_quality, std::string>{
           {core::clock_quality::synced, "synced"},
           {core::clock_quality::unsynced, "unsynced"},
           {core::clock_quality::stepped, "stepped"}}) {
    const auto env = gateway::event_factory("gw-1").collar_reading_event(
        rd, {core::new_uuid_v4(), "276000000000009", occ, k_marking_now, 3, gateway::to_proto(q)});
    CHECK(env.gateway_clock_quality() == gateway::to_proto(q));
    std::map<std::string, std::string> h;
    for (const auto& [k, v] : forwarder::cloudevents_headers(env)) h[k] = v;
    CHECK(h.size() == 8);
    CHECK(h["ce_clockquality"] == header);
  }
  CHECK(gateway::to_proto(core::clock_quality::synced) == events::v1::CLOCK_QUALITY_SYNCED);
  CHECK(gateway::to_proto(core::clock_quality::unsynced) == events::v1::CLOCK_QUALITY_UNSYNCED);
  CHECK(gateway::to_proto(core::clock_quality::stepped) == events::v1::CLOCK_QUALITY_STEPPED);
}

TEST_CASE("ingest marks each stored event synced, stepped or unsynced") {
  ingest_rig rig;
  auto e = rig.store(1, k_marking_now - 1000);
  CHECK(e.gateway_clock_quality() == events::v1::CLOCK_QUALITY_SYNCED);
  CHECK(TimeUtil::TimestampToMilliseconds(e.ingested_at()) == k_marking_now);
  CHECK(e.gateway_seq() == 1);

  rig.c.pass(1000);
  rig.c.wall.advance(-3'600'000);  // the wall clock jumps an hour back
  e = rig.store(2, k_marking_now - 500);
  CHECK(e.gateway_clock_quality() == events::v1::CLOCK_QUALITY_STEPPED);
  CHECK(e.gateway_seq() == 2);  // order is the outbox's, whatever the wall clock says
  CHECK(TimeUtil::TimestampToMilliseconds(e.ingested_at()) == k_marking_now + 1000 - 3'600'000);

  rig.c.pass(61'000);
  CHECK(rig.store(3, k_marking_now).gateway_clock_quality() == events::v1::CLOCK_QUALITY_SYNCED);

  rig.c.kernel = {true, false, 16'000'000};  // NTP lost
  rig.c.pass(1000);
  e = rig.store(4, 0);  // a collar without time: the gateway's time, from an unsynced clock
  CHECK(e.gateway_clock_quality() == events::v1::CLOCK_QUALITY_UNSYNCED);
  CHECK(e.occurred_at_source() == events::v1::TIME_SOURCE_GATEWAY_NO_SENSOR_TIME);

  const auto st = rig.sink->stats();
  CHECK(st.stored == 4);
  CHECK(st.clock_stepped == 1);
  CHECK(st.clock_unsynced == 1);
}

TEST_CASE("unsynced and without sensor time, a reading belongs to the collar's current wearer") {
  ingest_rig rig;
  rig.c.kernel = {true, false, 16'000'000};
  rig.c.wall.set(86'400'000);  // booted at 1970: before any assignment in the registry
  auto e = rig.store(1, 0);
  CHECK(e.aggregate_id() == "276000000000002");  // not a dead letter "not assigned in 1970"
  CHECK(e.gateway_clock_quality() == events::v1::CLOCK_QUALITY_UNSYNCED);
  // With a sensor time the registry is asked at that time, as always.
  e = rig.store(2, *core::parse_iso8601_utc("2026-06-01"));
  CHECK(e.aggregate_id() == "276000000000001");
  CHECK(e.occurred_at_source() == events::v1::TIME_SOURCE_SENSOR);
  CHECK(rig.sink->stats().dead_lettered == 0);
}

TEST_CASE("the backlog age of an event stored by this process ignores wall clock steps") {
  ingest_rig rig;
  rig.store(1, k_marking_now);
  auto oldest = rig.ob->peek(0, 1);
  REQUIRE(oldest.ok());
  const auto first = oldest->front();
  rig.c.pass(30'000);
  auto a = rig.ages->age_of(first.seq, first.created_ms, rig.monitor.sample());
  CHECK(a.ms == 30'000);
  CHECK_FALSE(a.lower_bound);

  rig.c.wall.advance(7'200'000);  // two hours forward: a wall-clock age would say 2 h 30 s
  rig.store(2, k_marking_now);
  rig.c.pass(10'000);
  a = rig.ages->age_of(first.seq, first.created_ms, rig.monitor.sample());
  CHECK(a.ms == 40'000);

  rig.c.wall.advance(-9'000'000);  // and further back than where it started: never negative
  rig.store(3, k_marking_now);
  rig.c.pass(5'000);
  const auto s = rig.monitor.sample();
  CHECK(rig.ages->age_of(first.seq, first.created_ms, s).ms == 45'000);
  // The second event (stored in the forward epoch) is 15 s old, the third 5 s.
  auto rows = rig.ob->peek(0, 10);
  REQUIRE(rows->size() == 3);
  CHECK(rig.ages->age_of((*rows)[1].seq, (*rows)[1].created_ms, s).ms == 15'000);
  CHECK(rig.ages->age_of((*rows)[2].seq, (*rows)[2].created_ms, s).ms == 5'000);
}

TEST_CASE("an event from before this process: at least as old as the process until the clock syncs") {
  fake_clocks c;
  c.kernel = {true, false, 16'000'000};
  c.wall.set(*core::parse_iso8601_utc("2026-11-20"));  // fake-hwclock: the last shutdown time
  core::clock_monitor monitor(c.wall, c.mono, {}, [&] { return c.kernel; });
  gateway::backlog_age ages(monitor.sample(), core::k_wall_floor_ms);
  const std::int64_t stamped = k_marking_now - 600'000;  // stored 10 min before the reboot, real time
  c.pass(20'000);
  auto a = ages.age_of(7, stamped, monitor.sample());
  CHECK(a.ms == 20'000);  // the wall clock would say -6 days
  CHECK(a.lower_bound);

  // NTP syncs and steps the clock to the real time (plus the 20 s since boot).
  c.kernel = {true, true, 30'000};
  c.wall.set(k_marking_now + 20'000);
  c.pass(1'000);
  const auto s = monitor.sample();
  ages.on_sample(s);
  a = ages.age_of(7, stamped, s);
  CHECK_FALSE(a.lower_bound);
  CHECK(a.ms == 621'000);
  // A later step does not change it.
  c.wall.advance(3'600'000);
  c.pass(1'000);
  a = ages.age_of(7, stamped, monitor.sample());
  CHECK(a.ms == 622'000);
  // A stamp from a clock that was never set (before the floor) is not believed.
  a = ages.age_of(7, 86'400'000, monitor.sample());
  CHECK(a.lower_bound);
  CHECK(a.ms == 22'000);
}

TEST_CASE("metrics and health report the clock, the age is the monotonic one when known") {
  gateway::observability_snapshot s;
  s.now_ms = 10'000'000;
  s.outbox_depth = 1;
  s.mqtt_connected = true;
  s.oldest_unsent_created_ms = s.now_ms - 7'200'000;  // what a step would make of it
  s.oldest_unsent_age_ms = 12'500;
  s.clock_quality = "stepped";
  s.clock_synced = true;
  s.clock_steps = 2;
  s.clock_last_step_ms = -3'600'000;
  s.ingested_clock_stepped = 40;
  s.ingested_clock_unsynced = 3;
  const std::string text = gateway::render_prometheus(s);
  CHECK(text.find("herdgate_outbox_oldest_unsent_age_seconds 12.500\n") != std::string::npos);
  CHECK(text.find("# TYPE herdgate_clock_synced gauge\nherdgate_clock_synced 1\n") != std::string::npos);
  CHECK(text.find("# TYPE herdgate_clock_steps_total counter\nherdgate_clock_steps_total 2\n") != std::string::npos);
  CHECK(text.find("herdgate_clock_last_step_seconds -3600.000\n") != std::string::npos);
  CHECK(text.find("herdgate_ingested_clock_stepped_total 40\n") != std::string::npos);
  CHECK(text.find("herdgate_ingested_clock_unsynced_total 3\n") != std::string::npos);

  gateway::observability_options o;
  o.max_oldest_unsent = std::chrono::seconds(60);
  auto h = gateway::evaluate_health(s, o);
  CHECK(h.healthy);  // 12.5 s, not the 2 h the wall clock suggests
  CHECK(h.json.find("\"clock\":\"stepped\"") != std::string::npos);

  s.clock_synced = false;
  s.oldest_unsent_age_ms = 61'000;
  s.oldest_unsent_age_lower_bound = true;
  CHECK(gateway::render_prometheus(s).find("herdgate_clock_synced 0\n") != std::string::npos);
  h = gateway::evaluate_health(s, o);
  REQUIRE(h.reasons.size() == 1);
  CHECK(h.reasons[0].find("oldest unsent event is at least 61 s old") != std::string::npos);
}
