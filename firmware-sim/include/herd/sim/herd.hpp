#pragma once
// A realistic simulated herd: animals with their own baselines and daily rhythms, health and
// reproduction episodes, devices (neck collars and reticular boluses) with their own sample
// rates, batteries, radio and clocks, and device faults. A pure generator: messages come out in
// the order they are sent (virtual time), deterministic from the seed; the ground truth (what
// really happened) is known from the start. The numbers come from ../shared/HERD.md.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/sim/collar_model.hpp"
#include "herd/sim/fleet.hpp"

namespace herd::sim {

enum class device_kind : std::uint8_t {
  collar,  // neck collar: interval aggregates, smoothed body temperature, no drinking dips
  bolus,   // reticular bolus: instantaneous reticulum temperature, shows drinking dips
};

enum class episode_kind : std::uint8_t {
  fever,               // subtype mastitis | pneumonia | metritis
  estrus,              // silent: no behavioural signs
  lameness,
  ketosis,
  displaced_abomasum,
  calving,
  heat_stress,         // herd-wide, from the THI series: animal -1
  offline,             // device episode: a gap, then a batch upload of the buffered readings
  fall_off,            // device episode: the collar lies in the bedding until refitted
  collar_move,         // device episode: the collar now sits on `other_animal`
};

std::string_view to_string(episode_kind k);
std::optional<episode_kind> episode_kind_from(std::string_view s);

// One thing that happened, with its timeline (ms since the epoch, UTC; 0 = not applicable).
struct episode {
  std::uint64_t id = 0;  // 1, 2, ... in onset order
  episode_kind kind = episode_kind::fever;
  std::string subtype;
  int animal = -1;        // animal index; -1 herd-wide
  int device = -1;        // the device on the animal at onset, or the device of a device episode
  int other_animal = -1;  // collar_move: the animal the collar goes to
  std::int64_t onset_ms = 0;      // first physiological change (fever: temperature starts rising)
  std::int64_t prodrome_ms = 0;   // fever: rumination and activity start falling
  std::int64_t peak_ms = 0;
  std::int64_t diagnosis_ms = 0;  // when a farmer or vet would diagnose it
  std::int64_t end_ms = 0;        // back to normal
  std::int32_t magnitude = 0;     // in `unit()` (fixed point, see unit())
  bool silent = false;            // estrus without behavioural signs
  bool scripted = false;          // from the episode script, not drawn from the seed
};

// What `magnitude` means for a kind, e.g. "delta_milli_c" for fever.
std::string_view magnitude_unit(episode_kind k);

struct episode_rates {
  // Incidences per animal and year [guess: mastitis ~25-30 % per lactation, pneumonia less].
  double fever_per_animal_year = 0.5;
  double lameness_per_animal_year = 0.3;
  // Shares of fresh cows (HERD.md: ketosis / DA at 5-20 days in milk [guess]).
  double ketosis_pct = 15;
  double displaced_abomasum_pct = 3;
  double metritis_pct = 10;  // fever with subtype metritis at 3-14 days in milk
  double silent_estrus_pct = 25;  // HERD.md: 20-30 % of heats are silent [guess]
  double conception_pct = 35;     // per estrus from 50 days in milk on [guess]
  bool estrus = true;
  bool calving = true;
};

struct fault_rates {
  double offline_per_device_day = 0.02;  // gaps starting per device and day
  int offline_min_s = 1800;
  int offline_max_s = 12 * 3600;
  int buffer_readings = 288;  // a device keeps this many readings while offline; older are lost
  double duplicate_pct = 0.2;  // readings sent twice (same seq and ts)
  double malformed_pct = 0.05; // readings replaced by a corrupt frame
  double fall_off_per_collar_year = 0.5;  // collars only; refitted after 6 h .. 3 days
  double move_per_collar_year = 0.2;      // two collars swapped between animals
};

// A scripted episode: the fields given override the ones drawn from the seed.
struct episode_script {
  episode_kind kind = episode_kind::fever;
  int animal = 0;
  std::int64_t onset_ms = 0;
  std::optional<std::string> subtype;
  std::optional<std::int64_t> peak_ms, diagnosis_ms, end_ms;
  std::optional<std::int32_t> magnitude;
  std::optional<bool> silent;
};

// A THI (temperature-humidity index) point; the series is interpolated linearly.
struct thi_point {
  std::int64_t at_ms = 0;
  std::int32_t thi_deci = 0;  // 723 = THI 72.3
};

struct herd_options {
  std::uint64_t seed = 1;
  int animals = 100;  // one device each at the start; 1..k_max_collars
  std::string farm_id = "farm-01";
  std::int64_t start_ms = k_default_start_ms;
  int days = 30;  // virtual days: episodes are scheduled and readings produced within them
  int bolus_pct = 30;              // share of devices that are boluses, the rest collars
  int bolus_interval_s = 600;      // HERD.md: a bolus sends 144 readings/day
  int collar_interval_s = 3600;    // HERD.md: a collar sends 12-24 aggregates/day
  std::vector<int> milking_min = {300, 1020};  // minutes of the day (05:00, 17:00)
  std::vector<int> feeding_min = {390, 1110};  // 06:30, 18:30
  bool random_episodes = true;
  std::vector<episode_script> script;
  episode_rates rates;
  fault_rates faults;
  std::vector<thi_point> thi;  // empty: a seasonal series drawn from the seed
  std::optional<std::uint32_t> first_seq;
};

core::status validate(const herd_options& opts);

// herd-sim's [run] section: how to run rather than what to simulate.
struct herd_run_config {
  std::optional<std::string> broker;
  std::optional<double> speed;  // virtual seconds per wall-clock second; 0 = as fast as possible
  std::optional<bool> realtime; // speed 1, starting now
  std::optional<double> rate;   // readings per second at most
  std::optional<std::string> ground_truth, registry, json_out;  // output paths
};

// Loads herd-sim's TOML config ([herd], [episodes], [faults], [thi], [run]) into `opts` and
// `run` (keys absent keep their value; also loads the script and THI files it names, relative
// to the config file; output paths in [run] stay relative to the working directory). Unknown
// keys are errors; errors name the key.
core::status load_herd_config(const std::filesystem::path& path, herd_options& opts,
                              herd_run_config& run);
// Episode script: JSON lines in the ground-truth format; kind, animal_id (or animal index
// "animal") and onset are required, the rest optional.
core::result<std::vector<episode_script>> load_episode_script(const std::filesystem::path& path,
                                                              int animals);
// THI series: CSV "time,thi" (ISO-8601 UTC, number), header optional.
core::result<std::vector<thi_point>> load_thi_csv(const std::filesystem::path& path);

struct herd_stats {
  std::uint64_t sampled = 0;      // readings measured by devices
  std::uint64_t sent = 0;         // messages yielded (incl. duplicates and malformed)
  std::uint64_t valid = 0;        // distinct well-formed readings sent (what the gateway stores)
  std::uint64_t live = 0;         // readings sent when measured
  std::uint64_t batched = 0;      // readings sent late, in a batch after an offline gap
  std::uint64_t lost = 0;         // readings dropped from a full buffer while offline
  std::uint64_t duplicates = 0;   // extra copies sent
  std::uint64_t malformed = 0;    // corrupt frames sent (instead of a reading, or its duplicate)
  std::uint64_t fallen_readings = 0;  // readings of a collar lying in the bedding
  std::uint64_t no_temp = 0;      // readings measured without temp_c (sensor outside 25..45 °C)
};

// What a device on an animal measures (no device faults), for tests, the Modbus slots and the
// fleet adapter. Deterministic, a pure function of (animal, time).
struct animal_profile {
  std::int32_t temp_base_milli_c;  // rectal-equivalent baseline, HERD.md 38.3-38.8 °C
  std::int32_t rum_min_day;        // HERD.md 441 ± 71 min/day
  std::int32_t steps_day;          // HERD.md 2,500-3,000 steps/day
  std::int32_t lying_min_day;      // HERD.md median 11.4 h/day
  std::int32_t dim_at_start;       // days in milk at the start
  std::int32_t parity;
};

class herd final {
 public:
  explicit herd(herd_options opts);  // throws std::invalid_argument when validate() fails
  ~herd();
  herd(herd&&) noexcept;
  herd& operator=(herd&&) noexcept;

