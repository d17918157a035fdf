#include "link.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace herd::sensors::modbus {

const char* to_string(failure f) {
  switch (f) {
    case failure::none: return "none";
    case failure::connect: return "connect";
    case failure::timeout: return "timeout";
    case failure::crc: return "crc";
    case failure::exception: return "exception";
    case failure::bad_data: return "bad_data";
    case failure::io: return "io";
  }
  return "io";
}

namespace {

void set_timeout(modbus_t* ctx, std::chrono::milliseconds t) {
  const auto ms = t.count();
  modbus_set_response_timeout(ctx, static_cast<std::uint32_t>(ms / 1000),
                              static_cast<std::uint32_t>((ms % 1000) * 1000));
}

// libmodbus reports through errno (modbus.h: MODBUS_ENOBASE + exception code, EMB* codes).
failure classify(int e, std::string& why) {
  why = modbus_strerror(e);
  if (e == ETIMEDOUT) return failure::timeout;
  if (e == EMBBADCRC) return failure::crc;
  if (e > MODBUS_ENOBASE && e <= MODBUS_ENOBASE + MODBUS_EXCEPTION_GATEWAY_TARGET) {
    why = fmt::format("exception {}: {}", e - MODBUS_ENOBASE, modbus_strerror(e));
    return failure::exception;
  }
  if (e == EMBBADDATA || e == EMBBADEXC || e == EMBUNKEXC || e == EMBMDATA || e == EMBBADSLAVE) {
    return failure::bad_data;
  }
  return failure::io;  // ECONNRESET, EPIPE, EIO, EBADF, ENXIO: the connection or device is gone
}

}  // namespace

link link::tcp(std::string host, int port) {
  link l;
  l.host_ = std::move(host);
  l.port_ = port;
  return l;
}

link link::rtu(serial_line line) {
  link l;
  l.rtu_ = true;
  l.line_ = std::move(line);
  return l;
}

link::link(link&& o) noexcept
    : rtu_(o.rtu_), host_(std::move(o.host_)), port_(o.port_), line_(std::move(o.line_)), ctx_(o.ctx_) {
  o.ctx_ = nullptr;
}

link::~link() { close(); }

std::string link::describe() const {
  return rtu_ ? fmt::format("{} {} {}{}{}", line_.device, line_.baud, line_.data_bits, line_.parity,
                            line_.stop_bits)
              : fmt::format("{}:{}", host_, port_);
}

failure link::open(std::chrono::milliseconds timeout, std::string& why) {
  close();
  if (rtu_) {
    // A USB adapter unplugged: the path is gone; say so rather than libmodbus's open error.
    struct stat st{};
    if (::stat(line_.device.c_str(), &st) != 0) {
      why = fmt::format("{}: {}", line_.device, std::strerror(errno));
      return failure::io;
    }
    ctx_ = modbus_new_rtu(line_.device.c_str(), line_.baud, line_.parity, line_.data_bits, line_.stop_bits);
  } else {
    ctx_ = modbus_new_tcp_pi(host_.c_str(), std::to_string(port_).c_str());
  }
  if (ctx_ == nullptr) {
    why = fmt::format("cannot create a libmodbus context: {}", modbus_strerror(errno));
    return failure::io;
  }
  set_timeout(ctx_, timeout);
  if (modbus_connect(ctx_) != 0) {
    const int e = errno;
    why = fmt::format("{}: {}", describe(), modbus_strerror(e));
    modbus_free(ctx_);
    ctx_ = nullptr;
    return rtu_ ? failure::io : failure::connect;
  }
  if (rtu_) {
    // RS-485 mode is an ioctl a pty or a plain RS-232 port refuses (STACK.md): optional.
    (void)modbus_rtu_set_serial_mode(ctx_, MODBUS_RTU_RS485);
    // Between two bytes of one frame: generous, since a USB adapter or a pty delivers in bursts.
    modbus_set_byte_timeout(ctx_, 0, 100'000);
  }
  return failure::none;
}

void link::close() {
  if (ctx_ == nullptr) return;
  modbus_close(ctx_);
  modbus_free(ctx_);
  ctx_ = nullptr;
}

failure link::read(const block& b, int unit, std::chrono::milliseconds timeout,
                   std::vector<std::uint16_t>& out, std::string& why) {
  if (ctx_ == nullptr) {
    why = "not connected";
    return failure::io;
  }
  modbus_set_slave(ctx_, unit);
  set_timeout(ctx_, timeout);
  out.assign(b.count, 0);
  int rc = -1;
  if (b.tab == table::holding || b.tab == table::input) {
    auto* dest = out.data();
    rc = b.tab == table::holding
             ? modbus_read_registers(ctx_, static_cast<int>(b.address), static_cast<int>(b.count), dest)
             : modbus_read_input_registers(ctx_, static_cast<int>(b.address), static_cast<int>(b.count), dest);
  } else {
    std::vector<std::uint8_t> bits(b.count, 0);
    rc = b.tab == table::coil
             ? modbus_read_bits(ctx_, static_cast<int>(b.address), static_cast<int>(b.count), bits.data())
             : modbus_read_input_bits(ctx_, static_cast<int>(b.address), static_cast<int>(b.count), bits.data());
    for (std::size_t i = 0; i < bits.size(); ++i) out[i] = bits[i];
  }
  if (rc == static_cast<int>(b.count)) return failure::none;
  if (rc >= 0) {
    why = fmt::format("short answer: {} of {}", rc, b.count);
    modbus_flush(ctx_);
    return failure::bad_data;
  }
  const failure f = classify(errno, why);
  // TCP: a late answer would arrive as the answer to the next request; a fresh connection is
  // the only clean state (serial lines are flushed instead: there is no connection to renew).
  if (f == failure::io || (!rtu_ && (f == failure::timeout || f == failure::bad_data))) {
    close();
  } else if (f != failure::exception) {
    modbus_flush(ctx_);
  }
  return f;
}

}  // namespace herd::sensors::modbus
