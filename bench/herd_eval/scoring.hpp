#pragma once
// herd-eval's scoring: alerts against the ground-truth file (firmware-sim's format).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eval_run.hpp"
#include "herd/core/result.hpp"

namespace herd::eval {

struct truth_episode {
  std::uint64_t id = 0;
  std::string kind, subtype, animal_id, collar_id, device;
  std::int64_t onset = 0, prodrome = 0, peak = 0, diagnosis = 0, end = 0;  // ms, 0 = none
  std::int32_t magnitude = 0;
  bool silent = false;
};

core::result<std::vector<truth_episode>> load_ground_truth(const std::filesystem::path& path);

struct stat3 {
  int n = 0;
  double median = 0, p10 = 0, p90 = 0;  // hours
};

struct kind_score {
  std::string name;         // row name, e.g. "fever", "ketosis (rumination_drop)"
  std::string alert_kind;   // the alert kind scored
  int episodes = 0;         // scored episodes
  int detected = 0;
  int detected_in_time = 0; // within the kind's time target (device kinds, calving, estrus)
  std::string in_time_rule; // what "in time" means
  int alerts = -1;          // alerts of the kind in the scoring window (-1: row is sensitivity only)
  int true_alerts = 0;
  int false_alerts = 0;
  double false_per_100_cow_days = 0;
  stat3 lead_diagnosis;     // alert - diagnosis (negative = before), hours
  stat3 lead_onset;         // alert - onset, hours
  std::string target;
  std::vector<double> lead_diagnosis_raw, lead_onset_raw;  // hours, for pooling seeds
};

struct score_summary {
  std::vector<kind_score> rows;
  int alerts_total = 0;
  int false_total = 0;
  double false_per_100_cow_days_total = 0;
  int false_fever_on_bolus = 0;           // drinking dips would show here
  int false_fever_in_heat_stress = 0;
  // True alerts every episode of which an earlier alert of the same kind and animal had already
  // matched: one illness alerted twice (e.g. split by the rumination rule's new-decline check).
  // The PPV counts them as true; this says how many there are.
  int repeat_alerts = 0;
  std::map<std::string, int> repeat_by_kind;  // of repeat_alerts, per alert kind
  int repeat_new_decline = 0;                 // of repeat_alerts, raised by the new-decline split
  double cow_days = 0;
  std::vector<std::string> false_alert_lines;  // one per false alert: what, when, nearby truth
  std::vector<std::string> missed_lines;       // one per missed episode: what, when, the animal's alerts near it
  // One per detected ketosis / displaced abomasum: when, its first alert's lead and evidence (for tuning the lead).
  std::vector<std::string> detected_lines;
};

stat3 stats_of(std::vector<double> hours);
// Pools several runs (seeds): counts add up, lead times are pooled.
score_summary pool(const std::vector<score_summary>& runs);

score_summary score(const run_output& run, const std::vector<truth_episode>& truth, std::int64_t start_ms,
                    std::int64_t end_ms, int head);

}  // namespace herd::eval
