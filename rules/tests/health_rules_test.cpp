// One test per edge of each health rule (constants: herd/rules/thresholds.hpp, from HERD.md).
#include <functional>
#include <doctest/doctest.h>

#include "herd/rules/herd_context.hpp"
#include "herd/rules/thresholds.hpp"
#include "herd/rules/windows.hpp"
#include "rule_fixture.hpp"

using namespace herd::rules;
using namespace herd::rules::test;

namespace {
std::function<hour_values(int, int)> with_temp(double delta) {
  return [delta](int h, int d) {
    auto v = normal_hour(h, d);
    v.temp_c += delta;
    return v;
  };
}
}  // namespace

TEST_CASE("fever: +0.8 °C over the own same-hour baseline for 2 h raises one alert per episode") {
  animal_sim a;
  CHECK(a.normal_days(8).empty());
  SUBCASE("+0.7 °C stays quiet (the edge below HERD.md's +0.8)") {
    CHECK(count(a.hours(6, with_temp(0.7)), alert_kind::fever, alert_change_kind::raised) == 0);
  }
  SUBCASE("+1.0 °C raises after two hours, stays one alert, resolves when normal for 12 h") {
    auto c = a.hour(with_temp(1.0));
    CHECK(count(c, alert_kind::fever, alert_change_kind::raised) == 0);  // one hour is not enough
    c = a.hour(with_temp(1.0));
    REQUIRE(count(c, alert_kind::fever, alert_change_kind::raised) == 1);
    const std::string id = c.back().alert.alert_id;
    CHECK(id.rfind("276000000000001:fever:", 0) == 0);
    CHECK(c.back().alert.severity == alert_severity::warning);
    c = a.hours(20, with_temp(1.8));  // worse: critical, an update of the same alert
    CHECK(count(c, alert_kind::fever, alert_change_kind::raised) == 0);
    CHECK(count(c, alert_kind::fever, alert_change_kind::updated) >= 1);
    CHECK(c.back().alert.alert_id == id);
    CHECK(c.back().alert.severity == alert_severity::critical);
    c = a.hours(14, normal_hour);
    REQUIRE(count(c, alert_kind::fever, alert_change_kind::resolved) == 1);
    CHECK(c.back().alert.resolution == "cleared");
  }
  SUBCASE("a herd-wide heat day (herd context) does not become a fever") {
    herd_context hot;
    hot.at_ms = 1;
    hot.temp_excess_centi = 60;
    hot.animals = 30;
    CHECK(count(a.hours(6, with_temp(1.0), hot), alert_kind::fever, alert_change_kind::raised) == 0);
    // ... but an animal 0.8 °C above its hot herd mates still does.
    CHECK(count(a.hours(3, with_temp(1.5), hot), alert_kind::fever, alert_change_kind::raised) == 1);
  }
}

TEST_CASE("fever without a baseline: only the absolute rule (39.7 °C for 2 h), and readiness says so") {
  animal_sim a;
  a.hours(2, normal_hour);
  const auto r = readiness(a.state, a.t);
  CHECK_FALSE(r[1].ready);  // estrus
  CHECK(r[0].reason.find("absolute") != std::string::npos);
  CHECK(count(a.hours(4, [](int, int) { return hour_values{39.6, 100, 20}; }), alert_kind::fever,
              alert_change_kind::raised) == 0);
  CHECK(count(a.hours(2, [](int, int) { return hour_values{39.9, 100, 20}; }), alert_kind::fever,
              alert_change_kind::raised) == 1);
}

TEST_CASE("fever: drinking dips of a bolus are masked and raise nothing") {
  animal_sim a;
  // 9 days of a bolus every 10 minutes with 8 cold-water dips a day (HERD.md: 2.3 ± 1.8 °C).
  for (int i = 0; i < 9 * 144; ++i) {
    reading_spec r;
    r.seq = static_cast<std::uint32_t>(i);
    r.at_ms = k_t0 + (i + 1) * 10 * k_min;
    r.interval_s = 600;
    r.steps = 20;
    r.rum_min = 3.0;
    const int slot = i % 144;
    const bool dip = slot % 18 == 9, rec = slot % 18 == 10;
    r.temp_c = 38.6 - (dip ? 3.5 : rec ? 1.2 : 0.0);
    const auto res = apply(a.state, reading_event(r));
    REQUIRE(res.status == apply_status::applied);
    CHECK(res.alert_changes.empty());
  }
  const auto tb = temperature_baseline(a.state, day_of(a.state.newest_ms));
  REQUIRE(tb);
  CHECK(tb->value == 3860);  // the dips are not in the baseline
}

