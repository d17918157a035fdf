#include "fault_slave.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace herd::test_modbus {

std::uint16_t crc16(const std::uint8_t* p, std::size_t n) {
  std::uint16_t crc = 0xFFFF;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int b = 0; b < 8; ++b) crc = (crc & 1) ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001) : static_cast<std::uint16_t>(crc >> 1);
  }
  return crc;
}

namespace {
bool wait_readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}
// Reads exactly n bytes unless `ms` pass between two bytes or the fd fails.
bool read_n(int fd, std::uint8_t* buf, std::size_t n, int ms) {
  std::size_t got = 0;
  while (got < n) {
    if (!wait_readable(fd, ms)) return false;
    const ssize_t r = ::read(fd, buf + got, n - got);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}
void write_all(int fd, const std::vector<std::uint8_t>& b) {
  std::size_t off = 0;
  while (off < b.size()) {
    const ssize_t w = ::write(fd, b.data() + off, b.size() - off);
    if (w <= 0) return;
    off += static_cast<std::size_t>(w);
  }
}
}  // namespace

std::unique_ptr<fault_slave> fault_slave::tcp() {
  std::unique_ptr<fault_slave> s(new fault_slave());
  if (!s->listen_tcp()) throw std::runtime_error("fault_slave: cannot listen");
  s->thread_ = std::thread([p = s.get()] { p->serve_tcp(); });
  return s;
}

std::unique_ptr<fault_slave> fault_slave::rtu(std::string device) {
  std::unique_ptr<fault_slave> s(new fault_slave());
  s->device_ = std::move(device);
  s->thread_ = std::thread([p = s.get()] { p->serve_rtu(); });
  return s;
}

std::unique_ptr<fault_slave> fault_slave::rtu_own_pty(std::string& device) {
  std::unique_ptr<fault_slave> s(new fault_slave());
  s->pty_master_fd_ = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (s->pty_master_fd_ < 0 || ::grantpt(s->pty_master_fd_) != 0 || ::unlockpt(s->pty_master_fd_) != 0) {
    throw std::runtime_error("fault_slave: no pty");
  }
  device = ::ptsname(s->pty_master_fd_);
  s->pty_hold_fd_ = ::open(device.c_str(), O_RDWR | O_NOCTTY);
  termios t{};
  ::tcgetattr(s->pty_hold_fd_, &t);
  ::cfmakeraw(&t);
  ::tcsetattr(s->pty_hold_fd_, TCSANOW, &t);
  s->thread_ = std::thread([p = s.get()] { p->serve_rtu(); });
  return s;
}

fault_slave::~fault_slave() { stop(); }

void fault_slave::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  if (pty_hold_fd_ >= 0) ::close(pty_hold_fd_);
  pty_hold_fd_ = -1;
}

void fault_slave::set_image(int unit, std::vector<std::uint16_t> regs) {
  std::lock_guard lock(mu_);
  images_[unit] = std::move(regs);
}

void fault_slave::set_fault(int unit, fault f) {
  std::lock_guard lock(mu_);
  faults_[unit] = f;
}

void fault_slave::refuse(bool r) { refuse_ = r; }

bool fault_slave::listen_tcp() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port_));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 8) != 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  return true;
}

std::vector<std::uint8_t> fault_slave::answer(int unit, const std::uint8_t* pdu, std::size_t n, fault& f) {
  std::vector<std::uint16_t> image;
  {
    std::lock_guard lock(mu_);
    auto it = images_.find(unit);
    if (it == images_.end()) {
      f = fault::silent;
      return {};
    }
    image = it->second;
    auto ft = faults_.find(unit);
    f = ft == faults_.end() ? fault::none : ft->second;
  }
  ++requests_;
  if (f == fault::silent) return {};
  const std::uint8_t fc = pdu[0];
  if (f == fault::exception) return {static_cast<std::uint8_t>(fc | 0x80), 0x04};
  if (f == fault::garbage) {
    std::vector<std::uint8_t> g(7);
    for (auto& b : g) b = static_cast<std::uint8_t>(std::rand());
    return g;
  }
  if (n < 5 || (fc != 3 && fc != 4)) return {static_cast<std::uint8_t>(fc | 0x80), 0x01};
  const unsigned addr = pdu[1] << 8 | pdu[2], count = pdu[3] << 8 | pdu[4];
  if (count == 0 || count > 125) return {static_cast<std::uint8_t>(fc | 0x80), 0x03};
  if (addr + count > image.size()) return {static_cast<std::uint8_t>(fc | 0x80), 0x02};
  std::vector<std::uint8_t> out{fc, static_cast<std::uint8_t>(2 * count)};
  for (unsigned i = 0; i < count; ++i) {
    out.push_back(static_cast<std::uint8_t>(image[addr + i] >> 8));
    out.push_back(static_cast<std::uint8_t>(image[addr + i]));
  }
  return out;
}

