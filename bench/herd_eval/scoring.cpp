#include "scoring.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "herd/core/time_format.hpp"

namespace herd::eval {

namespace {

constexpr std::int64_t H = 3'600'000;
constexpr std::int64_t D = 24 * H;
// Health rules need a baseline: a week of history (HERD.md: 7-day rumination, 10-day
// temperature baselines). Health episodes and alerts are scored from day 8 on; device ones
// from day 2.
constexpr std::int64_t k_health_warmup = 7 * D;
constexpr std::int64_t k_device_warmup = 1 * D;

std::int64_t ms_of(const nlohmann::json& j, const char* k) {
  if (!j.contains(k) || j[k].is_null()) return 0;
  return core::parse_iso8601_utc(j[k].get<std::string>()).value_or(0);
}

stat3 stats(std::vector<double> v) {
  stat3 s;
  s.n = static_cast<int>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const auto q = [&](double p) {
    const double idx = p * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(idx));
    const auto hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
  };
  s.median = q(0.5);
  s.p10 = q(0.1);
  s.p90 = q(0.9);
  return s;
}

struct window {
  std::int64_t from, to;
};

}  // namespace

core::result<std::vector<truth_episode>> load_ground_truth(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return core::error::fatal("cannot read ground truth " + path.string());
  std::vector<truth_episode> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) return core::error::permanent("ground truth: a line is not JSON");
    truth_episode e;
    e.id = j.value("id", 0ULL);
    e.kind = j.value("kind", "");
    e.subtype = j["subtype"].is_null() ? "" : j["subtype"].get<std::string>();
    e.animal_id = j["animal_id"].is_null() ? "" : j["animal_id"].get<std::string>();
    e.collar_id = j["collar_id"].is_null() ? "" : j["collar_id"].get<std::string>();
    e.device = j["device"].is_null() ? "" : j["device"].get<std::string>();
    e.onset = ms_of(j, "onset");
    e.prodrome = ms_of(j, "prodrome");
    e.peak = ms_of(j, "peak");
    e.diagnosis = ms_of(j, "diagnosis");
    e.end = ms_of(j, "end");
    e.magnitude = j.value("magnitude", 0);
    e.silent = j.value("silent", false);
    out.push_back(std::move(e));
  }
  return out;
}