TEST_CASE("estrus: activity >= 2x the own baseline for 2 h raises a heat with its insemination window") {
  animal_sim a;
  a.normal_days(8);
  const auto heat = [](double x) {
    return [x](int h, int d) {
      auto v = normal_hour(h, d);
      v.steps = static_cast<std::uint32_t>(v.steps * x);
      return v;
    };
  };
  SUBCASE("1.8x stays quiet") { CHECK(count(a.hours(4, heat(1.8)), alert_kind::estrus, alert_change_kind::raised) == 0); }
  SUBCASE("3x raises once; a rise 6 h later is the same heat; 10 h after the last high block it times out") {
    a.hour(heat(1.5));
    auto c = a.hours(3, heat(3.0));
    REQUIRE(count(c, alert_kind::estrus, alert_change_kind::raised) == 1);
    const alert& al = c.front().alert;
    CHECK(al.window_from_ms - al.started_at_ms <= thresholds::estrus_ai_from_ms);
    CHECK(al.window_to_ms - al.window_from_ms == thresholds::estrus_ai_to_ms - thresholds::estrus_ai_from_ms);
    c = a.hours(6, normal_hour);
    c = a.hours(2, heat(3.0));  // HERD.md: heats < 10 h apart are merged
    CHECK(count(c, alert_kind::estrus, alert_change_kind::raised) == 0);
    c = a.hours(11, normal_hour);
    REQUIRE(count(c, alert_kind::estrus, alert_change_kind::resolved) == 1);
    CHECK(a.changes.back().alert.resolution == "timed_out");
  }
  SUBCASE("no heat alerts within 21 days after a calving alert") {
    alert calv;
    calv.kind = alert_kind::calving;
    calv.alert_id = "x";
    calv.started_at_ms = a.t - 2 * k_day;
    calv.resolved_at_ms = a.t - k_day;
    a.state.alerts.push_back(calv);
    CHECK(count(a.hours(4, heat(3.0)), alert_kind::estrus, alert_change_kind::raised) == 0);
  }
}

TEST_CASE("rumination drop: 24 h well below the own 7-day baseline raises, a small dip does not") {
  animal_sim a;
  a.normal_days(8);
  const auto rum = scaled_hour;
  SUBCASE("-20 % with normal activity stays quiet") {
    CHECK(count(a.hours(30, rum(0.8, 1.0)), alert_kind::rumination_drop, alert_change_kind::raised) == 0);
  }
  SUBCASE("-35 % raises") {
    CHECK(count(a.hours(30, rum(0.65, 1.0)), alert_kind::rumination_drop, alert_change_kind::raised) == 1);
  }
  SUBCASE("-25 % with activity -15 % raises through the health index (ketosis)") {
    CHECK(count(a.hours(30, rum(0.75, 0.85)), alert_kind::rumination_drop, alert_change_kind::raised) == 1);
  }
}

TEST_CASE("lameness: activity down over days with rumination holding, illness is not lameness") {
  animal_sim a;
  a.normal_days(10);
  const auto lame = [](double act, double rum) { return scaled_hour(rum, act); };
  SUBCASE("-30 % steps, -5 % rumination for 3 days raises") {
    CHECK(count(a.hours(3 * 24, lame(0.7, 0.95)), alert_kind::lameness, alert_change_kind::raised) == 1);
  }
  SUBCASE("-15 % steps stays quiet") {
    CHECK(count(a.hours(3 * 24, lame(0.85, 1.0)), alert_kind::lameness, alert_change_kind::raised) == 0);
  }
  SUBCASE("-30 % steps with -30 % rumination is an illness, not lameness") {
    CHECK(count(a.hours(3 * 24, lame(0.7, 0.7)), alert_kind::lameness, alert_change_kind::raised) == 0);
  }
}

