#pragma once
// Polls Modbus devices (libmodbus) and turns their register records into readings for the sink.
//
// Threading: start() spawns one thread per TCP device and one per serial bus (devices naming the
// same serial device), so a slow or dead device delays only itself, or on a shared RS-485 bus at
// most its own response timeout. Requests on a bus are serialized with the inter-frame gap the
// line needs. A device that fails is retried with exponential backoff (options::backoff_min..max);
// a TCP connection or serial device that fails is closed and reopened (a USB adapter unplugged
// and back). The sink is called on these threads; stop() joins them, after which it is not called.
//
// What is emitted: a base station slot whose (collar number, seq, ts) differs from the previous
// poll (the first poll after start emits every used slot; the outbox's dedup drops what was
// stored before, and a collar also heard over MQTT); a scale's weighing when its counter or time
// changes. A reading the sink could not store is not marked as seen: the next poll offers it again.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "herd/core/clock.hpp"
#include "herd/core/result.hpp"
#include "herd/sensors/modbus_config.hpp"
#include "herd/sensors/source.hpp"

namespace herd::sensors::modbus {

// Per device, since start. Failures by kind: connect (TCP refused or unreachable), timeout (no
// answer in response_timeout), crc (RTU frame with a wrong CRC), exception (the device answered
// with a Modbus exception), bad_data (garbage, a wrong unit or function in the answer), io (the
// connection or serial device failed; it is reopened).
struct device_stats {
  std::string name;
  std::string endpoint;             // host:port, or the serial device and its line settings
  int unit_id = 0;
  std::uint64_t polls = 0;          // poll cycles attempted (each reads every block of the map)
  std::uint64_t polls_ok = 0;
  std::uint64_t fail_connect = 0, fail_timeout = 0, fail_crc = 0, fail_exception = 0,
                fail_bad_data = 0, fail_io = 0;
  std::uint64_t requests = 0;       // Modbus requests sent
  std::uint64_t readings = 0;       // readings handed to the sink (stored or dead-lettered)
  std::uint64_t unchanged = 0;      // records skipped because they had not changed
  double last_latency_ms = 0;       // duration of the last successful poll cycle
  double latency_sum_ms = 0;        // sum over successful cycles (with polls_ok: the mean)
  std::int64_t last_success_ms = 0; // wall time of the last successful poll; 0 = never
  std::int64_t failing_since_ms = 0;// wall time of the first failure of the current run; 0 = ok
  std::string last_error;           // of the current failing run
};

// Test and benchmark hook: after each poll cycle, on the poller thread.
struct poll_event {
  std::string device;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point finished;
  bool ok = false;
};

class poller {
 public:
  poller(options opts, const core::clock& clock, std::function<void(const poll_event&)> observer = {});
  ~poller();
  poller(const poller&) = delete;
  poller& operator=(const poller&) = delete;

  core::status start(reading_sink& sink);
  void stop();  // idempotent; joins every thread
  std::vector<device_stats> stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::sensors::modbus