score_summary score(const run_output& run, const std::vector<truth_episode>& truth, std::int64_t S, std::int64_t E,
                    int head) {
  score_summary sum;
  const double health_days = static_cast<double>(E - S - k_health_warmup) / D;
  const double device_days = static_cast<double>(E - S - k_device_warmup) / D;
  sum.cow_days = head * health_days;
  const auto is_device = [](const std::string& k) {
    return k == "device_offline" || k == "collar_fallen_off" || k == "low_battery";
  };
  const auto scored_alert = [&](const raised_alert& a) {
    const std::string k(rules::to_string(a.kind));
    return a.started_ms >= S + (is_device(k) ? k_device_warmup : k_health_warmup) && a.started_ms <= E;
  };
  // Episodes that make an alert of kind k true, and the time window around them.
  const auto accepts = [&](const std::string& k, const truth_episode& e) -> std::optional<window> {
    const std::int64_t first = e.prodrome ? std::min(e.prodrome, e.onset) : e.onset;
    if (k == "fever" && e.kind == "fever") return window{e.onset - 6 * H, e.end + 12 * H};
    if (k == "estrus" && e.kind == "estrus") return window{e.onset - 2 * H, e.end + 10 * H};
    if (k == "rumination_drop" &&
        (e.kind == "ketosis" || e.kind == "displaced_abomasum" || e.kind == "fever" || e.kind == "lameness" ||
         e.kind == "calving"))
      return window{first - 24 * H, e.end + 24 * H};
    if (k == "lameness" && e.kind == "lameness") return window{e.onset, e.end + D};
    if (k == "calving" && e.kind == "calving") return window{e.peak - 36 * H, e.peak + 6 * H};
    if (k == "device_offline" && e.kind == "offline") return window{e.onset, e.end + 2 * H};
    if (k == "collar_fallen_off" && e.kind == "fall_off") return window{e.onset, e.end + H};
    return std::nullopt;
  };
  const auto matches = [&](const raised_alert& a, const truth_episode& e) {
    const std::string k(rules::to_string(a.kind));
    const auto w = accepts(k, e);
    if (!w || a.started_ms < w->from || a.started_ms > w->to) return false;
    if (is_device(k)) return a.device_id == e.collar_id;
    return a.animal_id == e.animal_id;
  };

  // PPV and false alerts per alert kind.
  std::map<std::string, std::pair<int, int>> per_kind;  // kind -> (alerts, true)
  std::set<std::pair<std::string, std::size_t>> alerted;  // (kind, truth index) matched by an earlier alert
  for (const auto& a : run.raised) {
    if (!scored_alert(a)) continue;
    const std::string k(rules::to_string(a.kind));
    bool ok = false;
    if (k == "low_battery") {
      ok = run.low_battery.count(a.device_id) > 0;
    } else {
      bool all_seen = true;
      for (std::size_t i = 0; i < truth.size(); ++i) {
        if (!matches(a, truth[i])) continue;
        ok = true;
        if (alerted.insert({k, i}).second) all_seen = false;  // an episode no earlier alert matched
      }
      if (ok && all_seen) {
        ++sum.repeat_alerts;
        ++sum.repeat_by_kind[k];
        sum.repeat_new_decline += a.evidence.find("a new decline") != std::string::npos;
      }
    }
    auto& [n, t] = per_kind[k];
    ++n;
    t += ok;
    ++sum.alerts_total;
    if (!ok) {
      ++sum.false_total;
      std::string near;
      for (const auto& e : truth) {
        const bool same = e.animal_id == a.animal_id || (!a.device_id.empty() && e.collar_id == a.device_id) ||
                          e.kind == "heat_stress";
        if (same && a.started_ms >= e.onset - 3 * D && a.started_ms <= std::max(e.end, e.onset) + 3 * D) {
          near += " " + e.kind + (e.silent ? "(silent)" : "") + "@" +
                  std::to_string((a.started_ms - e.onset) / H) + "h";
        }
      }
      sum.false_alert_lines.push_back(k + " " + a.animal_id + " " + core::iso8601_utc_ms(a.started_ms).substr(0, 16) +
                                      " | " + a.evidence + " | near:" + near);
      if (k == "fever") {
        if (auto it = run.animal_has_bolus.find(a.animal_id); it != run.animal_has_bolus.end() && it->second) {
          ++sum.false_fever_on_bolus;
        }
        if (std::any_of(truth.begin(), truth.end(), [&](const truth_episode& e) {
              return e.kind == "heat_stress" && a.started_ms >= e.onset - 6 * H && a.started_ms <= e.end + 6 * H;
            }))
          ++sum.false_fever_in_heat_stress;
      }
    }
  }
  sum.false_per_100_cow_days_total = sum.cow_days > 0 ? sum.false_total * 100.0 / sum.cow_days : 0;

  // Sensitivity rows.
  struct row_def {
    std::string name, alert_kind, target;
    std::function<bool(const truth_episode&)> pick;
    std::function<bool(const truth_episode&, const raised_alert&)> in_time;
    std::string in_time_rule;
  };
  const auto health_ep = [&](const truth_episode& e) {
    const std::int64_t ref = e.diagnosis ? e.diagnosis : e.end;
    return e.onset >= S + k_health_warmup && ref <= E;
  };
  const auto interval_ms = [&](const std::string& dev) {
    auto it = run.device_interval_s.find(dev);
    return it == run.device_interval_s.end() ? 3600 * 1000LL : it->second * 1000LL;
  };
  const std::vector<row_def> rows = {
      {"fever", "fever", ">=95 %, PPV >=90 %, median before diagnosis", [&](auto& e) { return e.kind == "fever" && health_ep(e); },
       [](auto& e, auto& a) { return a.started_ms <= e.diagnosis; }, "before diagnosis"},
      {"  mastitis", "fever", "", [&](auto& e) { return e.kind == "fever" && e.subtype == "mastitis" && health_ep(e); },
       [](auto& e, auto& a) { return a.started_ms <= e.diagnosis; }, "before diagnosis"},
      {"  pneumonia", "fever", "", [&](auto& e) { return e.kind == "fever" && e.subtype == "pneumonia" && health_ep(e); },
       [](auto& e, auto& a) { return a.started_ms <= e.diagnosis; }, "before diagnosis"},
      {"  metritis", "fever", "", [&](auto& e) { return e.kind == "fever" && e.subtype == "metritis" && health_ep(e); },
       [](auto& e, auto& a) { return a.started_ms <= e.diagnosis; }, "before diagnosis"},
      {"estrus (not silent)", "estrus", ">=90 %, PPV >=95 %, within 6 h of onset",
       [&](auto& e) { return e.kind == "estrus" && !e.silent && health_ep(e); },
       [](auto& e, auto& a) { return a.started_ms <= e.onset + 6 * H; }, "within 6 h of onset"},
      {"estrus silent", "estrus", "reported apart", [&](auto& e) { return e.kind == "estrus" && e.silent && health_ep(e); },
       [](auto& e, auto& a) { return a.started_ms <= e.onset + 6 * H; }, "within 6 h of onset"},
      {"ketosis", "rumination_drop", ">=90 %, median lead >=1.5 d",
       [&](auto& e) { return e.kind == "ketosis" && health_ep(e); },
       [](auto& e, auto& a) { return a.started_ms <= e.diagnosis - 36 * H; }, ">=1.5 d before diagnosis"},
      {"displaced abomasum", "rumination_drop", ">=90 %, median lead >=1.5 d",
       [&](auto& e) { return e.kind == "displaced_abomasum" && health_ep(e); },
       [](auto& e, auto& a) { return a.started_ms <= e.diagnosis - 36 * H; }, ">=1.5 d before diagnosis"},
      {"lameness", "lameness", ">=80 %", [&](auto& e) { return e.kind == "lameness" && health_ep(e); },
       [](auto& e, auto& a) { return a.started_ms <= e.diagnosis; }, "before diagnosis"},
      {"calving", "calving", ">=90 % within the last 24 h",
       [&](auto& e) { return e.kind == "calving" && e.peak >= S + k_health_warmup + D && e.peak <= E; },
       [](auto& e, auto& a) { return a.started_ms >= e.peak - 24 * H && a.started_ms <= e.peak; }, "in the last 24 h"},
      {"device offline", "device_offline", "100 % within 3 intervals",
       [&](auto& e) {
         return e.kind == "offline" && e.onset >= S + k_device_warmup && e.end <= E &&
                e.end - e.onset >= 3 * interval_ms(e.collar_id);
       },
       [&](auto& e, auto& a) { return a.started_ms <= e.onset + 3 * interval_ms(e.collar_id); }, "within 3 intervals"},
      {"collar fallen off", "collar_fallen_off", "100 % within 6 h",
       [&](auto& e) { return e.kind == "fall_off" && e.onset >= S + k_device_warmup && e.end <= E; },
       [](auto& e, auto& a) { return a.started_ms <= e.onset + 6 * H; }, "within 6 h"},
  };
  for (const auto& rd : rows) {
    kind_score ks;
    ks.name = rd.name;
    ks.alert_kind = rd.alert_kind;
    ks.target = rd.target;
    ks.in_time_rule = rd.in_time_rule;
    std::vector<double> ld, lo;
    for (const auto& e : truth) {
      if (!rd.pick(e)) continue;
      ++ks.episodes;
      const raised_alert* first = nullptr;
      for (const auto& a : run.raised) {
        if (std::string(rules::to_string(a.kind)) != rd.alert_kind || !matches(a, e)) continue;
        if (!first || a.started_ms < first->started_ms) first = &a;
      }
      if (!first) {
        std::string near;
        // The animal's alerts open at some time from 3 days before the onset to a day after the
        // end, also those raised earlier and still open then (one alert spanning two illnesses):
        // kind@start..resolved, hours from the onset ("open": not resolved by the run's end).
        for (const auto& a : run.raised) {
          if (a.animal_id == e.animal_id && a.started_ms <= std::max(e.end, e.onset) + D &&
              (a.resolved_ms == 0 || a.resolved_ms >= e.onset - 3 * D)) {
            const std::string until =
                a.resolved_ms == 0 ? std::string("open") : fmt::format("{:+}h", (a.resolved_ms - e.onset) / H);
            near += fmt::format(" {}@{:+}h..{}", rules::to_string(a.kind), (a.started_ms - e.onset) / H, until);
          }
        }
        sum.missed_lines.push_back(fmt::format("{} {} onset {} diagnosis {:+}h magnitude {} | alerts near:{}", rd.name,
                                               e.animal_id, core::iso8601_utc_ms(e.onset).substr(0, 16),
                                               e.diagnosis ? (e.diagnosis - e.onset) / H : 0, e.magnitude, near));
        continue;
      }
      ++ks.detected;
      ks.detected_in_time += rd.in_time(e, *first);
      if (e.kind == "ketosis" || e.kind == "displaced_abomasum") {
        sum.detected_lines.push_back(fmt::format(
            "{} {} onset {} diagnosis {:+}h magnitude {} | first alert {:+.1f}h from onset, {:+.1f}h from diagnosis | {}",
            rd.name, e.animal_id, core::iso8601_utc_ms(e.onset).substr(0, 16), (e.diagnosis - e.onset) / H, e.magnitude,
            static_cast<double>(first->started_ms - e.onset) / H, static_cast<double>(first->started_ms - e.diagnosis) / H,
            first->evidence));
      }
      const std::int64_t ref = rd.alert_kind == "calving" ? e.peak : e.diagnosis;
      if (ref) ld.push_back(static_cast<double>(first->started_ms - ref) / H);
      lo.push_back(static_cast<double>(first->started_ms - e.onset) / H);
    }
    ks.lead_diagnosis = stats(ld);
    ks.lead_onset = stats(lo);
    ks.lead_diagnosis_raw = ld;
    ks.lead_onset_raw = lo;
    if (rd.name == rd.alert_kind || rd.name == "estrus (not silent)" || rd.name == "device offline" ||
        rd.name == "collar fallen off") {
      const auto& [n, t] = per_kind[rd.alert_kind];
      ks.alerts = n;
      ks.true_alerts = t;
      ks.false_alerts = n - t;
      const double days = is_device(rd.alert_kind) ? device_days : health_days;
      ks.false_per_100_cow_days = head > 0 ? ks.false_alerts * 100.0 / (head * days) : 0;
    }
    sum.rows.push_back(ks);
  }
  // Alert-only rows: rumination_drop (any illness), low battery.
  for (const std::string k : {"rumination_drop", "low_battery"}) {
    kind_score ks;
    ks.name = k == "rumination_drop" ? "rumination drop (any illness)" : "low battery";
    ks.alert_kind = k;
    const auto& [n, t] = per_kind[k];
    ks.alerts = n;
    ks.true_alerts = t;
    ks.false_alerts = n - t;
    ks.false_per_100_cow_days = head > 0 ? ks.false_alerts * 100.0 / (head * (k == "low_battery" ? device_days : health_days)) : 0;
    if (k == "low_battery") {
      for (const auto& [dev, at] : run.low_battery) {
        if (at < S + k_device_warmup) continue;
        ++ks.episodes;
        const bool found = std::any_of(run.raised.begin(), run.raised.end(), [&](const raised_alert& a) {
          return a.kind == rules::alert_kind::low_battery && a.device_id == dev;
        });
        ks.detected += found;
        ks.detected_in_time += found;
      }
      ks.target = "100 %";
      ks.in_time_rule = "at the first low reading";
    } else {
      ks.target = "PPV (ketosis, DA, fever, lameness, calving)";
    }
    sum.rows.push_back(ks);
  }
  return sum;
}

