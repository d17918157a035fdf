#include <doctest/doctest.h>

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "envelope_builder.hpp"
#include "herd/events/v1/collar_reading.pb.h"
#include "herd/rules/fold.hpp"
#include "herd/rules/windows.hpp"

using namespace herd::rules;
using namespace herd::rules::test;

TEST_CASE("fold: an unknown event type is reported and leaves the state unchanged") {
  animal_state s;
  REQUIRE(apply(s, reading_event({})).status == apply_status::applied);
  const animal_state before = s;
  auto e = reading_event({});
  e.set_event_type("scale.weight.v1");
  const auto r = apply(s, e);
  CHECK(r.status == apply_status::unknown_type);
  CHECK(r.reason == "scale.weight.v1");
  CHECK(s == before);
}

TEST_CASE("fold: payloads that cannot be decoded or hold absurd values are rejected with a reason") {
  animal_state s;
  REQUIRE(apply(s, reading_event({})).status == apply_status::applied);
  const animal_state before = s;
  const auto rejected = [&](const herd::events::v1::EventEnvelope& e, const char* what) {
    const auto r = apply(s, e);
    CHECK(r.status == apply_status::rejected);
    CHECK_MESSAGE(r.reason.find(what) != std::string::npos, r.reason);
    CHECK(s == before);
  };
  {
    auto e = reading_event({});
    e.mutable_payload()->set_value("\xff\xff\xff garbage");
    rejected(e, "parse");
  }
  {
    auto e = reading_event({});
    e.mutable_payload()->set_type_url("type.googleapis.com/herd.events.v1.Other");
    rejected(e, "not a herd.events.v1.CollarReading");
  }
  {
    auto e = reading_event({});
    e.clear_occurred_at();
    rejected(e, "occurred_at");
  }
  {
    reading_spec r;
    r.at_ms = 1'000;
    rejected(reading_event(r), "2020");
  }
  {
    reading_spec r;
    r.temp_c = 47.0;
    rejected(reading_event(r), "body_temp_c");
  }
  {
    reading_spec r;
    r.temp_c = std::numeric_limits<double>::quiet_NaN();
    rejected(reading_event(r), "body_temp_c");
  }
  {
    reading_spec r;
    r.rum_min = 61.0;
    rejected(reading_event(r), "rumination_min");
  }
  {
    reading_spec r;
    r.interval_s.reset();
    rejected(reading_event(r), "rumination_min without interval_s");
  }
  {
    reading_spec r;
    r.steps = 100'001;
    rejected(reading_event(r), "activity_steps");
  }
  {
    reading_spec r;
    r.batt_pct = 101;
    rejected(reading_event(r), "battery_pct");
  }
  {
    reading_spec r;
    r.rssi_dbm = 5;
    rejected(reading_event(r), "rssi_dbm");
  }
  {
    reading_spec r;
    r.animal = "";
    rejected(reading_event(r), "aggregate_id");
  }
  {
    reading_spec r;
    r.animal = "276000000000999";
    rejected(reading_event(r), "applied to the state of");
  }
}

TEST_CASE("fold: latest value per signal and the collar's counters follow the newest occurred_at") {
  animal_state s;
  reading_spec a;
  a.seq = 10;
  a.at_ms = k_t0 + 2 * k_hour;
  a.temp_c = 38.71;
  a.batt_pct = 80;
  a.rssi_dbm = -75;
  REQUIRE(apply(s, reading_event(a)).status == apply_status::applied);
  reading_spec late = a;  // an older reading arriving later (a batch upload)
  late.seq = 9;
  late.at_ms = k_t0 + 1 * k_hour;
  late.temp_c = 38.20;
  late.batt_pct = 81;
  REQUIRE(apply(s, reading_event(late)).status == apply_status::applied);
  reading_spec other = a;  // no temperature in this one
  other.seq = 11;
  other.at_ms = k_t0 + 3 * k_hour;
  other.temp_c.reset();
  other.rssi_dbm = -66;
  REQUIRE(apply(s, reading_event(other)).status == apply_status::applied);

  CHECK(s.animal_id == "276000000000001");
  CHECK(s.newest_ms == k_t0 + 3 * k_hour);
  CHECK(s.events == 3);
  CHECK(s.latest.temp_centi_c == latest_value{k_t0 + 2 * k_hour, 3871});
  CHECK(s.latest.rssi_dbm == latest_value{k_t0 + 3 * k_hour, -66});
  REQUIRE(s.collars.size() == 1);
  const auto& c = s.collars[0];
  CHECK(c.collar_id == "C-00001");
  CHECK(c.last_seq == 11);
  CHECK(c.battery_pct == 80);
  CHECK(c.rssi_dbm == -66);
  CHECK(c.first_seen_ms == k_t0 + 1 * k_hour);
  CHECK(c.last_seen_ms == k_t0 + 3 * k_hour);
  CHECK(c.interval_s == 3600);
  CHECK(c.readings == 3);
}

