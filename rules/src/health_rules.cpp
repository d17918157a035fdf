// The health rules. Constants: herd/rules/thresholds.hpp (each cites HERD.md or says [guess]).
#include "health_rules.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "herd/rules/thresholds.hpp"
#include "herd/rules/windows.hpp"
#include "lifecycle.hpp"
#include "signals.hpp"

namespace herd::rules::detail {

namespace th = thresholds;

std::string centi_text(std::int32_t centi) {
  char b[32];
  std::snprintf(b, sizeof b, "%s%d.%02d", centi < 0 ? "-" : "", std::abs(centi) / 100, std::abs(centi) % 100);
  return b;
}

namespace {

std::string fmt(const char* f, auto... a) {
  char b[256];
  std::snprintf(b, sizeof b, f, a...);
  return b;
}

bool herd_fresh(const animal_state& s, std::int64_t now) {
  return s.herd.at_ms != 0 && now - s.herd.at_ms <= th::herd_context_max_age_ms && now >= s.herd.at_ms - th::herd_context_max_age_ms;
}

// Coefficient of variation (%) of the daily rumination or steps over the 10 days before `day`
// (further back when fewer than 5 are left), leaving out the depressed days of `skip` (a
// calving or an illness is not the animal's normal variation); 0 with fewer than 5 days.
std::int32_t daily_cv_pct(const animal_state& s, std::int64_t day, bool steps, const day_mask& skip) {
  std::vector<double> v;
  // The 10 days before `day`; fewer than 5 healthy ones there (a long illness left out): further
  // back, to the oldest day kept, rather than the CV floors (a cow whose variation is not
  // measured is not assumed to vary the least plausible).
  const std::int64_t oldest = day_of(std::max(s.newest_ms, s.advanced_ms)) - k_day_window;
  for (std::int64_t d = day - 1; d >= day - th::rumination_sd_days || (v.size() < 5 && d >= oldest); --d) {
    if (skip.has(d)) continue;
    if (const auto f = figures_of_day(s, d)) v.push_back(steps ? f->steps : f->rum_min);
  }
  std::reverse(v.begin(), v.end());  // oldest first, the order of the sums before the look-back
  if (v.size() < 5) return 0;
  double m = 0, q = 0;
  for (const double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (const double x : v) q += (x - m) * (x - m);
  if (m <= 0) return 0;
  return static_cast<std::int32_t>(std::sqrt(q / static_cast<double>(v.size() - 1)) * 100.0 / m);
}

// Within the fresh-cow window after the last calving alert (thresholds.hpp fresh_from_ms).
bool fresh_cow(const animal_state& s, std::int64_t now) {
  const alert* c = find_latest(s, alert_kind::calving);
  return c != nullptr && now - c->started_at_ms >= th::fresh_from_ms && now - c->started_at_ms <= th::fresh_to_ms;
}

// The open rumination alert `open` is followed by a new decline (thresholds.hpp
// relapse_min_age_ms): it is old enough, the cow had levelled off or improved k days ago (k = 1
// or 2), and the last 24 h fell from the 24 h ending then by an alert's worth. `f`: the last
// 24 h against the baseline (the falls are in percent of it); `rum_sd`: the own CV, %.
bool new_decline(const animal_state& s, const alert& open, std::int64_t now, const flow& f, std::int32_t rum_sd) {
  if (f.expected <= 0 || f.covered_s <= 0) return false;
  const std::int64_t H = hour_of(now);
  const int min_hours = static_cast<int>(th::rumination_min_covered_s / 3600);
  const std::int64_t expected_per_day = f.expected * 86'400 / f.covered_s;
  if (expected_per_day <= 0) return false;
  for (int k = 1; k <= th::relapse_max_days; ++k) {
    if (now - open.started_at_ms < th::relapse_min_age_ms + (k - 1) * k_day_ms) break;
    // Each comparison over the clock hours both of its days cover (matched_days).
    const auto fell = matched_days(s, signal::rumination, H, 24 * k, min_hours);  // now vs k days ago
    const auto before = matched_days(s, signal::rumination, H - 24 * k, 24, min_hours);  // k days ago vs k+1
    if (!fell || !before || fell->earlier <= 0 || before->earlier <= 0) continue;
    // Levelled off or better k days ago: no lower than the day before, within one own CV.
    if ((before->earlier - before->later) * 100 > std::int64_t{rum_sd} * expected_per_day) continue;
    const auto fall =
        static_cast<std::int32_t>((fell->earlier - fell->later) * 100 / expected_per_day) - herd_rum_drop(s, now);
    if (fall >= std::max(th::rumination_drop_pct, th::rumination_sd_factor_x10 * rum_sd / 10)) return true;
  }
  return false;
}

// One 24-h window of a persistent fall (thresholds.hpp persist_*): rumination (net of the herd)
// and activity each down by their floor and by their own CVs.
bool persistent_fall(std::int32_t drop, std::int32_t act_drop, std::int32_t rum_sd, std::int32_t act_sd) {
  return drop >= std::max(th::persist_min_drop_pct, th::persist_rum_sd_x10 * rum_sd / 10) &&
         act_drop >= std::max(th::persist_min_act_pct, th::persist_act_sd_x10 * act_sd / 10);
}

// How an alert the persistent fall raised says so in its evidence. The alert carries no other
// mark (a field would change the read model's alert schema); an update by the 24-h rules
// rewrites the evidence, and the alert is then theirs.
constexpr const char* k_persistent_evidence = "; rumination and activity down for 2 days";
bool raised_by_persistence(const alert& a) {
  return a.evidence.find(k_persistent_evidence) != std::string::npos;
}

}  // namespace

std::int32_t herd_temp_excess(const animal_state& s, std::int64_t now) {
  return herd_fresh(s, now) ? std::max(0, s.herd.temp_excess_centi) : 0;
}
std::int32_t herd_rum_drop(const animal_state& s, std::int64_t now) {
  return herd_fresh(s, now) ? std::max(0, s.herd.rum_drop_pct) : 0;
}

void fever_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out) {
  const std::int64_t H = hour_of(now);
  const std::int32_t herd = herd_temp_excess(s, now);
  const auto m1 = hour_temp_mean(s, H - 1), m0 = hour_temp_mean(s, H);
  const auto ex = temp_excess(s, H - 1, H);
  const auto ref = same_hour_temp_baseline(s, H);
  alert* open = find_open(s, alert_kind::fever);
  // Two consecutive hours with clean readings (drinking dips and their recovery are masked).
  const bool two_hours = m1 && m0;
  const std::int32_t high = two_hours ? std::min(*m1, *m0) : 0;
  const bool by_baseline = two_hours && ex && *ex - herd >= th::fever_delta_centi;
  // The absolute rule stands in while there is no own baseline ("no baseline, no baseline rule");
  // with one, a hot afternoon over 39.7 °C in a heat wave is the herd's, not a fever (HERD.md:
  // readings >= 39.5 °C rise from 7 % to 28 % in heat stress).
  const bool by_absolute = two_hours && !ex && high - herd >= th::fever_absolute_centi;
  if (by_baseline || by_absolute) {
    alert_fields f;
    const std::int32_t peak = std::max(*m1, *m0);
    const std::int32_t delta = ex ? *ex - herd : 0;
    f.value = peak;
    f.reference = ref ? ref->value : 0;
    f.severity = (delta >= th::fever_critical_delta_centi || peak >= th::fever_critical_centi) ? alert_severity::critical
                                                                                               : alert_severity::warning;
    f.evidence = ex ? fmt("%s °C over the last 2 h, %+.2f °C over own same-hour baseline %s °C (%d days)%s",
                          centi_text(peak).c_str(), delta / 100.0, centi_text(ref ? ref->value : 0).c_str(),
                          ref ? ref->days : 0, herd > 0 ? fmt(", herd-wide +%.2f °C taken off", herd / 100.0).c_str() : "")
                    : fmt("%s °C for 2 h (absolute rule; no baseline yet)", centi_text(high).c_str());
    if (open) {
      update(s, *open, now, f, 30, out);
    } else {
      raise(s, alert_kind::fever, {}, now, f, out);
    }
    return;
  }
  if (open && now - open->started_at_ms >= th::fever_clear_hours * k_hour_ms) {
    const auto recent = temp_excess(s, H - th::fever_clear_hours + 1, H);
    if (recent && *recent - herd < th::fever_clear_delta_centi) resolve(s, *open, now, "cleared", out);
  }
}

void estrus_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out) {
  const std::int64_t H = hour_of(now);
  if (alert* c = find_latest(s, alert_kind::calving); c && now - c->started_at_ms < th::estrus_after_calving_ms) return;
  const flow f = vs_baseline(s, signal::steps, H - 1, H);
  if (f.covered_s < 3600 || f.expected <= 0) return;
  // Against the animal's level of the 22 h before (when that is above its baseline): an animal
  // recovering from an illness is more active than its depressed 7-day baseline all day long; a
  // heat is a peak of hours (HERD.md: triangular 8-12 h profile, daily total only ~+45 %).
  const flow day = vs_baseline(s, signal::steps, H - 25, H - 4);
  const std::int32_t level = day.covered_s >= 12 * 3600 ? std::max(100, day.pct()) : 100;
  const std::int32_t ratio = f.pct() * 100 / level;
  if (ratio < th::estrus_ratio_pct) return;
  // A heat is walking, not a ratio of a few steps: HERD.md's heat raises the daily total ~45 %
  // within 8-12 h, ~9 % of a day's steps per 2 h on average; a 2x ratio over the low night
  // hours of an animal back from an illness (a depressed baseline) can be a few dozen steps.
  // The 2 h must carry >= 1.5 % of the animal's daily steps over its expected level.
  if (const auto base = activity_baseline(s, day_of(now), 7, 3)) {
    const std::int64_t excess = f.actual - f.expected * level / 100;
    if (excess * 1000 < static_cast<std::int64_t>(th::estrus_min_excess_permille) * base->value) return;
  }
  alert* open = find_open(s, alert_kind::estrus);
  // HERD.md: heats come every 21 days: a rise 10 h after a heat alert ended (not merged) and
  // within a few days of its start is not another heat (e.g. the milking-time walks of a cow
  // whose calving was not alerted, at the same hours every day).
  if (alert* last = find_latest(s, alert_kind::estrus); !open && last && now - last->started_at_ms < th::estrus_min_cycle_ms) return;
  if (!open) {
    // The onset: walk back while the hours were over the onset ratio.
    std::int64_t onset_h = H - 1;
    for (std::int64_t h = H - 2; h >= H - 12; --h) {
      const flow fh = vs_baseline(s, signal::steps, h, h);
      if (fh.covered_s < 1800 || fh.pct() < th::estrus_onset_ratio_pct) break;
      onset_h = h;
    }
    s.memory.estrus_onset_ms = std::min(onset_h * k_hour_ms, now);
  }
  s.memory.estrus_last_high_ms = now;
  alert_fields a;
  a.value = ratio;
  a.reference = 100;
  a.severity = alert_severity::info;
  a.window_from_ms = s.memory.estrus_onset_ms + th::estrus_ai_from_ms;
  a.window_to_ms = s.memory.estrus_onset_ms + th::estrus_ai_to_ms;
  a.evidence = fmt("activity %.1fx own same-hour baseline over the last 2 h; heat began ~%s", ratio / 100.0,
                   compact_utc(s.memory.estrus_onset_ms).c_str());
  if (open) {
    update(s, *open, now, a, 50, out);
  } else {
    raise(s, alert_kind::estrus, {}, now, a, out);
  }
}

