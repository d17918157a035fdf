#pragma once
// One libmodbus context: a TCP connection to one device, or an open serial device (a bus).
// Not thread-safe: owned by one poller thread. Every failure is classified for the metrics and
// for what the poller does next (io and connect: close and reopen with backoff).
#include <modbus.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "herd/sensors/modbus_config.hpp"
#include "herd/sensors/modbus_decode.hpp"

namespace herd::sensors::modbus {

enum class failure { none, connect, timeout, crc, exception, bad_data, io };
const char* to_string(failure f);

class link {
 public:
  static link tcp(std::string host, int port);
  static link rtu(serial_line line);
  link(link&& o) noexcept;
  link& operator=(link&&) = delete;
  link(const link&) = delete;
  ~link();

  bool is_open() const { return ctx_ != nullptr; }
  // Connects (TCP, within `timeout`) or opens the serial device. connect or io on failure.
  failure open(std::chrono::milliseconds timeout, std::string& why);
  void close();
  // Reads one block from `unit`. On timeout, CRC or bad data the input is flushed so a late or
  // stray frame cannot answer the next request; on io the link is closed.
  failure read(const block& b, int unit, std::chrono::milliseconds timeout,
               std::vector<std::uint16_t>& out, std::string& why);
  std::string describe() const;

 private:
  link() = default;
  bool rtu_ = false;
  std::string host_;
  int port_ = 0;
  serial_line line_;
  modbus_t* ctx_ = nullptr;
};

}  // namespace herd::sensors::modbus
