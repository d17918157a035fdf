#include <doctest/doctest.h>

#include "envelope_builder.hpp"
#include "herd/rules/animal_state.hpp"
#include "herd/rules/fold.hpp"

using namespace herd::rules;
using namespace herd::rules::test;

namespace {

animal_state populated() {
  animal_state s;
  for (std::uint32_t i = 0; i < 60; ++i) {
    reading_spec r;
    r.seq = i;
    r.at_ms = k_t0 + i * 10 * k_min;
    r.interval_s = 600;
    r.rum_min = 3.5;
    r.temp_c = (i % 9 == 4) ? 36.1 : 38.5 + (i % 3) * 0.05;
    r.collar = i % 2 ? "C-00001" : "B-00009";
    REQUIRE(apply(s, reading_event(r)).status == apply_status::applied);
  }
  alert a;
  a.alert_id = "276000000000001:fever:20260601T020000Z";
  a.kind = alert_kind::fever;
  a.severity = alert_severity::critical;
  a.started_at_ms = k_t0 + 2 * k_hour;
  a.updated_at_ms = k_t0 + 3 * k_hour;
  a.evidence = "40.1 °C";
  a.value = 4010;
  a.acknowledged = true;
  a.acknowledged_at_ms = k_t0 + 4 * k_hour;
  a.acknowledged_by = "vet";
  s.alerts.push_back(a);
  return s;
}

}  // namespace

TEST_CASE("rules codec: a default state and a populated state round-trip exactly") {
  for (const animal_state& s : {animal_state{}, populated()}) {
    const std::string bytes = encode(s);
    auto back = decode(bytes);
    REQUIRE(back.ok());
    CHECK(*back == s);
    CHECK(encode(*back) == bytes);
  }
}

TEST_CASE("rules codec: equal states give equal bytes, different states different bytes") {
  const animal_state a = populated(), b = populated();
  CHECK(encode(a) == encode(b));
  animal_state c = b;
  c.collars.back().battery_pct -= 1;
  CHECK(encode(c) != encode(a));
}

TEST_CASE("rules codec: truncated, corrupt, foreign or trailing bytes are permanent errors") {
  const std::string bytes = encode(populated());
  for (std::size_t n = 0; n < bytes.size(); n += 7) {
    auto r = decode(std::string_view(bytes).substr(0, n));
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().kind == herd::core::error_kind::permanent);
  }
  CHECK_FALSE(decode(bytes + "x").ok());
  CHECK_FALSE(decode("not a state at all").ok());
  std::string future = bytes;
  future[3] = 9;  // version
  auto r = decode(future);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("version") != std::string::npos);
}

TEST_CASE("rules codec: a populated state stays small (bounded windows)") {
  animal_state s;
  // 20 days of a bolus every 10 minutes.
  for (std::uint32_t i = 0; i < 20 * 144; ++i) {
    reading_spec r;
    r.seq = i;
    r.at_ms = k_t0 + i * 10 * k_min;
    r.interval_s = 600;
    r.rum_min = 3.0;
    r.steps = 20;
    r.temp_c = 38.5;
    REQUIRE(apply(s, reading_event(r)).status == apply_status::applied);
  }
  CHECK(s.hours.size() <= static_cast<std::size_t>(k_hour_window));
  CHECK(s.days.size() <= static_cast<std::size_t>(k_day_window));
  CHECK(s.temps.size() <= 26 * 6 + 1);
  const auto bytes = encode(s);
  MESSAGE("encoded state after 20 days of a bolus: " << bytes.size() << " bytes");
  CHECK(bytes.size() < 8'000);
}
