#include "herd/sim_modbus/walkover_scale.hpp"

#include <numeric>
#include <stdexcept>
#include <string>

#include "herd/sim/ids.hpp"
#include "herd/sim/rng.hpp"

namespace herd::sim_modbus {

namespace {

constexpr std::int64_t k_day_ms = 86'400'000;
constexpr std::int64_t k_hour_ms = 3'600'000;
// Milking times [guess]: twice a day, 05:00 and 16:00 UTC. HERD.md: walk-over weight is taken
// per milking.
constexpr std::int64_t k_milking_hour[2] = {5, 16};
// Seed streams of the scale (distinct from each other; "SCALE" + a number).
constexpr std::uint64_t k_stream_order = 0x5343414c45000001ULL;
constexpr std::uint64_t k_stream_gap = 0x5343414c45000002ULL;
constexpr std::uint64_t k_stream_body = 0x5343414c45000003ULL;
constexpr std::uint64_t k_stream_day = 0x5343414c45000004ULL;
constexpr std::uint64_t k_stream_weighing = 0x5343414c45000005ULL;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

}  // namespace

scale_model::scale_model(std::uint64_t seed, int animals, std::int64_t start_ms)
    : seed_(seed), animals_(animals), start_ms_(start_ms) {
  if (animals < 1 || animals > k_max_animals) {
    throw std::invalid_argument("scale animals must be 1.." + std::to_string(k_max_animals) +
                                ", got " + std::to_string(animals));
  }
  std::int64_t k = 2 * floor_div(start_ms, k_day_ms);
  while (session_start_ms(k) < start_ms) ++k;
  first_session_ = k;
}

std::int64_t scale_model::session_start_ms(std::int64_t session) const {
  return floor_div(session, 2) * k_day_ms + k_milking_hour[session & 1] * k_hour_ms;
}

void scale_model::load_session(std::int64_t session) {
  if (session == cached_session_) return;
  const auto n = static_cast<std::size_t>(animals_);
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  sim::rng shuffle(sim::derive_seed(seed_, k_stream_order, static_cast<std::uint64_t>(session)));
  for (std::size_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    const auto j = static_cast<std::size_t>(shuffle.uniform(0, static_cast<std::int64_t>(i)));
    std::swap(order_[i], order_[j]);
  }
  // Cows leave the parlour one by one, 8-20 s apart [guess].
  sim::rng gaps(sim::derive_seed(seed_, k_stream_gap, static_cast<std::uint64_t>(session)));
  times_.resize(n);
  std::int64_t t = session_start_ms(session);
  for (std::size_t i = 0; i < n; ++i) {
    t += gaps.uniform(8'000, 20'000);
    times_[i] = t;
  }
  cached_session_ = session;
}

weighing scale_model::at(std::uint64_t n) {
  const auto per = static_cast<std::uint64_t>(animals_);
  const std::int64_t session = first_session_ + static_cast<std::int64_t>(n / per);
  const auto pos = static_cast<std::size_t>(n % per);
  load_session(session);
  weighing w;
  w.number = n;
  w.ts_ms = times_[pos];
  const int animal = order_[pos];

  // Body weight 550-750 kg [guess, Holstein cows]; day-to-day SD 17 kg and the afternoon ~21 kg
  // above the morning (HERD.md, walk-over weight). The day offset is a sum of three uniforms in
  // +-17 kg (SD 17 kg, near normal).
  sim::rng body(sim::derive_seed(seed_, k_stream_body, static_cast<std::uint64_t>(animal)));
  std::int64_t deci_kg = body.uniform(5'500, 7'500);
  const std::int64_t day = floor_div(session, 2);
  sim::rng daily(sim::derive_seed(seed_, k_stream_day,
                                  static_cast<std::uint64_t>(day) * 1024 + static_cast<std::uint64_t>(animal)));
  for (int i = 0; i < 3; ++i) deci_kg += daily.uniform(-170, 170);
  if ((session & 1) == 1) deci_kg += 210;
  // Each crossing: 90 % stable (+-2 kg), 10 % unstable (+-40 kg), 1 % tag not read [guesses].
  sim::rng r(sim::derive_seed(seed_, k_stream_weighing,
                              static_cast<std::uint64_t>(session) * 1024 + pos));
  const bool tag_read = r.uniform(0, 999) >= 10;
  w.stable = r.uniform(0, 99) >= 10;
  deci_kg += w.stable ? r.uniform(-20, 20) : r.uniform(-400, 400);
  w.weight_deci_kg = static_cast<std::uint32_t>(deci_kg);
  w.animal = tag_read ? animal : -1;
  return w;
}

walkover_scale::walkover_scale(std::uint64_t seed, int animals, std::int64_t start_ms)
    : model_(seed, animals, start_ms), now_ms_(start_ms) {
  regs_.assign(scale::k_register_count, 0);
  put_u16(regs_, scale::device_type, scale::k_device_type);
  put_u16(regs_, scale::map_version, scale::k_map_version);
  put_u16(regs_, scale::firmware, scale::k_firmware);
  pending_ = model_.at(0);
  write();
}

void walkover_scale::advance_to(std::int64_t now_ms) {
  if (now_ms <= now_ms_) return;
  now_ms_ = now_ms;
  while (pending_.ts_ms <= now_ms_) {
    last_ = pending_;
    ++next_;
    pending_ = model_.at(next_);
  }
  write();
}

void walkover_scale::write() {
  namespace sc = scale;
  put_u32(regs_, sc::uptime_s, static_cast<std::uint32_t>((now_ms_ - model_.start_ms()) / 1000));
  put_u32(regs_, sc::clock_s, epoch_s(now_ms_));
  if (next_ == 0) return;
  std::uint16_t status = sc::st_has_weighing;
  if (last_.stable) status |= sc::st_stable;
  if (last_.animal >= 0) status |= sc::st_tag_read;
  put_u16(regs_, sc::status, status);
  put_u32(regs_, sc::weighings, static_cast<std::uint32_t>(next_));
  put_u32(regs_, sc::weighed_at_s, epoch_s(last_.ts_ms));
  put_u32(regs_, sc::weight_deci_kg, last_.weight_deci_kg);
  std::string tag;  // 15 digits: ISO 3166 country code + 12-digit national id
  if (last_.animal >= 0) tag = sim::animal_id(last_.animal);
  if (tag.size() == 15) {
    put_u16(regs_, sc::rfid_country, static_cast<std::uint16_t>(std::stoul(tag.substr(0, 3))));
    put_u48(regs_, sc::rfid_national, std::stoull(tag.substr(3)));
  } else {
    tag.clear();
    put_u16(regs_, sc::rfid_country, 0);
    put_u48(regs_, sc::rfid_national, 0);
  }
  for (std::size_t i = 0; i < 8; ++i) {  // two characters per register, first in the high byte
    const auto hi = static_cast<unsigned char>(2 * i < tag.size() ? tag[2 * i] : '\0');
    const auto lo = static_cast<unsigned char>(2 * i + 1 < tag.size() ? tag[2 * i + 1] : '\0');
    put_u16(regs_, sc::rfid_ascii + i, static_cast<std::uint16_t>(hi << 8 | lo));
  }
}

}  // namespace herd::sim_modbus
