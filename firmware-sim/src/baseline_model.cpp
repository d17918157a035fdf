#include <algorithm>
#include <vector>

#include "herd/sim/collar_model.hpp"
#include "herd/sim/rng.hpp"
#include "seed_streams.hpp"

namespace herd::sim {

namespace {

// Per-collar character, drawn once from the collar's own stream.
struct profile {
  std::int32_t temp_base_centi_c;   // healthy core temperature, 38.30..38.80 °C
  std::int64_t steps_per_10min;     // mean activity, 60..300
  std::int64_t rum_share_pct;       // share of time spent ruminating, 25..45 %
  std::int64_t batt_start_pct;      // 70..100 at the first reading
  std::int64_t drain_micro_pct_day; // 0.1..0.5 % per day
  std::int32_t rssi_base_dbm;       // -90..-60: distance to the base station
};

class baseline_model final : public collar_model {
 public:
  baseline_model(std::uint64_t seed, int collars, int interval_s) : interval_s_(interval_s) {
    profiles_.reserve(static_cast<std::size_t>(collars));
    noise_.reserve(static_cast<std::size_t>(collars));
    for (int c = 0; c < collars; ++c) {
      const auto idx = static_cast<std::uint64_t>(c);
      rng r(derive_seed(seed, k_stream_profile, idx));
      profile p{};
      p.temp_base_centi_c = static_cast<std::int32_t>(r.uniform(3830, 3880));
      p.steps_per_10min = r.uniform(60, 300);
      p.rum_share_pct = r.uniform(25, 45);
      p.batt_start_pct = r.uniform(70, 100);
      p.drain_micro_pct_day = r.uniform(100'000, 500'000);
      p.rssi_base_dbm = static_cast<std::int32_t>(r.uniform(-90, -60));
      profiles_.push_back(p);
      noise_.emplace_back(derive_seed(seed, k_stream_noise, idx));
    }
  }

  collar_values sample(int collar, std::uint64_t k) override {
    const auto c = static_cast<std::size_t>(collar);
    const profile& p = profiles_[c];
    rng& r = noise_[c];
    // Draw order is part of the output: append new draws at the end, never reorder.
    const std::int64_t temp_noise = r.uniform(-25, 25);
    const std::int64_t activity_pct = r.uniform(0, 200);
    const std::int64_t rum_noise_pct = r.uniform(-15, 15);
    const std::int64_t rssi_noise = r.uniform(-6, 6);

    collar_values v;
    v.temp_centi_c = static_cast<std::int32_t>(std::clamp<std::int64_t>(
        p.temp_base_centi_c + temp_noise, 3800, 3950));

    // Activity is specified per 10 min (0..1000) and scaled to the interval; the collar format
    // caps steps at 100,000 per reading.
    const std::int64_t per_10min =
        std::clamp<std::int64_t>(p.steps_per_10min * activity_pct / 100, 0, 1000);
    v.steps = static_cast<std::uint32_t>(
        std::min<std::int64_t>(per_10min * interval_s_ / 600, 100'000));

    // Rumination cannot exceed the interval: at most interval_s / 60 min = interval_s / 6 tenths.
    const std::int64_t max_deci = interval_s_ / 6;
    const std::int64_t share = std::clamp<std::int64_t>(p.rum_share_pct + rum_noise_pct, 0, 100);
    v.rum_deci_min = static_cast<std::uint32_t>(max_deci * share / 100);

    const std::int64_t elapsed_s = static_cast<std::int64_t>(k) * interval_s_;
    const std::int64_t drained = elapsed_s * p.drain_micro_pct_day / 86'400;
    const std::int64_t batt_micro = p.batt_start_pct * 1'000'000 - drained;
    // Rounded up, as collars report: a full battery reads 100 % until a whole percent is gone.
    v.batt_pct = static_cast<std::uint32_t>(
        (std::max<std::int64_t>(batt_micro, 0) + 999'999) / 1'000'000);

    v.rssi_dbm = static_cast<std::int32_t>(
        std::clamp<std::int64_t>(p.rssi_base_dbm + rssi_noise, -100, -50));
    return v;
  }

 private:
  std::int64_t interval_s_;
  std::vector<profile> profiles_;
  std::vector<rng> noise_;
};

}  // namespace

std::unique_ptr<collar_model> make_baseline_model(std::uint64_t seed, int collars, int interval_s) {
  return std::make_unique<baseline_model>(seed, collars, interval_s);
}

}  // namespace herd::sim
