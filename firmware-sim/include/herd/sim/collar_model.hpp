#pragma once
// What the collars measure. The fleet owns ids, seq, ts and the wire format; a model owns only
// the sensor values, so a realistic herd (fever, heat, lameness, with ground truth) can replace
// the baseline model without touching the rest.
#include <cstdint>
#include <memory>

namespace herd::sim {

// One collar's figures for one interval. Fixed-point integers: nothing on the path from seed to
// payload bytes is floating point, so output is byte-identical across platforms.
struct collar_values {
  std::int32_t temp_centi_c = 0;   // 3862 = 38.62 °C
  std::uint32_t steps = 0;         // steps in the interval
  std::uint32_t rum_deci_min = 0;  // 31 = 3.1 rumination minutes in the interval
  std::uint32_t batt_pct = 0;      // 0..100
  std::int32_t rssi_dbm = 0;       // -140..0
  // Extensions (the realistic herd); defaults keep the baseline output unchanged.
  bool has_temp = true;            // false: the payload has no temp_c (sensor outside 25..45 °C)
  std::uint32_t lying_deci_min = 0;  // lying minutes in the interval, tenths (not in the payload)
};

// Called by the fleet on one thread, in fleet order; `k` is the collar's reading number
// (0, 1, 2, ...), each k asked exactly once per collar, in increasing order.
class collar_model {
 public:
  virtual ~collar_model() = default;
  virtual collar_values sample(int collar, std::uint64_t k) = 0;
};

// Healthy, unremarkable cattle: per-collar baselines drawn from the seed, independent noise per
// reading, a slowly draining battery. Values stay within the collar format's valid ranges for any
// interval_s in 1..86400.
std::unique_ptr<collar_model> make_baseline_model(std::uint64_t seed, int collars, int interval_s);

}  // namespace herd::sim
