#pragma once
// The one place that reads the collar simulator (herd::sim): its readings, as MQTT messages in
// the collar format, become radio frames received by a base station when virtual time reaches
// their ts. Anything the station cannot decode (a malformed frame) is counted as rejected.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "herd/sim/fleet.hpp"
#include "herd/sim_modbus/base_station.hpp"

namespace herd::sim_modbus {

// Decodes one collar-format message (topic + JSON payload) into a frame; nullopt if it is not
// one (bad topic, collar id not "C-<digits>", bad JSON, seq or ts missing or mistyped).
std::optional<collar_frame> decode_frame(std::string_view topic, std::string_view payload);

class collar_feed {
 public:
  // Messages in the order the collars send them; nullopt when there are no more.
  using source = std::function<std::optional<sim::message>()>;

  // The baseline fleet, always in virtual time here (ts_mode::sim).
  explicit collar_feed(sim::fleet_options opts);
  // Any other generator of collar-format messages (e.g. a realistic herd).
  explicit collar_feed(source next);

  // Every reading with ts <= now_ms goes to the station, in fleet order; then the station's clock
  // moves to now_ms. Returns the number of frames handed over.
  std::uint64_t advance_to(std::int64_t now_ms, base_station& station);

  std::uint64_t generated() const { return generated_; }

 private:
  source next_;
  std::optional<sim::message> pending_;  // generated, not yet due
  std::uint64_t generated_ = 0;
};

}  // namespace herd::sim_modbus
