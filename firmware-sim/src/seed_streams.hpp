#pragma once
// Stream numbers for derive_seed(). Fixed forever: changing one changes every simulated value.
#include <cstdint>

namespace herd::sim {

inline constexpr std::uint64_t k_stream_seq = 1;      // each collar's first seq
inline constexpr std::uint64_t k_stream_profile = 2;  // baseline model: per-collar character
inline constexpr std::uint64_t k_stream_noise = 3;    // baseline model: per-reading noise

}  // namespace herd::sim