void fault_slave::serve_tcp() {
  int client = -1;
  while (!stop_) {
    if (refuse_ && listen_fd_ >= 0) {
      ::close(listen_fd_);
      listen_fd_ = -1;
      if (client >= 0) ::close(client);
      client = -1;
    }
    if (!refuse_ && listen_fd_ < 0) listen_tcp();  // the same port again
    if (client < 0) {
      if (listen_fd_ < 0 || !wait_readable(listen_fd_, 50)) {
        if (listen_fd_ < 0) ::usleep(20'000);
        continue;
      }
      client = ::accept(listen_fd_, nullptr, nullptr);
      continue;
    }
    if (!wait_readable(client, 50)) continue;
    std::uint8_t h[7];
    if (!read_n(client, h, 7, 1000)) {
      ::close(client);
      client = -1;
      continue;
    }
    const std::size_t len = static_cast<std::size_t>(h[4] << 8 | h[5]);
    std::vector<std::uint8_t> pdu(len > 1 ? len - 1 : 0);
    if (len < 2 || len > 254 || !read_n(client, pdu.data(), pdu.size(), 1000)) {
      ::close(client);
      client = -1;
      continue;
    }
    fault f = fault::none;
    auto out = answer(h[6], pdu.data(), pdu.size(), f);
    if (out.empty()) continue;
    if (f == fault::slow) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
    std::vector<std::uint8_t> frame{h[0], h[1], 0, 0, static_cast<std::uint8_t>((out.size() + 1) >> 8),
                                    static_cast<std::uint8_t>(out.size() + 1), h[6]};
    if (f == fault::garbage) frame.clear();
    frame.insert(frame.end(), out.begin(), out.end());
    write_all(client, frame);
  }
  if (client >= 0) ::close(client);
}

void fault_slave::serve_rtu() {
  int fd = pty_master_fd_;
  while (!stop_) {
    if (fd < 0 && pty_master_fd_ >= 0) break;  // its own pty failed: nothing to reopen
    if (fd < 0) {
      fd = ::open(device_.c_str(), O_RDWR | O_NOCTTY);
      if (fd < 0) {
        ::usleep(20'000);
        continue;
      }
      termios t{};
      ::tcgetattr(fd, &t);
      ::cfmakeraw(&t);
      ::tcsetattr(fd, TCSANOW, &t);
    }
    if (!wait_readable(fd, 50)) continue;
    // Requests for functions 03/04 are 8 bytes: unit, function, address, count, CRC.
    std::uint8_t req[8];
    const bool got = read_n(fd, req, 8, 100);
    const auto arrived = std::chrono::steady_clock::now();
    if (!got) {
      // EOF/EIO: the pty pair went away. A partial frame: drop it.
      std::uint8_t probe;
      if (wait_readable(fd, 0) && ::read(fd, &probe, 1) <= 0) {
        ::close(fd);
        fd = -1;
      }
      continue;
    }
    if (crc16(req, 6) != (req[6] | req[7] << 8)) {
      ::tcflush(fd, TCIFLUSH);
      continue;
    }
    fault f = fault::none;
    auto out = answer(req[0], req + 1, 5, f);
    if (out.empty()) continue;
    if (f == fault::slow) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
    std::vector<std::uint8_t> frame;
    if (f == fault::broadcast_first) {
      set_fault(req[0], fault::none);  // one stray frame, then a quiet line
      std::vector<std::uint8_t> b{0x00, 0x06, 0x00, 0x01, 0x00, 0x02};
      const std::uint16_t c = crc16(b.data(), b.size());
      b.push_back(static_cast<std::uint8_t>(c));
      b.push_back(static_cast<std::uint8_t>(c >> 8));
      write_all(fd, b);
    }
    if (f != fault::garbage) frame.push_back(req[0]);
    frame.insert(frame.end(), out.begin(), out.end());
    std::uint16_t c = crc16(frame.data(), frame.size());
    if (f == fault::bad_crc) c ^= 0x5A5A;
    frame.push_back(static_cast<std::uint8_t>(c));
    frame.push_back(static_cast<std::uint8_t>(c >> 8));
    if (const int baud = baud_.load(); baud > 0) {
      // The end-of-frame silence is 3.5 characters, a fixed 1.75 ms above 19,200 baud (Modbus over
      // serial line v1.02, 2.5.1.1), as the master's gap (sensors::modbus::frame_gap).
      const double chars = 8 + static_cast<double>(frame.size());
      const double silence_s = baud > 19200 ? 1.75e-3 : 3.5 * bits_ / static_cast<double>(baud);
      const double line_s = chars * bits_ / static_cast<double>(baud) + silence_s;
      std::this_thread::sleep_until(arrived + std::chrono::nanoseconds(static_cast<std::int64_t>(line_s * 1e9)));
    }
    write_all(fd, frame);
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace herd::test_modbus