TEST_CASE("calving: temperature down vs previous days and rumination down over 6 h") {
  animal_sim a;
  a.normal_days(8);
  const auto pre = [](double dt, double rum) {
    return [dt, rum](int h, int d) {
      auto v = normal_hour(h, d);
      v.temp_c -= dt;
      v.rum_min *= rum;
      return v;
    };
  };
  SUBCASE("-0.4 °C and -45 % rumination raise, with the next 24 h as the window") {
    auto c = a.hours(6, pre(0.4, 0.55));
    REQUIRE(count(c, alert_kind::calving, alert_change_kind::raised) == 1);
    const alert& al = c.back().alert;
    CHECK(al.window_to_ms - al.window_from_ms == 24 * k_hour);
    c = a.hours(31, normal_hour);
    CHECK(count(c, alert_kind::calving, alert_change_kind::resolved) == 1);
  }
  SUBCASE("-0.1 °C with the same rumination drop stays quiet") {
    CHECK(count(a.hours(6, pre(0.1, 0.55)), alert_kind::calving, alert_change_kind::raised) == 0);
  }
  SUBCASE("-0.4 °C with rumination as usual stays quiet") {
    CHECK(count(a.hours(6, pre(0.4, 1.0)), alert_kind::calving, alert_change_kind::raised) == 0);
  }
}

TEST_CASE("rumination drop: the first days of a decline do not count as the cow's own variation") {
  // HERD.md: ketosis lowers rumination ~30 %; here over 2 days to -40 %, activity as usual. The
  // threshold grows with the cow's day-to-day variation; measured over days that include the
  // decline, it grew past the drop (3.5 x ~13 % CV = 45 %) and nothing was raised.
  animal_sim a;
  a.hours(10 * 24, varied_hour);
  const std::int64_t from = a.t;
  const auto decline = [&a, from](int h, int d) {
    auto v = normal_hour(h, d);
    const double f = std::min(1.0, static_cast<double>(a.t - from) / (48.0 * k_hour));
    v.rum_min *= 1.0 - 0.4 * f;
    return v;
  };
  CHECK(count(a.hours(4 * 24, decline), alert_kind::rumination_drop, alert_change_kind::raised) == 1);
}

TEST_CASE("rumination drop: the health index adds both drops in units of the cow's own variation") {
  animal_sim a;
  a.hours(10 * 24, varied_hour);
  const auto ill = [](double rum, double act) {
    return [rum, act](int h, int d) {
      auto v = normal_hour(h, d);  // the illness day: the cow's mean day, lowered
      v.rum_min *= rum;
      v.steps = static_cast<std::uint32_t>(v.steps * act);
      return v;
    };
  };
  SUBCASE("rumination -28 %, activity -13 %: a deep rumination drop makes up for a small activity drop") {
    // Each signal alone stays under its own threshold (rumination alone: 30 %; activity under
    // 2.5 of its ~6 % variation), together they are over 4 of their variations.
    CHECK(count(a.hours(30, ill(0.72, 0.87)), alert_kind::rumination_drop, alert_change_kind::raised) == 1);
  }
  SUBCASE("rumination -18 %, activity -12 %: within the variation, quiet") {
    CHECK(count(a.hours(30, ill(0.82, 0.88)), alert_kind::rumination_drop, alert_change_kind::raised) == 0);
  }
}

namespace {
// varied_hour with rumination and steps scaled by rum / act.
std::function<hour_values(int, int)> scaled(double rum, double act) {
  return [rum, act](int h, int d) {
    auto v = varied_hour(h, d);
    v.rum_min *= rum;
    v.steps = static_cast<std::uint32_t>(v.steps * act);
    return v;
  };
}
}  // namespace