  // The next message in send order; nullopt once virtual time reaches start + days.
  std::optional<message> next();

  const herd_options& options() const;
  std::int64_t end_ms() const;
  const herd_stats& stats() const;

  int devices() const;
  device_kind kind(int device) const;
  int interval_s(int device) const;
  const animal_profile& profile(int animal) const;
  // Days in milk of `animal` at `t_ms` (UTC ms): since its calving in the run, else counted from
  // profile().dim_at_start. Continues past 305 (dry) until the next calving.
  std::int64_t days_in_milk(int animal, std::int64_t t_ms) const;
  // The animal wearing `device` at `at_ms`.
  int animal_of(int device, std::int64_t at_ms) const;

  // Every episode of the run, sorted by onset (device and herd-wide ones included).
  const std::vector<episode>& episodes() const;

  // The animal's true state over [t_ms, t_ms + interval_s) as a device of `kind` would report it
  // (temperature at the end of the interval), without device faults.
  collar_values measure(int animal, std::int64_t t_ms, int interval_s, device_kind kind) const;
  // Body temperature in milli-°C at one instant: the reticulum (with drinking dips) for a bolus.
  std::int32_t core_temp_milli_c(int animal, std::int64_t t_ms, bool reticulum) const;
  // THI at an instant, tenths.
  std::int32_t thi_deci(std::int64_t t_ms) const;
  struct drink { std::int64_t at_ms; std::int32_t dip_milli_c; std::int32_t recovery_s; };
  std::vector<drink> drinking_bouts(int animal, std::int64_t day_start_ms) const;

  // Registry rows: one per device from before the start, plus a row per collar move.
  std::vector<registry_entry> registry() const;
  core::status write_registry(const std::filesystem::path& path) const;
  // Ground truth: every episode with onset before `until_ms`, one JSON object per line.
  core::status write_ground_truth(const std::filesystem::path& path, std::int64_t until_ms) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// One ground-truth JSON line for an episode (no newline).
std::string ground_truth_line(const episode& e, const herd& h);

// The herd's physiology behind the fleet's collar_model interface: collar `c` is animal `c`
// with a neck collar sampled every interval_s from start_ms; no device faults.
std::unique_ptr<collar_model> make_herd_model(std::uint64_t seed, int collars, int interval_s,
                                              std::int64_t start_ms = k_default_start_ms);

}  // namespace herd::sim