rumination_eval evaluate_rumination(const animal_state& s, std::int64_t now) {
  rumination_eval e;
  const std::int64_t H = hour_of(now);
  // The baseline leaves out the days of a calving or an earlier illness (signals.hpp vs_healthy):
  // a fresh cow's ketosis (HERD.md: 5-20 days in milk) is measured against her healthy days,
  // also when a DA or a metritis before it left few of them in the last 7 days.
  const healthy_comparison c = vs_healthy(s, H, true);
  e.rum = c.rumination;
  const flow& f = c.rumination;
  const day_mask& skip = c.skip;
  if (f.covered_s < th::rumination_min_covered_s || f.expected <= 0) return e;
  e.valid = true;
  e.herd_drop = herd_rum_drop(s, now);
  e.drop = 100 - f.pct() - e.herd_drop;
  const flow& a24 = c.steps;
  e.act_drop = a24.expected > 0 ? 100 - a24.pct() : 0;
  // The animal's own day-to-day variation (HERD.md: within a cow SD 30-50 min/day [guess]) is a
  // larger share of a low ruminator's day: the thresholds grow with it. Measured on up to 10 days
  // before the last 2: a ketosis lowers rumination over 2 days (HERD.md: ~30 % lower), and
  // those days, counted as "variation", raised the threshold above the drop they showed. Days
  // of a calving or an illness (the mask) are not the cow's variation either.
  const std::int64_t sd_day = day_of(now) - th::rumination_sd_lag_days;
  e.rum_sd = std::max(daily_cv_pct(s, sd_day, false, skip), th::rumination_min_cv_pct);
  e.act_sd = std::max(daily_cv_pct(s, sd_day, true, skip), th::activity_min_cv_pct);
  // A fresh cow (HERD.md: ketosis and DA at 5-20 days in milk) needs less evidence from the
  // health index: its thresholds times fresh_evidence_pct (thresholds.hpp); not within a day
  // of an alert of hers clearing.
  const alert* open = find_open(s, alert_kind::rumination_drop);
  const alert* latest = find_latest(s, alert_kind::rumination_drop);
  const alert* last = open ? nullptr : latest;
  e.fresh = fresh_cow(s, now) && !(last && now - last->resolved_at_ms < th::fresh_requiet_ms);
  const auto need = [&e](std::int32_t v) { return e.fresh ? v * th::fresh_evidence_pct / 100 : v; };
  e.by_rumination = e.drop >= std::max(th::rumination_drop_pct, th::rumination_sd_factor_x10 * e.rum_sd / 10);
  // The health index (HERD.md's anchor: a rumination+activity index): both drops in units of the
  // own day-to-day variation, summed, so a deeper rumination drop makes up for a smaller
  // activity drop (HERD.md: ketosis lowers rumination ~30 %; its activity drop is not given).
  e.index_x10 = e.drop * 10 / e.rum_sd + e.act_drop * 10 / e.act_sd;
  e.by_index = e.drop >= std::max(need(th::rumination_index_min_drop_pct),
                                  need(th::rumination_index_rum_sd_x10) * e.rum_sd / 10) &&
               e.act_drop >= need(th::rumination_index_min_act_pct) &&
               e.drop + e.act_drop >= need(th::rumination_index_pct) &&
               e.index_x10 >= need(th::rumination_index_sd_sum_x10);
  // A fresh cow whose rumination and activity have both stayed below her healthy baseline for
  // two days (thresholds.hpp persist_*): the 24 h before the last 24 h, against the healthy days
  // before them, must show the same. It raises an alert and never holds another one open (under
  // the 15 % clearing level that would keep a recovering illness's alert open over the next one;
  // its own clears at persist_clear_drop_pct, rumination_rule), and both days must come after her
  // last alert cleared (a recovery's tail is not a new fall).
  const bool quiet = latest == nullptr || (!latest->open() && now - latest->resolved_at_ms >= th::persist_quiet_ms);
  if (e.fresh && quiet && !e.by_rumination && !e.by_index && persistent_fall(e.drop, e.act_drop, e.rum_sd, e.act_sd)) {
    const healthy_comparison p = vs_healthy(s, H - 24, true);
    if (p.rumination.covered_s >= th::rumination_min_covered_s && p.rumination.expected > 0 && p.steps.expected > 0) {
      e.by_persistence = persistent_fall(100 - p.rumination.pct() - e.herd_drop, 100 - p.steps.pct(), e.rum_sd, e.act_sd);
    }
  }
  return e;
}

