// herd-eval: runs the realistic herd model, feeds its readings as envelopes through the rules'
// fold (the same apply/advance the projector uses) and scores the alerts against the
// ground-truth file: sensitivity, PPV, false alerts per 100 cows per day, lead times.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eval_run.hpp"
#include "herd/core/time_format.hpp"
#include "score_db.hpp"
#include "scoring.hpp"

namespace {

std::string pct(int a, int b) { return b ? fmt::format("{:.1f}", 100.0 * a / b) : "-"; }
std::string lead(const herd::eval::stat3& s) {
  return s.n ? fmt::format("{:+.1f} [{:+.1f}, {:+.1f}]", s.median, s.p10, s.p90) : "-";
}

void print_table(const herd::eval::score_summary& s, const std::string& title) {
  std::printf("\n%s\n", title.c_str());
  std::printf("%-30s %5s %5s %6s %6s %5s %6s %6s %9s  %-26s %-26s  %s\n", "kind", "epis", "det", "sens%", "intime%", "alrt",
              "PPV%", "false", "FA/100cd", "lead vs diagnosis h", "lead vs onset h", "target");
  for (const auto& r : s.rows) {
    std::printf("%-30s %5d %5d %6s %6s %5s %6s %6s %9s  %-26s %-26s  %s\n", r.name.c_str(), r.episodes, r.detected,
                pct(r.detected, r.episodes).c_str(), pct(r.detected_in_time, r.episodes).c_str(),
                r.alerts >= 0 ? std::to_string(r.alerts).c_str() : "",
                r.alerts > 0 ? pct(r.true_alerts, r.alerts).c_str() : (r.alerts == 0 ? "-" : ""),
                r.alerts >= 0 ? std::to_string(r.false_alerts).c_str() : "",
                r.alerts >= 0 ? fmt::format("{:.3f}", r.false_per_100_cow_days).c_str() : "",
                lead(r.lead_diagnosis).c_str(), lead(r.lead_onset).c_str(), r.target.c_str());
  }
  std::printf("all kinds: %d alerts, %d false = %.3f false alerts per 100 cows per day (target <= 1); "
              "false fevers on bolus animals (drinking dips would show here): %d; false fevers in heat stress: %d\n",
              s.alerts_total, s.false_total, s.false_per_100_cow_days_total, s.false_fever_on_bolus,
              s.false_fever_in_heat_stress);
  std::string by_kind;
  for (const auto& [k, n] : s.repeat_by_kind) by_kind += fmt::format("{}{} {}", by_kind.empty() ? "" : ", ", k, n);
  std::printf("repeat alerts (true, but every episode they match was alerted before by the same kind): %d%s; "
              "raised by the rumination rule's new-decline split: %d\n",
              s.repeat_alerts, by_kind.empty() ? "" : fmt::format(" ({})", by_kind).c_str(), s.repeat_new_decline);
}

nlohmann::ordered_json to_json(const herd::eval::score_summary& s) {
  nlohmann::ordered_json j;
  const auto st = [](const herd::eval::stat3& x) {
    return nlohmann::ordered_json{{"n", x.n}, {"median_h", x.median}, {"p10_h", x.p10}, {"p90_h", x.p90}};
  };
  for (const auto& r : s.rows) {
    nlohmann::ordered_json k;
    k["name"] = r.name;
    k["alert_kind"] = r.alert_kind;
    k["episodes"] = r.episodes;
    k["detected"] = r.detected;
    k["sensitivity"] = r.episodes ? nlohmann::ordered_json(static_cast<double>(r.detected) / r.episodes) : nlohmann::ordered_json(nullptr);
    k["detected_in_time"] = r.detected_in_time;
    k["in_time_rule"] = r.in_time_rule;
    if (r.alerts >= 0) {
      k["alerts"] = r.alerts;
      k["true_alerts"] = r.true_alerts;
      k["false_alerts"] = r.false_alerts;
      k["ppv"] = r.alerts ? nlohmann::ordered_json(static_cast<double>(r.true_alerts) / r.alerts) : nlohmann::ordered_json(nullptr);
      k["false_per_100_cows_per_day"] = r.false_per_100_cow_days;
    }
    k["lead_vs_diagnosis"] = st(r.lead_diagnosis);
    k["lead_vs_onset"] = st(r.lead_onset);
    k["target"] = r.target;
    j["kinds"].push_back(k);
  }
  j["alerts_total"] = s.alerts_total;
  j["false_total"] = s.false_total;
  j["repeat_alerts"] = s.repeat_alerts;
  j["repeat_alerts_by_kind"] = s.repeat_by_kind;
  j["repeat_alerts_new_decline"] = s.repeat_new_decline;
  j["false_per_100_cows_per_day"] = s.false_per_100_cow_days_total;
  j["false_fever_on_bolus_animals"] = s.false_fever_on_bolus;
  j["false_fever_in_heat_stress"] = s.false_fever_in_heat_stress;
  j["scored_cow_days"] = s.cow_days;
  return j;
}

// The tuning listing: every false alert and every missed episode, one line each.
void print_listing(const herd::eval::score_summary& s) {
  for (const auto& l : s.false_alert_lines) std::printf("FALSE %s\n", l.c_str());
  for (const auto& l : s.missed_lines) std::printf("MISSED %s\n", l.c_str());
  for (const auto& l : s.detected_lines) std::printf("DETECTED %s\n", l.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"herd-eval: score the health rules against the simulated herd's ground truth"};
  herd::sim::herd_options base;
  base.animals = 200;
  base.days = 60;
  base.start_ms = *herd::core::parse_iso8601_utc("2026-06-01");  // summer: heat-stress days
  std::string config, json_out, truth_dir = ".", start;
  std::vector<std::uint64_t> seeds;
  int head = 0, days = 0;
  app.add_option("--config", config, "herd-sim TOML config ([herd], [episodes], [faults], [thi]); options override it");
  app.add_option("--head", head, "animals (default 200)")->check(CLI::Range(1, 99'999));
  app.add_option("--days", days, "simulated days (default 60)")->check(CLI::Range(1, 3660));
  app.add_option("--seed", seeds, "seed; repeat for several runs (default 1)");
  app.add_option("--start", start, "first day, ISO-8601 UTC (default 2026-06-01)");
  app.add_option("--json", json_out, "write the scores as JSON here");
  app.add_option("--truth-dir", truth_dir, "folder for the ground-truth files (default .)");
  bool list_false = false;
  std::string trace;
  app.add_option("--trace-animal", trace, "print this animal's hourly windows at the end (for tuning)");
  app.add_flag("--list-false", list_false,
               "print every false alert with the truth near it, and every missed episode with the animal's alerts "
               "near it (for tuning)");
  std::string score_db, truth_file;
  app.add_option("--score-db", score_db,
                 "score the alerts of this herd-projector SQLite read model instead of running the herd "
                 "(with --truth, --head, --days, --start of the herd that fed it)")
      ->check(CLI::ExistingFile);
  app.add_option("--truth", truth_file, "ground-truth file of the herd (herd-sim --ground-truth-out), for --score-db")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  if (!score_db.empty()) {
    if (truth_file.empty() || !head || !days) {
      std::fprintf(stderr, "herd-eval: --score-db needs --truth, --head and --days\n");
      return 2;
    }
    const auto s0 = start.empty() ? base.start_ms : herd::core::parse_iso8601_utc(start).value_or(base.start_ms);
    const std::int64_t e0 = s0 + static_cast<std::int64_t>(days) * 86'400'000;
    auto run = herd::eval::run_from_read_model(score_db);
    if (!run) {
      std::fprintf(stderr, "herd-eval: %s\n", run.err().message.c_str());
      return 1;
    }
    auto truth = herd::eval::load_ground_truth(truth_file);
    if (!truth) {
      std::fprintf(stderr, "herd-eval: %s\n", truth.err().message.c_str());
      return 1;
    }
    const auto s = herd::eval::score(*run, *truth, s0, e0, head);
    print_table(s, fmt::format("alerts in {} ({} alerts, {} animals) against {}: {} head x {} days from {}; health "
                               "episodes and alerts scored from day 8 (a week of baseline), device ones from day 2",
                               score_db, run->raised.size(), run->animals, truth_file, head, days,
                               herd::core::iso8601_utc_ms(s0).substr(0, 10)));
    print_listing(s);
    return 0;
  }

  if (!config.empty()) {
    herd::sim::herd_run_config run_cfg;
    if (auto st = herd::sim::load_herd_config(config, base, run_cfg); !st) {
      std::fprintf(stderr, "herd-eval: %s\n", st.err().message.c_str());
      return 2;
    }
  }
  if (head) base.animals = head;
  if (days) base.days = days;
  if (!start.empty()) {
    auto t = herd::core::parse_iso8601_utc(start);
    if (!t) {
      std::fprintf(stderr, "herd-eval: --start '%s' is not ISO-8601 UTC\n", start.c_str());
      return 2;
    }
    base.start_ms = *t;
  }
  if (seeds.empty()) seeds.push_back(config.empty() ? 1 : base.seed);

  std::vector<herd::eval::score_summary> all;
  nlohmann::ordered_json out;
  out["head"] = base.animals;
  out["days"] = base.days;
  out["start"] = herd::core::iso8601_utc_ms(base.start_ms);
  for (const auto seed : seeds) {
    herd::sim::herd_options o = base;
    o.seed = seed;
    herd::sim::herd h(o);
    const auto truth_path = std::filesystem::path(truth_dir) / fmt::format("ground-truth-seed{}.jsonl", seed);
    if (auto st = h.write_ground_truth(truth_path, h.end_ms()); !st) {
      std::fprintf(stderr, "herd-eval: %s\n", st.err().message.c_str());
      return 1;
    }
    const auto run = herd::eval::run_herd(h, 6, trace);
    auto truth = herd::eval::load_ground_truth(truth_path);
    if (!truth) {
      std::fprintf(stderr, "herd-eval: %s\n", truth.err().message.c_str());
      return 1;
    }
    const auto s = herd::eval::score(run, *truth, o.start_ms, h.end_ms(), o.animals);
    print_table(s, fmt::format("seed {}: {} head x {} days from {} ({} messages, {} applied, {} rejected, {} undecodable, "
                               "{} duplicates; {:.1f} s; state {:.0f} bytes/animal)",
                               seed, o.animals, o.days, herd::core::iso8601_utc_ms(o.start_ms).substr(0, 10),
                               run.messages, run.applied, run.rejected, run.undecodable, run.duplicates, run.seconds,
                               run.animals ? static_cast<double>(run.state_bytes_total) / run.animals : 0.0));
    if (list_false) print_listing(s);
    auto j = to_json(s);
    j["seed"] = seed;
    j["messages"] = run.messages;
    j["applied"] = run.applied;
    j["rejected"] = run.rejected;
    j["changes"] = run.changes;
    j["seconds"] = run.seconds;
    out["runs"].push_back(j);
    all.push_back(s);
  }
  if (all.size() > 1) {
    const auto p = herd::eval::pool(all);
    print_table(p, fmt::format("all {} seeds pooled", all.size()));
    out["pooled"] = to_json(p);
  }
  if (!json_out.empty()) {
    std::ofstream f(json_out);
    f << out.dump(2) << '\n';
    if (!f) {
      std::fprintf(stderr, "herd-eval: cannot write %s\n", json_out.c_str());
      return 1;
    }
  }
  return 0;
}
