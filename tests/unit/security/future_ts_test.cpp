// Issue 14, case 8: a reading stamped implausibly far in the future must not claim the dedup key
// of the real reading that will carry that stamp.
#include <doctest/doctest.h>

#include "../temp_path.hpp"
#include "herd/core/time_format.hpp"
#include "herd/gateway/ingest.hpp"

using namespace herd;

TEST_CASE("a future-stamped reading cannot make the real one be dropped as a duplicate later") {
  test::scratch_dir dir;
  const std::int64_t now = *core::parse_iso8601_utc("2026-11-26T06:00:00Z");
  core::manual_clock wall{now};
  core::manual_clock mono{5'000'000};
  core::kernel_clock_state kernel{true, true, 40'000};  // synchronized
  core::clock_monitor monitor{wall, mono, {}, [&] { return kernel; }};
  auto ob = buffer::outbox::open({dir.file("outbox.db"), buffer::sync_mode::off, &wall});
  REQUIRE(ob.ok());
  auto reg = gateway::collar_registry::parse_csv("collar_id,animal_id,valid_from\nC-1,cow-1,2026-01-01\n", "r.csv");
  REQUIRE(reg.ok());
  gateway::ingest sink(**ob, gateway::event_factory("gw"), monitor,
                       std::make_shared<const gateway::collar_registry>(std::move(*reg)), nullptr);
  const auto publish = [&](std::uint32_t seq, std::int64_t ts, bool dup) {
    sensors::collar_reading r;
    r.farm_id = "f";
    r.collar_id = "C-1";
    r.seq = seq;
    r.ts_ms = ts;
    const sensors::raw_message raw{"farm/f/collar/C-1/telemetry", "{}", wall.now_ms(), dup};
    REQUIRE(sink.on_reading(raw, sensors::make_reading(r)).ok());
  };
  const std::int64_t later = now + 3600'000;  // the collar's real reading one hour from now
  publish(42, later, false);                   // an attacker's forgery, stamped an hour ahead
  CHECK(sink.stats().stored == 1);
  wall.advance(3600'000);
  mono.advance(3600'000);
  publish(42, later, false);  // the real reading arrives: it must be stored, not dropped
  CHECK(sink.stats().duplicates == 0);
  CHECK(sink.stats().stored == 2);
  publish(42, later, true);  // its own redelivery still is a duplicate (its ts is plausible now)
  CHECK(sink.stats().duplicates == 1);
  CHECK(sink.stats().stored == 2);
}