TEST_CASE("rumination drop: a depressed day in the baseline (a calving) does not hide a fresh cow's ketosis") {
  // HERD.md: calving lowers rumination ~33 % over the day; ketosis comes 5-20 days in milk with
  // rumination ~30 % lower. The depressed day, kept in the 7-day baseline and in the day-to-day
  // variation, lowered the one and raised the other: a ketosis of -28 % went unalerted.
  animal_sim a;
  a.hours(10 * 24, varied_hour);
  a.hours(24, scaled(0.55, 0.9));  // the calving day, >= 20 % below the cow's median day
  a.hours(4 * 24, varied_hour);
  CHECK(count(a.hours(30, scaled(0.72, 0.88)), alert_kind::rumination_drop, alert_change_kind::raised) == 1);
}

TEST_CASE("rumination drop: the days of a calving alert are left out of the baseline") {
  // Rumination only ~15 % down on the two calving days (under the 20 % of a depressed day):
  // left out because a calving alert was raised then (HERD.md: rumination down over the last
  // 24 h before the birth). The drop is then measured against the healthy days only.
  const auto hours_to_alert = [](bool with_alert) {
    animal_sim a;
    a.normal_days(10);
    if (with_alert) {
      alert calv;
      calv.kind = alert_kind::calving;
      calv.alert_id = "x";
      calv.started_at_ms = a.t + 12 * k_hour;
      calv.resolved_at_ms = calv.started_at_ms + 30 * k_hour;
      a.state.alerts.push_back(calv);
    }
    a.hours(2 * 24, [](int h, int d) {
      auto v = normal_hour(h, d);
      v.rum_min *= 0.85;
      return v;
    });
    a.normal_days(3);
    // Hours of the illness until the alert.
    for (int n = 1; n <= 30; ++n) {
      if (count(a.hour([](int h, int d) {
                  auto v = normal_hour(h, d);
                  v.rum_min *= 0.7;
                  return v;
                }), alert_kind::rumination_drop, alert_change_kind::raised) == 1) return n;
    }
    return 99;
  };
  const int with_alert = hours_to_alert(true), without = hours_to_alert(false);
  CAPTURE(with_alert);
  CAPTURE(without);
  REQUIRE(with_alert <= 30);
  // Two days ~15 % down in a 7-day baseline lower it ~4 %: the drop is seen later.
  CHECK(with_alert < without);
}

TEST_CASE("estrus: a 2x ratio of a few night steps is not a heat, a heat walks") {
  // A cow that barely moves at night (5 steps/h): 2.5x of that is ~15 steps more in 2 h, under
  // 1.5 % of its ~2,500 steps/day (HERD.md: a heat adds ~45 % of a day's steps within 8-12 h).
  const auto quiet_nights = [](double night_x) {
    return [night_x](int h, int d) {
      auto v = normal_hour(h, d);
      if (h < 5 || h >= 21) v.steps = static_cast<std::uint32_t>(5 * night_x);
      return v;
    };
  };
  animal_sim a;
  a.hours(8 * 24, quiet_nights(1.0));
  a.hours(24, quiet_nights(1.0));  // now at midnight
  CHECK(count(a.hours(4, quiet_nights(2.5)), alert_kind::estrus, alert_change_kind::raised) == 0);
  // The same cow walking 3x its night level as a heat does (~10x the steps): raised.
  CHECK(count(a.hours(3, quiet_nights(30.0)), alert_kind::estrus, alert_change_kind::raised) == 1);
}

TEST_CASE("estrus: no second heat within 5 days of a heat alert (HERD.md: every 21 days)") {
  animal_sim a;
  a.normal_days(8);
  const auto heat = [](int h, int d) {
    auto v = normal_hour(h, d);
    v.steps *= 3;
    return v;
  };
  REQUIRE(count(a.hours(3, heat), alert_kind::estrus, alert_change_kind::raised) == 1);
  REQUIRE(count(a.hours(12, normal_hour), alert_kind::estrus, alert_change_kind::resolved) == 1);
  // 12 h after it ended (not merged), the same rise again: e.g. the milking-time walks of a
  // fresh cow whose calving was not alerted.
  CHECK(count(a.hours(3, heat), alert_kind::estrus, alert_change_kind::raised) == 0);
  a.normal_days(5);
  CHECK(count(a.hours(3, heat), alert_kind::estrus, alert_change_kind::raised) == 1);
}
