// The rumination rule's baseline after a long illness (signals.hpp vs_healthy): a second illness
// is measured against the healthy days before the first; a cow with no healthy day kept is
// still watched; a cow's variation is measured on her healthy days further back.
#include <doctest/doctest.h>

#include "herd/rules/thresholds.hpp"
#include "rule_fixture.hpp"

using namespace herd::rules;
using namespace herd::rules::test;

TEST_CASE("rumination drop: a ketosis after a long illness is measured against the healthy days before it") {
  // HERD.md: ketosis and DA both at 5-20 days in milk (a fresh cow has one after the other);
  // DA sharper, ketosis rumination ~30 % lower. A 5-day DA (-50 %) and a day of recovery
  // leave one healthy day in the 7 days of hours: the rule had no baseline and saw nothing.
  animal_sim a;
  a.hours(10 * 24, varied_hour);
  REQUIRE(rumination_raised(a.hours(5 * 24, scaled_hour(0.5, 0.7))) == 1);
  REQUIRE(rumination_resolved(a.hours(24, varied_hour)) == 1);
  CHECK(rumination_raised(a.hours(30, scaled_hour(0.72, 0.87))) == 1);
}

TEST_CASE("rumination drop: the recovery days of an alerted illness are not the cow's baseline") {
  // A 3-day illness (-50 %), then 3 days of recovery ~15 % down (under the 20 % of a depressed
  // day): kept in the baseline and in the day-to-day variation, they lowered the one and
  // raised the other, and a ketosis of -28 % with activity -13 % right after went unalerted.
  animal_sim a;
  a.hours(10 * 24, varied_hour);
  REQUIRE(rumination_raised(a.hours(3 * 24, scaled_hour(0.5, 0.7))) == 1);
  int cleared = rumination_resolved(a.hours(2 * 24, scaled_hour(0.83, 0.95)));
  cleared += rumination_resolved(a.hours(24, scaled_hour(0.9, 1.0)));
  REQUIRE(cleared == 1);
  CHECK(rumination_raised(a.hours(30, scaled_hour(0.72, 0.87))) == 1);
}

TEST_CASE("rumination drop: a cow with no healthy day kept is compared with her recent days, and her alert clears") {
  // Ill from the start of her data (her first days are ~25 % low, and so is her "normal"), then
  // a deeper dip: alerted. All her days are then the alert's or before it; without a fallback to
  // her recent level she had no baseline at all and the alert stayed open for good.
  animal_sim a;
  a.hours(4 * 24, scaled_hour(0.75, 0.9));
  REQUIRE(rumination_raised(a.hours(3 * 24, scaled_hour(0.45, 0.75))) == 1);
  CHECK(rumination_resolved(a.hours(5 * 24, scaled_hour(0.75, 0.9))) == 1);
}

TEST_CASE("rumination drop: after a long illness a cow's day-to-day variation is measured on her healthy days further back") {
  // A cow whose rumination and steps vary ~13 % and ~10 % from day to day (HERD.md: low
  // ruminators, range 400-600 min/day; herd-eval saw 13-19 %), then a 6-day illness. With fewer than 5 healthy
  // days in the 10 before the last 2, her variation fell to the 5 % floor and an ordinary low
  // day of hers (-25 %, steps -13 %) became an alert.
  const auto wide = [](int h, int d) {
    static constexpr double rum_f[6] = {1.0, 1.25, 0.8, 1.15, 0.82, 1.0};
    static constexpr double act_f[6] = {1.0, 1.15, 0.85, 1.1, 0.88, 1.0};
    auto v = normal_hour(h, d);
    v.rum_min *= rum_f[d % 6];
    v.steps = static_cast<std::uint32_t>(v.steps * act_f[d % 6]);
    return v;
  };
  animal_sim a;
  a.hours(8 * 24, wide);
  REQUIRE(rumination_raised(a.hours(6 * 24, scaled_hour(0.5, 0.7))) == 1);
  REQUIRE(rumination_resolved(a.hours(2 * 24, wide)) == 1);
  CHECK(rumination_raised(a.hours(30, scaled_hour(0.75, 0.87))) == 0);
}