void rumination_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out) {
  const rumination_eval e = evaluate_rumination(s, now);
  if (!e.valid) return;
  const flow& f = e.rum;
  const std::int32_t drop = e.drop;
  alert* open = find_open(s, alert_kind::rumination_drop);
  if (e.by_rumination || e.by_index || e.by_persistence) {
    alert_fields a;
    a.value = drop;
    a.reference = static_cast<std::int32_t>(f.expected * 86'400 / std::max<std::int64_t>(f.covered_s, 1) / 10);
    a.severity = drop >= th::rumination_critical_drop_pct ? alert_severity::critical : alert_severity::warning;
    a.evidence = fmt("rumination %d %% below own 7-day same-hour baseline over the last 24 h (%lld of %lld min), "
                     "activity %d %% below%s",
                     drop, static_cast<long long>(f.actual / 10), static_cast<long long>(f.expected / 10), e.act_drop,
                     e.fresh ? "; fresh cow (5-22 days after her calving alert)" : "");
    if (e.by_persistence && !e.by_rumination && !e.by_index) a.evidence += k_persistent_evidence;
    if (open && new_decline(s, *open, now, f, e.rum_sd)) {
      // A new illness under the open alert (thresholds.hpp relapse_min_age_ms): its own alert.
      resolve(s, *open, now, "superseded", out);
      a.evidence += "; a new decline after the open alert had levelled off";
      raise(s, alert_kind::rumination_drop, {}, now, a, out);
    } else if (open) {
      update(s, *open, now, a, 10, out);
    } else {
      raise(s, alert_kind::rumination_drop, {}, now, a, out);
    }
  } else if (open && drop < th::rumination_clear_drop_pct) {
    // An alert the persistent fall raised clears at its own level (thresholds.hpp
    // persist_clear_drop_pct): raised at ~10-15 % down, the 15 % clearing level would clear it at
    // the next evaluation, with the cow still down. Any other alert clears here, so a recovering
    // illness is not held open over the next one.
    if (!(raised_by_persistence(*open) && drop >= th::persist_clear_drop_pct)) {
      resolve(s, *open, now, "cleared", out);
    }
  }
}

void lameness_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out) {
  const std::int64_t D = day_of(now);
  std::int64_t act = 0, rum = 0;
  for (int d = 1; d <= th::lameness_recent_days; ++d) {
    const auto f = figures_of_day(s, D - d);
    if (!f) return;
    act += f->steps;
    rum += f->rum_min;
  }
  act /= th::lameness_recent_days;
  rum /= th::lameness_recent_days;
  // Baseline: the median of days 3-9 before, so a heat day (HERD.md: daily activity +45 %) in it
  // does not make the present look low.
  const std::int64_t base_day = D - th::lameness_recent_days - th::lameness_baseline_lag_days + 1;
  std::vector<std::int32_t> acts, rums;
  for (std::int64_t d = base_day - th::lameness_baseline_days; d < base_day; ++d) {
    if (const auto f = figures_of_day(s, d)) {
      acts.push_back(f->steps);
      rums.push_back(f->rum_min);
    }
  }
  if (acts.size() < 4) return;
  std::sort(acts.begin(), acts.end());
  std::sort(rums.begin(), rums.end());
  const std::int32_t act_base = acts[acts.size() / 2], rum_base = rums[rums.size() / 2];
  if (act_base <= 0 || rum_base <= 0) return;
  const auto act_drop = static_cast<std::int32_t>(100 - act * 100 / act_base);
  const auto rum_drop = static_cast<std::int32_t>(100 - rum * 100 / rum_base);
  alert* open = find_open(s, alert_kind::lameness);
  const bool ill = find_open(s, alert_kind::fever) != nullptr;
  if (act_drop >= th::lameness_drop_pct && rum_drop * 2 < act_drop && !ill) {
    alert_fields a;
    a.value = act_drop;
    a.reference = act_base;
    a.severity = alert_severity::warning;
    a.evidence = fmt("activity %d %% below own baseline over the last %d days (%lld vs %d steps/day), rumination %d %%",
                     act_drop, th::lameness_recent_days, static_cast<long long>(act), act_base, -rum_drop);
    if (open) {
      update(s, *open, now, a, 10, out);
    } else {
      raise(s, alert_kind::lameness, {}, now, a, out);
    }
  } else if (open && act_drop < th::lameness_clear_drop_pct) {
    resolve(s, *open, now, "cleared", out);
  }
}

