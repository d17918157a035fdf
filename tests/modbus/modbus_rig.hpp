#pragma once
// Helpers for the Modbus poller tests: a recording sink, devices from config text (through the
// gateway's own parser, so the sample profiles are what is tested), poll-time logs, a socat pty
// pair, and firmware-sim's devices served in-process.
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <herd/test_support/child_process.hpp>
#include <herd/test_support/temp_dir.hpp>

#include "herd/sensors/modbus_poller.hpp"
#include "herd/sensors/source.hpp"

namespace herd::test_modbus {

using steady = std::chrono::steady_clock;

struct stored {
  sensors::raw_message raw;
  sensors::reading reading;
  steady::time_point at;
};

class recording_sink final : public sensors::reading_sink {
 public:
  core::status on_reading(const sensors::raw_message& raw, const sensors::reading& r) override;
  core::status on_rejected(const sensors::raw_message& raw, const std::string& reason) override;
  std::vector<stored> readings() const;
  std::vector<std::string> rejections() const;
  std::size_t count() const;

 private:
  mutable std::mutex mu_;
  std::vector<stored> readings_;
  std::vector<std::string> rejected_;
};

// Start times of every poll, per device; the observer to hand to the poller.
class poll_log {
 public:
  std::function<void(const sensors::modbus::poll_event&)> observer();
  std::vector<sensors::modbus::poll_event> of(const std::string& device) const;
  std::size_t ok_count(const std::string& device) const;
  // Largest gap between consecutive poll starts of `device` from `since` on.
  std::chrono::milliseconds max_gap(const std::string& device, steady::time_point since) const;

 private:
  mutable std::mutex mu_;
  std::vector<sensors::modbus::poll_event> events_;
};

// [[modbus.device]] tables (and an optional [modbus] table) -> options, through parse_config;
// profiles resolve against config/. Fails the test on a config error.
sensors::modbus::options devices_from(const std::string& toml);

// A socat pty pair: the device (slave) end and the gateway (master) end, as symlinks in a temp dir.
struct pty_pair {
  pty_pair();
  void kill();     // the pair vanishes (a USB adapter unplugged): both links go
  void restart();  // a new pair under the same names
  test_support::temp_dir dir;
  std::string device_end;
  std::string gateway_end;
  std::unique_ptr<test_support::child_process> socat;
};

// firmware-sim devices served in-process over TCP or RTU.
struct sim_device;
std::shared_ptr<sim_device> sim_scale_tcp(std::uint64_t seed, int animals, std::int64_t start_ms, double elapsed_s);
std::shared_ptr<sim_device> sim_scale_rtu(const std::string& device, int unit, std::uint64_t seed, int animals,
                                          std::int64_t start_ms, double elapsed_s);
std::shared_ptr<sim_device> sim_station_tcp(std::uint64_t seed, int collars, std::int64_t start_ms);
int port_of(const sim_device& d);
// Moves the device's virtual clock to start + s (station: feeds the fleet's readings due by then).
void advance(sim_device& d, double elapsed_s);
const std::vector<std::uint16_t>& image(const sim_device& d);

}  // namespace herd::test_modbus
