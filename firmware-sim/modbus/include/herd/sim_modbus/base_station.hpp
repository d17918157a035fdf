#pragma once
// A collar base station: the radio receiver collars send to, which keeps the last reading of each
// collar in a fixed register block ("slot"). Slot i holds collar number i + 1 (collar C-00001 is
// collar number 1). Pure state, no I/O: the server publishes registers() to Modbus clients.
#include <cstdint>
#include <optional>

#include "herd/sim_modbus/registers.hpp"

namespace herd::sim_modbus {

// One radio frame as the station decoded it. Optional fields may be absent on the air.
struct collar_frame {
  std::uint32_t collar_number = 0;  // 1.. ; "C-00042" is 42
  std::uint32_t seq = 0;
  std::int64_t ts_ms = 0;           // 0 = the collar has no time
  std::optional<std::int32_t> temp_centi_c;
  std::optional<std::uint32_t> steps;
  std::optional<std::uint32_t> rum_deci_min;
  std::optional<std::uint32_t> interval_s;
  std::optional<std::uint32_t> batt_pct;
  std::optional<std::int32_t> rssi_dbm;
};

class base_station {
 public:
  // slots: 1..station::k_max_slots. start_ms: the device clock at power-on (uptime 0).
  // Throws std::invalid_argument on a bad slot count.
  base_station(int slots, std::int64_t start_ms);

  // A frame was received at the current device time. Frames of collars beyond the slot count
  // are rejected (counted); an older frame (smaller ts) than the one held is counted but does not
  // replace it (batch uploads after an offline spell).
  void receive(const collar_frame& f);
  // A frame that could not be decoded.
  void reject();
  // Moves the device clock (never backwards) and refreshes uptime, clock and stale flags.
  void advance_to(std::int64_t now_ms);

  const register_image& registers() const { return regs_; }
  int slots() const { return slots_; }
  std::int64_t now_ms() const { return now_ms_; }
  std::uint32_t change_counter() const { return changes_; }

 private:
  struct slot_state {
    bool used = false;
    std::uint32_t seq = 0;
    std::int64_t ts_ms = 0;
    std::uint32_t interval_s = 0;
    std::uint32_t readings = 0;
    std::uint16_t missed = 0;
    std::uint16_t duplicates = 0;
    std::uint16_t status = 0;
  };
  void write_header();
  void write_status(int slot);

  int slots_;
  std::int64_t start_ms_;
  std::int64_t now_ms_;
  std::uint32_t changes_ = 0;
  std::uint32_t received_ = 0;
  std::uint32_t rejected_ = 0;
  std::uint16_t heard_ = 0;
  std::vector<slot_state> state_;
  register_image regs_;
};

}  // namespace herd::sim_modbus