void calving_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out) {
  if (alert* c = find_latest(s, alert_kind::calving); c && now - c->started_at_ms < th::calving_quiet_ms) return;
  const std::int64_t H = hour_of(now);
  // Temperature of the last 3 h against the same hours of the previous 1-3 days (HERD.md).
  const auto ex = temp_excess(s, H - 2, H, 3, 1);
  if (!ex) return;
  // The herd's own change against the previous days (a heat wave ending cools everyone) is
  // taken off.
  const bool fresh = herd_fresh(s, now);
  const std::int32_t herd = fresh ? s.herd.temp_vs_recent_centi : 0;
  const std::int32_t temp_drop = -(*ex - herd);
  if (temp_drop < th::calving_temp_drop_centi) return;
  // Below the animal's normal too, not just below yesterday: a fever going down also falls
  // against the previous days.
  const auto ex7 = temp_excess(s, H - 2, H);
  if (!ex7 || -(*ex7 - (fresh ? s.herd.temp_excess_centi : 0)) < th::calving_below_baseline_centi) return;
  const flow f = vs_baseline(s, signal::rumination, H - 5, H, 3, 2);
  if (f.covered_s < 4 * 3600 || f.expected <= 0) return;
  const std::int32_t rum_drop = 100 - f.pct() - (fresh ? std::max(0, s.herd.rum6_drop_pct) : 0);
  if (rum_drop < th::calving_rum_drop_pct) return;
  alert_fields a;
  a.value = -temp_drop;
  a.reference = 0;
  a.severity = alert_severity::warning;
  a.window_from_ms = now;
  a.window_to_ms = now + th::calving_horizon_ms;
  a.evidence = fmt("temperature %.2f °C vs the same hours of previous days, rumination -%d %% over 6 h", -temp_drop / 100.0,
                   rum_drop);
  raise(s, alert_kind::calving, {}, now, a, out);
}

void health_timeouts(animal_state& s, std::int64_t now, std::vector<alert_change>& out) {
  if (alert* e = find_open(s, alert_kind::estrus); e && now - s.memory.estrus_last_high_ms >= th::estrus_merge_ms) {
    resolve(s, *e, s.memory.estrus_last_high_ms + th::estrus_merge_ms, "timed_out", out);
  }
  if (alert* c = find_open(s, alert_kind::calving); c && now - c->started_at_ms >= th::calving_timeout_ms) {
    resolve(s, *c, c->started_at_ms + th::calving_timeout_ms, "timed_out", out);
  }
}

}  // namespace herd::rules::detail
