#pragma once
// Serves a register image as a Modbus slave with libmodbus: over TCP (several clients at once)
// and over RTU on a serial device path. The same image answers function 03 (holding registers)
// and 04 (input registers); it is read-only: writes and bit functions get exception 01 (illegal
// function), reads outside the map exception 02 (illegal data address), more than 125 registers
// exception 03 (illegal data value). Function 17 (report slave id) answers as libmodbus does.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "herd/core/result.hpp"
#include "herd/sim_modbus/registers.hpp"

struct _modbus_mapping_t;

namespace herd::sim_modbus {

// The registers clients see, shared by the servers of one device. Thread-safe.
class register_bank {
 public:
  explicit register_bank(std::size_t registers);
  ~register_bank();
  register_bank(const register_bank&) = delete;
  register_bank& operator=(const register_bank&) = delete;

  // Replaces the image (same size) atomically for clients: a read never sees half an update.
  void publish(const register_image& image);
  std::size_t size() const { return size_; }

 private:
  friend class modbus_server;
  std::mutex mu_;
  std::size_t size_;
  _modbus_mapping_t* mapping_;
};

struct tcp_options {
  std::string host = "127.0.0.1";  // "0.0.0.0": every interface
  int port = 1502;                 // 0: any free port (see modbus_server::port())
  int max_clients = 16;            // connections beyond this are closed at once
};

struct rtu_options {
  std::string device;              // e.g. /dev/ttyUSB0 or one end of a pty pair
  int baud = 19200;
  char parity = 'E';               // 'N', 'E', 'O'
  int data_bits = 8;
  int stop_bits = 1;               // Modbus RTU: 2 when parity is 'N'
  int slave_id = 1;                // 1..247
};

struct server_stats {
  std::uint64_t requests = 0;      // frames answered (with data or an exception)
  std::uint64_t rejected = 0;      // of those, answered with illegal function by our filter
  std::uint64_t bad_frames = 0;    // CRC errors, truncated or malformed frames, dropped
  std::uint64_t clients = 0;       // TCP connections accepted so far
};

class modbus_server {
 public:
  // Binds / opens, then serves on a thread of its own until stop() or destruction.
  static core::result<std::unique_ptr<modbus_server>> start_tcp(std::shared_ptr<register_bank> bank,
                                                                const tcp_options& opts);
  static core::result<std::unique_ptr<modbus_server>> start_rtu(std::shared_ptr<register_bank> bank,
                                                                const rtu_options& opts);
  ~modbus_server();
  modbus_server(const modbus_server&) = delete;
  modbus_server& operator=(const modbus_server&) = delete;

  void stop();
  int port() const { return port_; }  // TCP: the bound port
  server_stats stats() const;

 private:
  struct impl;
  explicit modbus_server(std::unique_ptr<impl> p);
  void serve_tcp();
  void serve_rtu();
  void handle(const std::uint8_t* req, int len, bool rtu);
  static core::status open_rtu(impl& p);

  std::unique_ptr<impl> impl_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// "N", "E", "O" -> the parity character; anything else is an error message.
core::status validate(const rtu_options& opts);

}  // namespace herd::sim_modbus