TEST_CASE("fold: a reading's interval is split over the hours it covers, totals exact") {
  animal_state s;
  reading_spec r;
  r.at_ms = k_t0 + 10 * k_hour + 20 * k_min;  // covers 09:20-10:20
  r.steps = 301;
  r.rum_min = 30.0;
  REQUIRE(apply(s, reading_event(r)).status == apply_status::applied);
  const auto* h9 = find_hour(s, hour_of(k_t0) + 9);
  const auto* h10 = find_hour(s, hour_of(k_t0) + 10);
  REQUIRE(h9);
  REQUIRE(h10);
  CHECK(h9->covered_s == 40 * 60);
  CHECK(h10->covered_s == 20 * 60);
  CHECK(h9->steps + h10->steps == 301);
  CHECK(h9->steps == 200);
  CHECK(h9->rum_deci_min + h10->rum_deci_min == 300);
  CHECK(h10->temp_n == 1);  // the temperature belongs to the instant it was measured
  CHECK(h9->temp_n == 0);
  const auto* d = find_day(s, day_of(k_t0));
  REQUIRE(d);
  CHECK(d->steps == 301);
  CHECK(d->covered_s == 3600);
}

TEST_CASE("fold: out-of-order readings land in their own windows, the sums do not depend on order") {
  std::vector<reading_spec> rs;
  for (std::uint32_t i = 0; i < 72; ++i) {
    reading_spec r;
    r.seq = i;
    r.at_ms = k_t0 + i * k_hour + 7 * k_min;
    r.steps = 50 + i * 3;
    r.rum_min = static_cast<double>(i % 40);
    r.temp_c.reset();
    rs.push_back(r);
  }
  animal_state in_order;
  for (const auto& r : rs) REQUIRE(apply(in_order, reading_event(r)).status == apply_status::applied);
  std::vector<reading_spec> shuffled = rs;
  std::rotate(shuffled.begin(), shuffled.begin() + 30, shuffled.end());  // a late batch of 30
  std::reverse(shuffled.begin() + 10, shuffled.begin() + 20);
  animal_state mixed;
  for (const auto& r : shuffled) REQUIRE(apply(mixed, reading_event(r)).status == apply_status::applied);
  CHECK(mixed.hours == in_order.hours);
  CHECK(mixed.days == in_order.days);
  CHECK(mixed.collars[0].last_seq == 71);
}

TEST_CASE("fold: drinking dips are marked and the recovery masked, clean readings make the means") {
  animal_state s;
  std::uint32_t seq = 0;
  const auto add = [&](std::int64_t at, double t) {
    reading_spec r;
    r.seq = seq++;
    r.at_ms = at;
    r.interval_s = 600;
    r.rum_min = 3.0;
    r.temp_c = t;
    REQUIRE(apply(s, reading_event(r)).status == apply_status::applied);
  };
  std::int64_t t = k_t0 + 8 * k_hour;
  for (int i = 0; i < 12; ++i, t += 10 * k_min) add(t, 38.6);
  add(t, 35.9);  // cold water: -2.7 °C
  const std::int64_t dip_at = t;
  t += 10 * k_min;
  add(t, 37.4);  // recovering
  t += 10 * k_min;
  add(t, 38.3);  // still 0.3 below: masked
  t += 10 * k_min;
  add(t, 38.6);  // recovered: clean
  const auto at = [&](std::int64_t ms) {
    return std::find_if(s.temps.begin(), s.temps.end(), [&](const temp_point& p) { return p.at_ms == ms; })->flags;
  };
  CHECK(at(dip_at) == temp_point::dip);
  CHECK(at(dip_at + 10 * k_min) == temp_point::dip);
  CHECK(at(dip_at + 20 * k_min) == temp_point::masked);
  CHECK(at(dip_at + 30 * k_min) == 0);
  const auto* d = find_day(s, day_of(k_t0));
  REQUIRE(d);
  CHECK(d->dip_n == 3);
  CHECK(d->temp_n == 13);
  CHECK(d->temp_sum_centi / d->temp_n == 3860);
}

