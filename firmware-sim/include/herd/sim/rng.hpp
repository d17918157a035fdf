#pragma once
// The simulator's own PRNG. std::uniform_*_distribution is implementation-defined and differs
// between libstdc++, libc++ and MSVC; everything here is fixed integer arithmetic, so a seed gives
// byte-identical output on every platform and compiler.
#include <cstdint>

namespace herd::sim {

// splitmix64 (Steele, Lea, Flood 2014): a good 64-bit mixer; used to expand seeds.
constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// An independent seed for one purpose ("stream") of one collar, so that adding collars or a new
// stream never shifts the values of existing ones.
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  std::uint64_t s = seed;
  const std::uint64_t a = splitmix64(s) ^ stream;
  s = a;
  const std::uint64_t b = splitmix64(s) ^ index;
  s = b;
  return splitmix64(s);
}

// xoshiro256** 1.0 (Blackman, Vigna 2018), seeded through splitmix64 as its authors recommend.
class rng {
 public:
  explicit constexpr rng(std::uint64_t seed) {
    for (auto& word : s_) word = splitmix64(seed);
  }

  constexpr std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [lo, hi] (inclusive), unbiased: rejection instead of a plain modulo.
  constexpr std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    if (span == ~std::uint64_t{0}) return static_cast<std::int64_t>(next());
    const std::uint64_t range = span + 1;
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % range);
    std::uint64_t x = next();
    while (x >= limit) x = next();
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + x % range);
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

}  // namespace herd::sim
