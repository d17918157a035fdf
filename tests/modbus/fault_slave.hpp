#pragma once
// A Modbus slave that misbehaves on demand, for fault tests: over TCP (loopback, port 0) or RTU
// (one end of a pty pair), answering functions 03 and 04 from one register image per unit. Framing
// and CRC are written here by hand, so it can send what libmodbus never would: garbage, a wrong
// CRC, a stray broadcast frame, nothing at all, or the answer late. Thread-safe setters.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace herd::test_modbus {

enum class fault {
  none,             // answer correctly
  silent,           // never answer
  exception,        // answer with exception 04 (server device failure)
  slow,             // answer after set_delay()
  garbage,          // answer with random bytes
  bad_crc,          // RTU: a correct answer with a wrong CRC
  broadcast_first,  // RTU, once: a write frame to unit 0 (broadcast) on the line, then the answer
};

std::uint16_t crc16(const std::uint8_t* p, std::size_t n);  // Modbus RTU CRC (poly 0xA001)

class fault_slave {
 public:
  static std::unique_ptr<fault_slave> tcp();                    // 127.0.0.1, a free port
  static std::unique_ptr<fault_slave> rtu(std::string device);  // e.g. a pty pair's end
  // RTU on a pty of its own (posix_openpt, no socat in between): the slave serves the master
  // side; `device` receives the terminal's path (/dev/pts/N) for the master under test to open.
  // One relay hop less than a socat pair, for benchmarks. Throws when no pty can be had.
  static std::unique_ptr<fault_slave> rtu_own_pty(std::string& device);
  ~fault_slave();

  void set_image(int unit, std::vector<std::uint16_t> regs);  // units without an image are silent
  void set_fault(int unit, fault f);
  void set_delay(std::chrono::milliseconds d) { delay_ms_ = d.count(); }
  void refuse(bool r);  // TCP: close the listener (connections refused) or reopen it
  // RTU: emulate a line of `baud` (ptys have no line speed): each answer is written when a real
  // line would have delivered it: the request's and the answer's characters (`bits` bits each)
  // plus the end-of-frame silence (3.5 characters; a fixed 1.75 ms above 19,200 baud) after the
  // request arrived. 0: answer at once.
  void set_line_rate(int baud, int bits) {
    baud_ = baud;
    bits_ = bits;
  }
  int port() const { return port_; }
  std::uint64_t requests() const { return requests_.load(); }
  void stop();

 private:
  fault_slave() = default;
  void serve_tcp();
  void serve_rtu();
  // The answer PDU bytes (after the unit id) for a request, or empty for silence.
  std::vector<std::uint8_t> answer(int unit, const std::uint8_t* pdu, std::size_t n, fault& f);
  bool listen_tcp();

  std::mutex mu_;
  std::map<int, std::vector<std::uint16_t>> images_;
  std::map<int, fault> faults_;
  std::atomic<long> delay_ms_{0};
  std::atomic<int> baud_{0};
  std::atomic<int> bits_{11};
  std::atomic<bool> refuse_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::string device_;
  int listen_fd_ = -1;
  int pty_master_fd_ = -1;  // rtu_own_pty: served instead of opening device_
  int pty_hold_fd_ = -1;    // rtu_own_pty: keeps the terminal side open (else the master reads EIO)
  int port_ = 0;
  std::thread thread_;
};

}  // namespace herd::test_modbus