TEST_CASE("fold: windows stay bounded and baselines come from whole days") {
  animal_state s;
  for (std::uint32_t i = 0; i < 30 * 24; ++i) {
    reading_spec r;
    r.seq = i;
    r.at_ms = k_t0 + (i + 1) * k_hour;
    r.steps = 100 + (i / 24) * 2;  // a slowly rising daily total
    r.rum_min = 20.0;
    r.temp_c = 38.5;
    REQUIRE(apply(s, reading_event(r)).status == apply_status::applied);
  }
  CHECK(s.hours.size() == static_cast<std::size_t>(k_hour_window));
  CHECK(s.days.size() == static_cast<std::size_t>(k_day_window));
  CHECK(s.hours.front().hour == hour_of(s.newest_ms) - k_hour_window + 1);
  const std::int64_t today = day_of(s.newest_ms);
  const auto rum = rumination_baseline(s, today);
  REQUIRE(rum);
  CHECK(rum->value == 480);
  CHECK(rum->days == 7);
  const auto temp = temperature_baseline(s, today);
  REQUIRE(temp);
  CHECK(temp->value == 3850);
  CHECK(temp->days == 10);
  const auto act = activity_baseline(s, today);
  REQUIRE(act);
  CHECK(act->value > 2400 + 40);
  // A reading older than every window still counts for its collar, but changes no window.
  const animal_state before = s;
  reading_spec old;
  old.seq = 99'999;
  old.at_ms = k_t0;
  REQUIRE(apply(s, reading_event(old)).status == apply_status::applied);
  CHECK(s.hours == before.hours);
  CHECK(s.days == before.days);
  CHECK(s.collars[0].readings == before.collars[0].readings + 1);
  CHECK(s.collars[0].last_seq == before.collars[0].last_seq);
}

TEST_CASE("fold: the same events give the same bytes") {
  animal_state a, b;
  for (std::uint32_t i = 0; i < 200; ++i) {
    reading_spec r;
    r.seq = i;
    r.at_ms = k_t0 + i * 10 * k_min;
    r.interval_s = 600;
    r.rum_min = 2.5;
    r.temp_c = 38.4 + (i % 7) * 0.03 - (i % 31 == 0 ? 2.0 : 0.0);
    const auto e = reading_event(r);
    apply(a, e);
    apply(b, e);
  }
  CHECK(encode(a) == encode(b));
}

