#pragma once
// A deterministic, simulated collar fleet: a pure generator of MQTT messages in the collar
// format (DESIGN.md, "The collar MQTT format"). No I/O except write_registry().
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/core/clock.hpp"
#include "herd/core/result.hpp"
#include "herd/sim/collar_model.hpp"

namespace herd::sim {

inline constexpr std::int64_t k_default_start_ms = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

enum class ts_mode {
  sim,  // ts = start_ms + k * interval_s * 1000: reproducible
  now,  // ts = wall clock when the reading is generated (just before publishing): for latency
};

struct fleet_options {
  std::uint64_t seed = 1;
  int collars = 50;                        // 1..k_max_collars
  std::string farm_id = "farm-01";         // 1-64 of [A-Za-z0-9._:-]
  std::int64_t start_ms = k_default_start_ms;  // virtual time of each collar's first reading
  int interval_s = 600;                    // 1..86400
  // Unset: each collar starts at its own seq in 0..999,999, derived from the seed (collars have
  // been running for a while). Set: every collar starts here. seq wraps at 2^32 like firmware.
  std::optional<std::uint32_t> first_seq;
  ts_mode ts = ts_mode::sim;
};

// Everything wrong with the options, in one message; ok when the fleet can be built.
core::status validate(const fleet_options& opts);

struct message {
  std::string topic;    // farm/<farm_id>/collar/<collar_id>/telemetry
  std::string payload;  // one JSON object (a malformed frame from the herd's fault injection)
  std::int64_t send_ms = 0;  // virtual time the device sends it (the herd; 0 from the fleet)
};

// One row of the collar -> animal registry the gateway loads.
struct registry_entry {
  std::string collar_id;
  std::string animal_id;
  std::int64_t valid_from_ms = 0;  // ms since the epoch, UTC
};

// The valid_from of the collar -> animal rows a simulation starting at `start_ms` (ms since the
// epoch, UTC) writes: collars were fitted long before it starts (2020-01-01T00:00:00Z), so every
// reading resolves; a start before 2020 moves the fitting back to its whole second.
inline std::int64_t registry_valid_from_ms(std::int64_t start_ms) {
  constexpr std::int64_t k_fitted_ms = 1'577'836'800'000;  // 2020-01-01T00:00:00Z
  return std::min(k_fitted_ms, start_ms / 1000 * 1000);
}

// Yields readings round robin: collar 0..N-1 of interval 0, then of interval 1, and so on.
// Not thread-safe; one thread calls next().
class fleet {
 public:
  // Throws std::invalid_argument when validate(opts) fails. `wall` is read only in ts_mode::now
  // and must outlive the fleet; null means the system clock.
  explicit fleet(fleet_options opts, const core::clock* wall = nullptr);
  // Same, with another model of what collars measure (null: the baseline model).
  fleet(fleet_options opts, std::unique_ptr<collar_model> model, const core::clock* wall = nullptr);
  ~fleet();
  fleet(fleet&&) noexcept;
  fleet& operator=(fleet&&) noexcept;

  message next();

  const fleet_options& options() const;
  std::uint64_t generated() const;  // readings yielded so far

  std::vector<registry_entry> registry() const;
  // CSV: header "collar_id,animal_id,valid_from", one row per collar, valid_from ISO-8601 UTC.
  // Written to a temporary file and renamed, so a reader never sees half a registry.
  core::status write_registry(const std::filesystem::path& path) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The payload of one reading, fields in the documented order, no spaces.
std::string format_payload(std::uint32_t seq, std::int64_t ts_ms, int interval_s,
                           const collar_values& v);

}  // namespace herd::sim