stat3 stats_of(std::vector<double> hours) { return stats(std::move(hours)); }

score_summary pool(const std::vector<score_summary>& runs) {
  score_summary p;
  if (runs.empty()) return p;
  p.rows = runs[0].rows;
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const auto& r = runs[i];
    for (std::size_t k = 0; k < p.rows.size() && k < r.rows.size(); ++k) {
      auto& a = p.rows[k];
      const auto& b = r.rows[k];
      a.episodes += b.episodes;
      a.detected += b.detected;
      a.detected_in_time += b.detected_in_time;
      if (a.alerts >= 0) {
        a.alerts += b.alerts;
        a.true_alerts += b.true_alerts;
        a.false_alerts += b.false_alerts;
      }
      a.lead_diagnosis_raw.insert(a.lead_diagnosis_raw.end(), b.lead_diagnosis_raw.begin(), b.lead_diagnosis_raw.end());
      a.lead_onset_raw.insert(a.lead_onset_raw.end(), b.lead_onset_raw.begin(), b.lead_onset_raw.end());
    }
  }
  double cow_days = 0;
  for (const auto& r : runs) {
    p.alerts_total += r.alerts_total;
    p.false_total += r.false_total;
    p.false_fever_on_bolus += r.false_fever_on_bolus;
    p.false_fever_in_heat_stress += r.false_fever_in_heat_stress;
    p.repeat_alerts += r.repeat_alerts;
    p.repeat_new_decline += r.repeat_new_decline;
    for (const auto& [k, n] : r.repeat_by_kind) p.repeat_by_kind[k] += n;
    cow_days += r.cow_days;
  }
  p.cow_days = cow_days;
  p.false_per_100_cow_days_total = cow_days > 0 ? p.false_total * 100.0 / cow_days : 0;
  for (auto& a : p.rows) {
    a.lead_diagnosis = stats(a.lead_diagnosis_raw);
    a.lead_onset = stats(a.lead_onset_raw);
    // Per-kind false rate over the pooled herd-days (device rows use the same ratio of days).
    double fr = 0;
    for (const auto& r : runs) {
      for (const auto& b : r.rows) {
        if (b.name == a.name) fr += b.false_per_100_cow_days;
      }
    }
    a.false_per_100_cow_days = fr / static_cast<double>(runs.size());
  }
  return p;
}

}  // namespace herd::eval
