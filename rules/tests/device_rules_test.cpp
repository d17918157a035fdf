#include <doctest/doctest.h>

#include <google/protobuf/util/time_util.h>

#include <limits>

#include "herd/rules/alert_events.hpp"
#include "herd/rules/thresholds.hpp"
#include "rule_fixture.hpp"

using namespace herd::rules;
using namespace herd::rules::test;

TEST_CASE("device offline: raised after 2 missed intervals by advance(), cleared by the next reading") {
  animal_sim a;
  a.hours(3, normal_hour);
  const std::int64_t last = a.t;
  CHECK(advance(a.state, last + 2 * k_hour).empty());  // two intervals: not yet (2.1 x)
  auto c = advance(a.state, last + 2 * k_hour + 7 * k_min);
  REQUIRE(count(c, alert_kind::device_offline, alert_change_kind::raised) == 1);
  CHECK(c[0].alert.device_id == "C-00001");
  CHECK(c[0].alert.started_at_ms <= last + 3 * k_hour);  // within 3 expected intervals
  CHECK(advance(a.state, last + 5 * k_hour).empty());  // one alert per gap
  // The batch upload after the gap: its first (old) reading clears it.
  reading_spec r;
  r.seq = 99;
  r.at_ms = last + k_hour;
  const auto res = apply(a.state, reading_event(r));
  REQUIRE(count(res.alert_changes, alert_kind::device_offline, alert_change_kind::resolved) == 1);
}

TEST_CASE("device offline: a collar replaced by another is not offline") {
  animal_sim a;
  a.hours(3, normal_hour);
  a.collar = "C-00002";
  a.hours(1, normal_hour);
  CHECK(count(advance(a.state, a.t + 10 * k_min), alert_kind::device_offline, alert_change_kind::raised) == 0);
  CHECK(count(advance(a.state, a.t + 3 * k_hour), alert_kind::device_offline, alert_change_kind::raised) == 1);
  CHECK(a.state.alerts.back().device_id == "C-00002");
}

TEST_CASE("collar fallen off: lifeless readings raise it, stay out of the windows, a live one clears it") {
  animal_sim a;
  a.normal_days(1);
  const auto hours_before = a.state.hours.back().hour;
  const auto dead = [](int, int) { return hour_values{26.0, 0, 0.0}; };
  CHECK(a.hour(dead).empty());  // one reading is not enough
  auto c = a.hour(dead);
  REQUIRE(count(c, alert_kind::collar_fallen_off, alert_change_kind::raised) == 1);
  CHECK(a.state.hours.back().hour == hours_before);  // nothing of the bedding in the windows
  c = a.hour(normal_hour);
  CHECK(count(c, alert_kind::collar_fallen_off, alert_change_kind::resolved) == 1);
}

TEST_CASE("low battery: at 20 % raised once, cleared when the battery is changed") {
  animal_sim a;
  reading_spec r;
  r.batt_pct = 21;
  CHECK(apply(a.state, reading_event(r)).alert_changes.empty());
  r.seq = 2;
  r.at_ms += k_hour;
  r.batt_pct = thresholds::low_battery_pct;
  CHECK(count(apply(a.state, reading_event(r)).alert_changes, alert_kind::low_battery, alert_change_kind::raised) == 1);
  r.seq = 3;
  r.at_ms += k_hour;
  r.batt_pct = 19;
  CHECK(apply(a.state, reading_event(r)).alert_changes.empty());
  r.seq = 4;
  r.at_ms += k_hour;
  r.batt_pct = 100;
  CHECK(count(apply(a.state, reading_event(r)).alert_changes, alert_kind::low_battery, alert_change_kind::resolved) == 1);
}

TEST_CASE("alert ids are reproducible and acknowledgements are events that survive a rebuild") {
  const auto run = [] {
    animal_sim a;
    a.normal_days(8);
    a.hours(3, [](int h, int d) {
      auto v = normal_hour(h, d);
      v.temp_c += 1.2;
      return v;
    });
    return a;
  };
  animal_sim a = run(), b = run();
  REQUIRE_FALSE(a.changes.empty());
  CHECK(a.changes == b.changes);
  CHECK(encode(a.state) == encode(b.state));
  const alert fever = a.changes.front().alert;

  herd::events::v1::AlertAcknowledged ack;
  ack.set_alert_id(fever.alert_id);
  ack.set_animal_id("276000000000001");
  ack.set_acknowledged_by("dr. vet");
  *ack.mutable_acknowledged_at() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(a.t + k_hour);
  herd::events::v1::EventEnvelope e;
  e.set_event_id("ack-1");
  e.set_event_type("alert.acknowledged.v1");
  e.set_aggregate_id("276000000000001");
  *e.mutable_occurred_at() = ack.acknowledged_at();
  e.mutable_payload()->PackFrom(ack);
  {
    auto bad = ack;  // acknowledged_at outside protobuf's Timestamp range: refused, nothing changes
    bad.mutable_acknowledged_at()->set_seconds(std::numeric_limits<std::int64_t>::max());
    auto be = e;
    be.mutable_payload()->PackFrom(bad);
    const auto rb = apply(a.state, be);
    CHECK(rb.status == apply_status::rejected);
    CHECK_MESSAGE(rb.reason.find("not a valid Timestamp") != std::string::npos, rb.reason);
    CHECK(encode(a.state) == encode(b.state));
  }
  auto r = apply(a.state, e);
  REQUIRE(r.status == apply_status::applied);
  REQUIRE(r.alert_changes.size() == 1);
  CHECK(r.alert_changes[0].change == alert_change_kind::acknowledged);
  CHECK(r.alert_changes[0].alert.acknowledged_by == "dr. vet");
  CHECK(apply(a.state, e).alert_changes.empty());  // a second acknowledgement changes nothing
  // The rebuild replays the same events, the acknowledgement among them.
  CHECK(apply(b.state, e).alert_changes.size() == 1);
  CHECK(encode(a.state) == encode(b.state));
  auto back = decode(encode(a.state));
  REQUIRE(back.ok());
  CHECK(back->alerts.front().acknowledged);

  const auto ev = alert_event(r.alert_changes[0]);
  CHECK(ev.event_type() == "alert.acknowledged.v1");
  CHECK(ev.aggregate_id() == "276000000000001");
  CHECK(ev.event_id() == alert_event(r.alert_changes[0]).event_id());
  const auto raised = alert_event(a.changes.front());
  CHECK(raised.event_type() == "alert.raised.v1");
  herd::events::v1::AlertRaised m;
  REQUIRE(raised.payload().UnpackTo(&m));
  CHECK(m.alert().alert_id() == fever.alert_id);
  CHECK(m.alert().kind() == herd::events::v1::ALERT_KIND_FEVER);

  e.mutable_payload()->set_type_url("type.googleapis.com/herd.events.v1.Nothing");
  CHECK(apply(a.state, e).status == apply_status::rejected);
}