TEST_CASE("fold: a reading moves its partition's time to occurred_at, at most 5 min past its ingest") {
  using google::protobuf::util::TimeUtil;
  auto e = reading_event({.at_ms = k_t0});
  *e.mutable_ingested_at() = TimeUtil::MillisecondsToTimestamp(k_t0 + 2'000);
  CHECK(watermark_ms(e) == k_t0);  // the usual case: taken a moment after it was measured
  *e.mutable_ingested_at() = TimeUtil::MillisecondsToTimestamp(k_t0 + 3 * k_day);
  CHECK(watermark_ms(e) == k_t0);  // a late upload keeps its own time
  *e.mutable_ingested_at() = TimeUtil::MillisecondsToTimestamp(k_t0 - 5 * k_min);
  CHECK(watermark_ms(e) == k_t0);  // exactly the gateway's 5-minute tolerance ahead
  *e.mutable_ingested_at() = TimeUtil::MillisecondsToTimestamp(k_t0 - 2 * k_day);
  CHECK(watermark_ms(e) == k_t0 - 2 * k_day + 5 * k_min);  // stamped 2 days ahead: capped
  *e.mutable_ingested_at() = TimeUtil::MillisecondsToTimestamp(3'000);
  CHECK(watermark_ms(e) == 0);  // taken by a gateway at 1970 (booted without time): moves nothing
  e.clear_ingested_at();
  CHECK(watermark_ms(e) == 0);  // no gateway time to hold it against: moves nothing
}

TEST_CASE("fold: times outside protobuf's Timestamp range are refused, never converted") {
  animal_state s;
  REQUIRE(apply(s, reading_event({})).status == apply_status::applied);
  const animal_state before = s;
  auto e = reading_event({.seq = 2, .at_ms = k_t0 + k_hour});
  e.mutable_occurred_at()->set_seconds(std::numeric_limits<std::int64_t>::max());
  auto r = apply(s, e);
  CHECK(r.status == apply_status::rejected);
  CHECK_MESSAGE(r.reason.find("not a valid Timestamp") != std::string::npos, r.reason);
  CHECK(s == before);
  CHECK(watermark_ms(e) == 0);
  e = reading_event({.seq = 2, .at_ms = k_t0 + k_hour});
  e.mutable_ingested_at()->set_nanos(-1);
  CHECK(watermark_ms(e) == 0);
  e.mutable_ingested_at()->set_nanos(0);
  e.mutable_ingested_at()->set_seconds(std::numeric_limits<std::int64_t>::min());
  CHECK(watermark_ms(e) == 0);
  CHECK_FALSE(valid_timestamp(e.ingested_at()));
  e.mutable_ingested_at()->set_seconds(253'402'300'799);  // 9999-12-31T23:59:59Z: the last valid second
  CHECK(valid_timestamp(e.ingested_at()));
}

TEST_CASE("fold: move_watermark - boundaries crossed by an accepted, newer reading only") {
  const auto at = [](std::int64_t ms, std::uint32_t seq, std::string animal = "276000000000001") {
    return reading_event({.animal = std::move(animal), .seq = seq, .at_ms = ms});  // ingested 1 s later
  };
  animal_state s;
  // A partition's first time: set, nothing crossed (no earlier time to advance from).
  auto m = move_watermark(0, s, at(k_t0 + 3 * k_min, 1));
  CHECK(m.watermark_ms == k_t0 + 3 * k_min);
  CHECK(m.boundaries_ms.empty());
  // 3 min -> 31 min crosses 10, 20 and 30 min, in order; a reading exactly on a boundary crosses it.
  m = move_watermark(k_t0 + 3 * k_min, s, at(k_t0 + 31 * k_min, 2));
  CHECK(m.watermark_ms == k_t0 + 31 * k_min);
  CHECK(m.boundaries_ms ==
        std::vector<std::int64_t>{k_t0 + 10 * k_min, k_t0 + 20 * k_min, k_t0 + 30 * k_min});
  m = move_watermark(k_t0 + 31 * k_min, s, at(k_t0 + 40 * k_min, 3));
  CHECK(m.boundaries_ms == std::vector<std::int64_t>{k_t0 + 40 * k_min});
  // An older (late) reading and one at the watermark move nothing.
  for (const std::int64_t ms : {k_t0, k_t0 + 40 * k_min}) {
    m = move_watermark(k_t0 + 40 * k_min, s, at(ms, 4));
    CHECK(m.watermark_ms == k_t0 + 40 * k_min);
    CHECK(m.boundaries_ms.empty());
  }
  // A reading the fold would reject (another animal's, for this state) moves nothing.
  REQUIRE(apply(s, at(k_t0, 1)).status == apply_status::applied);
  m = move_watermark(k_t0 + 40 * k_min, s, at(k_t0 + 2 * k_hour, 5, "276000000000002"));
  CHECK(m.watermark_ms == k_t0 + 40 * k_min);
  CHECK(m.boundaries_ms.empty());
  // Nor does an event that is not a reading.
  auto other = at(k_t0 + 2 * k_hour, 6);
  other.set_event_type("scale.weight.v1");
  CHECK(move_watermark(k_t0 + 40 * k_min, s, other).boundaries_ms.empty());
}
