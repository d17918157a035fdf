#pragma once
// Integer-only helpers for the herd model. libm's sin/exp are not correctly rounded and differ
// between platforms; the output bytes depend on these values, so they are integer arithmetic.
#include <cstdint>

#include "herd/sim/rng.hpp"

namespace herd::sim::fx {

// cos(2π · num / den) · 1,000,000, |error| < 2 (Taylor series in Q30 on a reduced angle).
constexpr std::int64_t cos_micro(std::int64_t num, std::int64_t den) {
  std::int64_t r = num % den;
  if (r < 0) r += den;
  // Quadrant and angle within it, in Q28 radians: x = 2π r / den - q π/2, 0 <= x < π/2.
  // Q28 keeps every product below 2^63 up to x^10.
  const std::int64_t four_r = 4 * r;
  const std::int64_t q = four_r / den;
  const std::int64_t rem = four_r - q * den;  // in [0, den)
  constexpr std::int64_t half_pi_q28 = 421'657'428;  // π/2 · 2^28
  const std::int64_t x = (half_pi_q28 / den) * rem + ((half_pi_q28 % den) * rem) / den;
  constexpr std::int64_t one = std::int64_t{1} << 28;
  const std::int64_t x2 = (x * x) >> 28;
  const std::int64_t x4 = (x2 * x2) >> 28;
  const std::int64_t x6 = (x4 * x2) >> 28;
  const std::int64_t x8 = (x6 * x2) >> 28;
  const std::int64_t x10 = (x8 * x2) >> 28;
  const std::int64_t c = one - x2 / 2 + x4 / 24 - x6 / 720 + x8 / 40320 - x10 / 3628800;
  const std::int64_t x3 = (x2 * x) >> 28;
  const std::int64_t x5 = (x3 * x2) >> 28;
  const std::int64_t x7 = (x5 * x2) >> 28;
  const std::int64_t x9 = (x7 * x2) >> 28;
  const std::int64_t s = x - x3 / 6 + x5 / 120 - x7 / 5040 + x9 / 362880;
  std::int64_t v = 0;
  switch (q) {
    case 0: v = c; break;
    case 1: v = -s; break;
    case 2: v = -c; break;
    default: v = s; break;
  }
  // Q28 -> micro, rounded half away from zero.
  const std::int64_t scaled = v * 1'000'000;
  return scaled >= 0 ? (scaled + (one >> 1)) >> 28 : -((-scaled + (one >> 1)) >> 28);
}

static_assert(cos_micro(0, 4) == 1'000'000);
static_assert(cos_micro(1, 4) == 0);
static_assert(cos_micro(2, 4) == -1'000'000);
static_assert(cos_micro(1, 8) >= 707'105 && cos_micro(1, 8) <= 707'109);
static_assert(cos_micro(3, 8) >= -707'109 && cos_micro(3, 8) <= -707'105);

// A counter-based generator: the value for (seed, stream, a, b) without any state, so a draw
// depends only on what it is for, never on the order of calls.
constexpr std::uint64_t hash4(std::uint64_t seed, std::uint64_t stream, std::uint64_t a,
                              std::uint64_t b) {
  std::uint64_t s = seed ^ (stream * 0x9e3779b97f4a7c15ULL);
  std::uint64_t h = splitmix64(s);
  s = h ^ a;
  h = splitmix64(s);
  s = h ^ (b * 0xd1b54a32d192ed03ULL);
  return splitmix64(s);
}

// Another independent-looking value from the same hash (for a second draw).
constexpr std::uint64_t remix(std::uint64_t h, std::uint64_t k) {
  std::uint64_t s = h ^ (k * 0xa0761d6478bd642fULL);
  return splitmix64(s);
}

// Uniform in [lo, hi] from a hash (modulo bias < 2^-40 for the spans used here).
constexpr std::int64_t uniform_from(std::uint64_t h, std::int64_t lo, std::int64_t hi) {
  const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<std::int64_t>(h % span);
}

// Approximately normal, mean 0, standard deviation `sd` (Irwin-Hall: sum of 4 uniforms), from
// a hash. Bounded to ±3.46 sd.
constexpr std::int64_t normal_from(std::uint64_t h, std::int64_t sd) {
  // 4 uniforms of 16 bits: each has variance 2^32/12, the sum 2^32/3; sd of the sum 2^16/sqrt 3.
  std::int64_t sum = 0;
  for (int i = 0; i < 4; ++i) sum += static_cast<std::int64_t>((h >> (16 * i)) & 0xffff) - 32768;
  // sum / (65536 / sqrt 3) · sd = sum · sd · 1.7320508 / 65536
  return sum * sd * 17'320 / (65'536 * 10'000);
}

inline std::int64_t normal(rng& r, std::int64_t sd) { return normal_from(r.next(), sd); }

constexpr std::int64_t clamp(std::int64_t v, std::int64_t lo, std::int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// Probability in parts per million from a configured percent or rate; rounding a double once is
// deterministic (IEEE), everything after that is integer.
inline std::int64_t ppm(double value) {
  const double v = value * 1'000'000.0;
  return v <= 0 ? 0 : static_cast<std::int64_t>(v + 0.5);
}

// An exponential waiting time with the given mean, in the unit of mean (integer; -ln u via a
// table-free bit trick: geometric in steps of mean/16 is close enough for scheduling).
inline std::int64_t exponential(rng& r, std::int64_t mean) {
  // P(step) = 1/16 per step of mean/16: a geometric variable with the right mean.
  if (mean <= 0) return 0;
  const std::int64_t step = mean / 16 > 0 ? mean / 16 : 1;
  std::int64_t t = 0;
  for (;;) {
    const std::uint64_t x = r.next();
    // 16 draws of 4 bits per 64-bit word; a 4-bit draw of 0 has probability 1/16.
    for (int i = 0; i < 16; ++i) {
      t += step;
      if (((x >> (4 * i)) & 0xf) == 0) return t - static_cast<std::int64_t>(r.uniform(0, step - 1));
    }
  }
}

}  // namespace herd::sim::fx
