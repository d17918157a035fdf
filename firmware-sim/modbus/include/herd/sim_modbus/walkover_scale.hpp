#pragma once
// A walk-over scale at the parlour exit: every animal crosses it after each milking; it reads the
// ear tag (ISO 11784/11785 FDX-B, 15 digits) and weighs. The model is a pure function of the seed
// and the weighing number, so any client (and any test) can recompute what the scale shows.
#include <cstdint>
#include <vector>

#include "herd/sim_modbus/registers.hpp"

namespace herd::sim_modbus {

struct weighing {
  std::uint64_t number = 0;      // 0-based, since the scale's start
  std::int64_t ts_ms = 0;        // when the animal stood on the platform
  int animal = -1;               // index (animal_id(index)); -1 when the tag was not read
  std::uint32_t weight_deci_kg = 0;
  bool stable = true;            // false: the animal moved, the figure is less reliable
};

class scale_model {
 public:
  // The scale's clock starts at start_ms; milkings at 05:00 and 16:00 UTC each day from then on.
  // animals: 1..k_max_animals; the first `animals` animals of the herd cross the scale.
  scale_model(std::uint64_t seed, int animals, std::int64_t start_ms);

  static constexpr int k_max_animals = 1000;  // one parlour exit: a session lasts < 6 h

  weighing at(std::uint64_t n);  // the n-th weighing (cached per milking session)
  int animals() const { return animals_; }
  std::uint64_t seed() const { return seed_; }
  std::int64_t start_ms() const { return start_ms_; }

 private:
  void load_session(std::int64_t session);
  std::int64_t session_start_ms(std::int64_t session) const;

  std::uint64_t seed_;
  int animals_;
  std::int64_t start_ms_;
  std::int64_t first_session_;  // absolute session index (2 per day since 1970) of weighing 0
  std::int64_t cached_session_ = -1;
  std::vector<int> order_;            // animal per position in the cached session
  std::vector<std::int64_t> times_;   // ts per position
};

class walkover_scale {
 public:
  walkover_scale(std::uint64_t seed, int animals, std::int64_t start_ms);

  // Moves the device clock (never backwards): every weighing up to now_ms has happened.
  void advance_to(std::int64_t now_ms);

  const register_image& registers() const { return regs_; }
  std::uint64_t weighings() const { return next_; }
  std::int64_t now_ms() const { return now_ms_; }

 private:
  void write();

  scale_model model_;
  std::int64_t now_ms_;
  std::uint64_t next_ = 0;  // weighings done
  weighing pending_;        // at(next_), looked up once
  weighing last_;
  register_image regs_;
};

}  // namespace herd::sim_modbus
