#pragma once
// Every constant the health and device rules use, with its source. "HERD.md" is
// ../shared/HERD.md (published figures); "[guess]" marks an estimate, as there. Units in names:
// _centi = 0.01 °C, _pct = percent, _ms = milliseconds.
#include <cstdint>

#include "herd/core/time_format.hpp"
#include "herd/rules/animal_state.hpp"

namespace herd::rules::thresholds {

// --- fever -------------------------------------------------------------------------------
// HERD.md: "temperature >= own baseline + 0.8 °C" (bolus + 0.8 °C finds 67-77 % of mastitis /
// pneumonia). Our baseline is the same clock hours of the previous 7 days (HERD.md: the daily
// rhythm has a peak-to-trough of ~1.2 °C, which a daily mean would leave in the excess).
inline constexpr std::int32_t fever_delta_centi = 80;
// HERD.md: 39.5 °C, 39.4-39.7 in fresh-cow protocols, "many healthy fresh cows exceed 39.5 °C
// once": the absolute rule (which needs no baseline) takes the protocols' upper end and two
// consecutive hours, never a single reading.
inline constexpr std::int32_t fever_absolute_centi = 3970;
// Severity critical from +1.5 °C or 40.5 °C [guess; HERD.md: fevers +1 to +2.5 °C, mastitis
// cases averaged 41.1 °C].
inline constexpr std::int32_t fever_critical_delta_centi = 150;
inline constexpr std::int32_t fever_critical_centi = 4050;
// Resolved when the last 12 h are within +0.4 °C of the baseline [guess].
inline constexpr std::int32_t fever_clear_delta_centi = 40;
inline constexpr int fever_clear_hours = 12;
// Fresh-enough herd context: computed within the last 2 h of event time.
inline constexpr std::int64_t herd_context_max_age_ms = 2 * k_hour_ms;

// --- estrus ------------------------------------------------------------------------------
// HERD.md: "activity >= 2-4x own baseline for consecutive blocks, 2-h blocks"; estrus activity
// peaks at 3-4x baseline in a triangular 8-12 h profile. We take the low end, 2x, over the last
// 2 h against the same hours of the previous 7 days.
inline constexpr std::int32_t estrus_ratio_pct = 200;
// The heat's onset: the first hour of the rise at 1.3x [guess].
inline constexpr std::int32_t estrus_onset_ratio_pct = 130;
// HERD.md: heats < 10 h apart are merged: the alert stays open 10 h after the last high block.
inline constexpr std::int64_t estrus_merge_ms = 10 * k_hour_ms;
// The last 2 h must be >= 1.5 % of the animal's daily steps (7-day mean) above its expected
// level [guess; HERD.md: a heat adds ~45 % of a day's steps within 8-12 h, ~9 % per 2 h on
// average]: a 2x ratio of a few dozen night steps is not a heat.
inline constexpr std::int32_t estrus_min_excess_permille = 15;
// No new heat within 5 days of the last heat alert's start [guess; HERD.md: every 21 days;
// short cycles of 5-14 days occur].
inline constexpr std::int64_t estrus_min_cycle_ms = 5 * k_day_ms;
// Insemination window 12-18 h after the onset of the heat [guess: the a.m./p.m. rule;
// ovulation ~24-30 h after the onset].
inline constexpr std::int64_t estrus_ai_from_ms = 12 * k_hour_ms;
inline constexpr std::int64_t estrus_ai_to_ms = 18 * k_hour_ms;
// No heat alert within 15 days after a calving alert [guess; HERD.md: the first heat at 29-34
// days in milk; the activity spike right after calving is not a heat]. It said 21, but the
// calving alert was pruned 14 days after it timed out, so 15 was what ran and was measured;
// since calving alerts are kept longer (lifecycle.hpp), 21 would also hide a real heat 15-21
// days after a false calving alert.
inline constexpr std::int64_t estrus_after_calving_ms = 15 * k_day_ms;

// --- rumination drop ---------------------------------------------------------------------
// HERD.md: "rumination > 25-30 % below own 7-day rolling mean for >= 1 day" [guess threshold].
// Over the last 24 h against the same hours of the previous 7 days. The upper end, 30 %: within
// a cow rumination varies 30-50 min/day from day to day (HERD.md [guess]), ~9 % of 441 min, so
// 25 % is under 3 SD and raised a false alert per ~200 cow-days in herd-eval.
inline constexpr std::int32_t rumination_drop_pct = 30;
// The health index of HERD.md's anchor ("rumination+activity health index": DA 98 %, ketosis
// 91 %): rumination drop + activity drop >= 35 points with rumination at least 20 % down
// (ketosis: rumination ~30 % lower, activity down too) [guess thresholds].
inline constexpr std::int32_t rumination_index_pct = 35;
inline constexpr std::int32_t rumination_index_min_drop_pct = 20;
inline constexpr std::int32_t rumination_index_min_act_pct = 10;
// Thresholds grow with the animal's own day-to-day variation (coefficient of variation of 7
// days): rumination alone >= 3.5 CV; the index: rumination >= 1.5 CV and the two drops, each in
// CVs of its signal, summing to >= 4 (2 each on average) [guess: herd-eval showed low
// ruminators (HERD.md: range 400-600, between cows SD 70-90 min/day) vary over 13 % from day to
// day]. 4, not 5: the variation is now measured on healthy days only (depressed days left out),
// so it is no longer inflated by a calving or an illness; herd-eval at 5 missed ketoses of
// -25..-29 % with activity -15 % whose drops were ~2 CVs each.
inline constexpr std::int32_t rumination_sd_factor_x10 = 35;
inline constexpr std::int32_t rumination_index_rum_sd_x10 = 15;
inline constexpr std::int32_t rumination_index_sd_sum_x10 = 40;
// The variation is measured on the days before the last 2, so that the first days of a
// decline (HERD.md: ketosis lowers rumination ~30 %; our simulator's over 2 days [guess]) do not
// count as the animal's normal variation. [guess]
inline constexpr int rumination_sd_lag_days = 2;
// ... over up to 10 days, the depressed ones left out (signals.hpp depressed_days), at least 5
// [guess: 5-7 days give a noisy estimate; the state keeps 16 days].
inline constexpr int rumination_sd_days = 10;
// CV floors: 5-7 days can give an estimate near 0 [guess; HERD.md: within a cow rumination
// varies 30-50 min/day, ~7-11 % of 441 min; steps "small within a cow"].
inline constexpr std::int32_t rumination_min_cv_pct = 5;
inline constexpr std::int32_t activity_min_cv_pct = 3;
inline constexpr std::int32_t rumination_critical_drop_pct = 40;  // [guess] DA is sharper (HERD.md)
inline constexpr std::int32_t rumination_clear_drop_pct = 15;     // [guess] hysteresis
inline constexpr std::int64_t rumination_min_covered_s = 18 * 3600;
// Baseline days left out (signals.hpp depressed_days): a day whose rumination is >= 20 % below
// the median of the animal's last 16 days [guess: within a cow rumination varies 30-50 min/day,
// HERD.md [guess], ~9 % of 441 min, so 20 % is > 2 SD below a healthy day; HERD.md: calving
// -33 % over the day, ketosis ~30 %]; needs 5 days to judge. And the calving itself: from 20 h
// before a calving alert to 30 h after it (HERD.md: rumination down over the last 24 h before
// the birth, the alert comes hours before it; the recovery after it is not given [guess: a day]).
inline constexpr std::int32_t baseline_depressed_pct = 20;
inline constexpr int baseline_depressed_min_days = 5;
inline constexpr std::int64_t baseline_calving_before_ms = 20 * k_hour_ms;
inline constexpr std::int64_t baseline_calving_after_ms = 30 * k_hour_ms;
// Fresh cows: HERD.md gives ketosis and displaced abomasum at 5-20 days in milk; outside that
// window they are rare, within it common (the herd model: 15 % and 3 % of fresh cows). The
// same evidence is then more likely an illness, so within the window the health index (HERD.md's
// anchor: rumination and activity down together) asks for less of it: each of its thresholds
// (the drops, the CV multiples, the points) times fresh_evidence_pct [guess: 75 %; herd-eval
// at 70 / 80 % gave the same trade of lead for false alerts, more or less of it]. Rumination
// alone (no activity drop) asks as much of a fresh cow as of any: that arm alone raised a fresh
// cow's low day and held it open into her DA. Nor is the clearing level (15 %) lowered: an
// alert that stays open while a ketosis recovers swallows the DA or the ketosis that follows
// (HERD.md: both at 5-20 days in milk; a fresh cow has one after the other). As that level is
// also the lowered index's rumination floor, for fresh_requiet_ms after an alert cleared only
// the full thresholds raise again [guess: a day]: a drop hovering there is the same episode's
// tail, and raised and cleared alert after alert. Days in milk are
// counted from the last calving alert (the only calving the rules know; a cow that calved
// before her data began is judged as any other). The window runs from 5 days after that alert
// to 22 (20 days in milk, plus the ~2 days a decline takes before an alert [guess; HERD.md
// gives no decline time]).
inline constexpr std::int32_t fresh_evidence_pct = 75;
inline constexpr std::int64_t fresh_from_ms = 5 * k_day_ms;
inline constexpr std::int64_t fresh_to_ms = 22 * k_day_ms;
inline constexpr std::int64_t fresh_requiet_ms = 24 * k_hour_ms;
// A fresh cow's persistent fall: rumination >= 10 % and >= 1.5 own CVs (net of the herd's drop)
// and activity >= 7 % and >= 1 own CV below her healthy baseline, in the last 24 h and in the
// 24 h before them. HERD.md: ketosis lowers rumination ~30 % for days, at 5-20 days in milk, and
// its anchor is a rumination + activity index; a healthy cow's day-to-day variation (within a
// cow SD 30-50 min/day [guess]) is independent from one day to the next, so two days each
// 1.5 CVs down are as unlikely as one 2.1 CVs down, and with activity down too much rarer
// [guess thresholds: the fresh-cow index's rumination CVs and activity floor, 75 % of 10 %].
// A ketosis of a cow whose rumination varies much (10 % a day) or that falls in a heat spell
// (the herd's drop taken off) can stay under the 24-h index for days.
inline constexpr std::int32_t persist_min_drop_pct = 10;
inline constexpr std::int32_t persist_rum_sd_x10 = 15;
inline constexpr std::int32_t persist_min_act_pct = 7;
inline constexpr std::int32_t persist_act_sd_x10 = 10;
// It raises only when no rumination alert of hers is open or cleared within the two days it
// looks at: a recovering illness (rumination back to 10-15 % down, under the clearing level)
// is the same illness, and re-raising it made repeat alerts.
inline constexpr std::int64_t persist_quiet_ms = 48 * k_hour_ms;
// An alert the persistent fall raised clears when rumination is back within this of the
// baseline (net of the herd) [guess: half its raise level, as the 24-h rule clears at 15 %, half
// its 30 %]; every other rumination alert clears at rumination_clear_drop_pct.
inline constexpr std::int32_t persist_clear_drop_pct = 5;
// And the days of an illness the rumination rule alerted for >= 2 days, from a day before the
// alert to a day after it cleared [guess: HERD.md gives neither the decline before an alert nor
// the recovery]: after a long illness (HERD.md: DA, ketosis, a metritis of a fresh cow) the
// 16-day median is itself depressed and left the ill and recovering days in the baseline, so a
// second illness (a ketosis after a DA or a metritis, HERD.md: both at 5-20 days in milk) was
// measured against them and looked small. 2 days: a real illness keeps rumination down for
// days (HERD.md: DA and ketosis rumination ~30 % lower; fevers lower it from 1.6-3 days before
// the diagnosis); an alert on a one-day dip of a cow whose rumination varies a lot clears within
// a day, and masking it raised her baseline and her next false alert.
inline constexpr std::int64_t baseline_illness_min_ms = 48 * k_hour_ms;
inline constexpr std::int64_t baseline_illness_before_ms = 24 * k_hour_ms;
inline constexpr std::int64_t baseline_illness_after_ms = 24 * k_hour_ms;
// A new illness under an open alert (HERD.md: ketosis and DA both at 5-20 days in milk, so a
// fresh cow often has one after the other; DA is the sharper): one alert held open over both
// hid the second (a DA beginning while a ketosis's alert was open got no alert of its own). A
// vet counts a cow that had levelled off or was getting better and then falls again as a new
// clinical event, not as the same one going on. So an alert open for >= relapse_min_age_ms
// [guess: the baseline_illness_min_ms of a real illness; by then its own decline is over]
// is resolved "superseded" and a new one raised when
// - the cow had stopped getting worse: the 24 h ending a day ago ruminated no less than the 24 h
//   before them, give or take one own day-to-day CV (HERD.md: within a cow SD 30-50 min/day
//   [guess]), and
// - the last 24 h fell from the 24 h before them by as much as, alone, raises an alert:
//   >= rumination_drop_pct of the baseline and >= rumination_sd_factor_x10 own CVs (HERD.md:
//   "rumination > 25-30 % below own 7-day mean for >= 1 day"), the herd's drop taken off;
// - or the same over two days, from a levelled-off day 2 days back (a ketosis lowers rumination
//   ~30 %, HERD.md, over ~2 days [guess; HERD.md gives no decline time, fresh_to_ms takes 2 too]: a
//   DA falls that far within a day, a ketosis in two); then the alert must be a day older (72 h),
//   so that the levelled-off day lies within it;
// - and the last 24 h still meet the rule's raise conditions.
// A gradual worsening of one illness (HERD.md: a fever's rumination begins to fall 1.6-3 days
// before diagnosis; how long the fall takes is not given [guess: days]) stays one alert: it
// never levels off and then falls by a whole alert's worth within a day or two. Each comparison
// is made over the clock hours both of its days cover (matched_days), so a gap in the readings
// neither makes nor hides a fall. A herd-wide drop is taken off the fall as a level (the herd's
// drop of the last 24 h): in a heat spell of several days the split asks for more than an
// alert's worth (no herd figures of earlier days are kept), it does not split more often.
inline constexpr std::int64_t relapse_min_age_ms = 48 * k_hour_ms;
inline constexpr int relapse_max_days = 2;

// --- lameness ----------------------------------------------------------------------------
// HERD.md: "activity down and lying up >= 0.6 h/day, several days, own baseline"; lameness
// lowers activity, eating and rumination, gradually over days. Readings carry no lying time, so:
// steps of the last 2 days >= 20 % below the median of days 3-9 before [guess: within a cow the
// daily steps vary ~6 %, 15 % raised a false alert per ~250 cow-days], with rumination falling less
// than half as much (a fever, ketosis or DA lowers rumination more than activity).
inline constexpr std::int32_t lameness_drop_pct = 20;
inline constexpr std::int32_t lameness_clear_drop_pct = 8;  // [guess]
inline constexpr int lameness_recent_days = 2;
inline constexpr int lameness_baseline_lag_days = 3;
inline constexpr int lameness_baseline_days = 7;

// --- calving -----------------------------------------------------------------------------
// HERD.md: "temperature -0.2 to -0.3 °C vs same time yesterday and rumination -27 % in 6 h";
// calving: temperature -0.3 to -0.5 °C over the last 24 h, rumination -27 % in the last 6 h.
inline constexpr std::int32_t calving_temp_drop_centi = 25;  // the middle of -0.2 to -0.3
inline constexpr std::int32_t calving_rum_drop_pct = 27;     // HERD.md: -27 % in 6 h
// ... and at least 0.15 °C below the own 7-day same-hour baseline [guess; HERD.md: -0.3 to
// -0.5 °C over the last 24 h], which a fever returning to normal is not.
inline constexpr std::int32_t calving_below_baseline_centi = 15;
inline constexpr std::int64_t calving_horizon_ms = 24 * k_hour_ms;  // HERD.md: within 24 h
inline constexpr std::int64_t calving_timeout_ms = 30 * k_hour_ms;  // [guess] then resolved
inline constexpr std::int64_t calving_quiet_ms = 7 * k_day_ms;      // [guess] one calving

// --- devices -----------------------------------------------------------------------------
// HERD.md: "no reading for longer than N expected intervals": N = 2 (+10 % for clock drift), so
// a gap is alerted within 3 intervals of its start; never sooner than 15 min [guess].
inline constexpr std::int32_t offline_intervals_x10 = 21;
inline constexpr std::int64_t offline_min_ms = 15 * 60'000;
// How far past the gateway's ingest time a reading may move its partition's event time: the
// gateway's own tolerance for a collar's `ts` (README "Time": up to 5 min ahead of a synchronized
// gateway clock is plausible).
inline constexpr std::int64_t watermark_lead_ms = core::k_max_clock_lead_ms;
// Fallen off: at least 2 lifeless readings covering >= 30 min [guess] (HERD.md: collar drop-off;
// flat activity, ambient-like temperature).
inline constexpr std::int32_t fallen_min_readings = 2;
inline constexpr std::int64_t fallen_min_ms = 30 * 60'000;
// HERD.md: "battery below threshold": 20 % [guess: vendors warn at 10-25 %]; a battery back above
// 50 % was changed.
inline constexpr std::int32_t low_battery_pct = 20;
inline constexpr std::int32_t battery_ok_pct = 50;

}  // namespace herd::rules::thresholds
