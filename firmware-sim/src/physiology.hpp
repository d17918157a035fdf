#pragma once
// The animals of the realistic herd: profiles, daily rhythms, episode schedules and what a
// device on an animal measures. Integer arithmetic throughout (see fixed_math.hpp).
#include <array>
#include <cstdint>
#include <vector>

#include "herd/sim/herd.hpp"
#include "herd/sim/rng.hpp"

namespace herd::sim::detail {

inline constexpr std::int64_t k_min_ms = 60'000;
inline constexpr std::int64_t k_hour_ms = 3'600'000;
inline constexpr std::int64_t k_day_ms = 86'400'000;

// Stream numbers for the herd (the fleet uses 1..3; these are fixed forever as well).
enum stream : std::uint64_t {
  s_profile = 101,
  s_seq = 102,
  s_device = 103,
  s_episodes = 104,
  s_faults = 105,
  s_noise = 106,
  s_day = 107,
  s_drink = 108,
  s_rssi = 109,
  s_thi = 110,
  s_moves = 111,
  s_sample = 112,
  s_secondary = 113,
  s_battery = 114,
};

// Per-minute weights of one day (UTC minutes) and their running sums, for integrals over any
// interval at one-second resolution.
struct day_curve {
  std::array<std::int64_t, 1440> w{};
  std::array<std::int64_t, 1441> cum{};  // cum[m] = sum of w[0..m)
  void finish();
  // ∫ w over [t0_s, t1_s) in weight-seconds (t in seconds since the epoch).
  std::int64_t integral(std::int64_t t0_s, std::int64_t t1_s) const;
  std::int64_t per_day() const { return cum[1440] * 60; }
};

struct animal_state {
  animal_profile p;
  std::int32_t heat_sensitivity_pct;  // 70..130: individual response to THI
  std::int64_t calving_ms = 0;        // calving inside the run, 0 none
  std::vector<std::size_t> episodes;  // indices into physiology::episodes, onset order
};

struct effects {
  std::int64_t temp_milli = 0;
  std::int64_t act_permille = 1000;
  std::int64_t rum_permille = 1000;
  std::int64_t lie_permille = 1000;
};

class physiology {
 public:
  physiology(const herd_options& o);

  const herd_options& opts() const { return o_; }
  std::int64_t end_ms() const { return end_ms_; }
  const animal_state& animal(int a) const { return animals_[static_cast<std::size_t>(a)]; }
  std::vector<episode>& episodes() { return episodes_; }
  const std::vector<episode>& episodes() const { return episodes_; }
  // Call after adding device episodes: sorts, numbers and indexes the episodes.
  void finish_episodes();

  std::int64_t days_in_milk(int a, std::int64_t t_ms) const;  // herd::days_in_milk
  bool lactating(int a, std::int64_t t_ms) const;
  effects effects_at(int a, std::int64_t t_ms) const;
  std::int32_t thi_deci(std::int64_t t_ms) const;
  std::int32_t ambient_milli_c(std::int64_t t_ms) const;
  std::int32_t core_temp_milli_c(int a, std::int64_t t_ms, bool reticulum) const;
  std::int32_t drinking_dip_milli_c(int a, std::int64_t t_ms) const;
  std::vector<herd::drink> drinking_bouts(int a, std::int64_t day) const;  // day since epoch
  collar_values measure(int a, std::int64_t t_end_ms, int interval_s, device_kind kind) const;

 private:
  void build_curves();
  void schedule(int a);
  void add_heat_stress_episodes();
  episode make(episode_kind kind, int a, std::int64_t onset_ms, rng& r) const;
  std::uint64_t secondary(const episode& e, std::uint64_t what) const;

  herd_options o_;
  std::int64_t end_ms_;
  std::vector<animal_state> animals_;
  std::vector<episode> episodes_;
  day_curve act_[2], rum_, lie_;               // act_[1]: lactating (milking peaks)
  std::array<std::int32_t, 1440> rhythm_[2]{};  // temperature, milli-°C, [1]: lactating
};

}  // namespace herd::sim::detail
