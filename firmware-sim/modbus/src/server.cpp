#include "herd/sim_modbus/server.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <modbus.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

namespace herd::sim_modbus {

register_bank::register_bank(std::size_t registers) : size_(registers) {
  if (registers < 1 || registers > 65'536) {
    throw std::invalid_argument(fmt::format("register bank size must be 1..65536, got {}", registers));
  }
  const auto n = static_cast<int>(registers);
  mapping_ = modbus_mapping_new_start_address(0, 0, 0, 0, 0, n, 0, n);
  if (mapping_ == nullptr) throw std::bad_alloc();
}

register_bank::~register_bank() { modbus_mapping_free(mapping_); }

void register_bank::publish(const register_image& image) {
  if (image.size() != size_) {
    throw std::invalid_argument(
        fmt::format("register image has {} registers, the bank {}", image.size(), size_));
  }
  const std::lock_guard lock(mu_);
  std::copy(image.begin(), image.end(), mapping_->tab_registers);
  std::copy(image.begin(), image.end(), mapping_->tab_input_registers);
}

core::status validate(const rtu_options& o) {
  std::string problems;
  const auto add = [&](const std::string& p) { problems += (problems.empty() ? "" : "; ") + p; };
  if (o.device.empty()) add("serial device path is empty");
  if (o.baud < 50 || o.baud > 4'000'000) add(fmt::format("baud {} is out of 50..4000000", o.baud));
  if (o.parity != 'N' && o.parity != 'E' && o.parity != 'O') {
    add(fmt::format("parity must be N, E or O, got '{}'", o.parity));
  }
  if (o.data_bits < 5 || o.data_bits > 8) add(fmt::format("data bits must be 5..8, got {}", o.data_bits));
  if (o.stop_bits != 1 && o.stop_bits != 2) add(fmt::format("stop bits must be 1 or 2, got {}", o.stop_bits));
  if (o.slave_id < 1 || o.slave_id > 247) add(fmt::format("slave id must be 1..247, got {}", o.slave_id));
  if (!problems.empty()) return core::error::permanent(problems);
  return core::ok_v;
}

struct modbus_server::impl {
  std::shared_ptr<register_bank> bank;
  modbus_t* ctx = nullptr;
  int listen_fd = -1;
  int max_clients = 0;
  std::vector<int> clients;
  rtu_options rtu;
  std::atomic<std::uint64_t> requests{0}, rejected{0}, bad_frames{0}, accepted{0};

  ~impl() {
    for (const int fd : clients) ::close(fd);
    if (listen_fd >= 0) ::close(listen_fd);
    if (ctx != nullptr) {
      modbus_close(ctx);
      modbus_free(ctx);
    }
  }
};

modbus_server::modbus_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

modbus_server::~modbus_server() { stop(); }

void modbus_server::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

server_stats modbus_server::stats() const {
  return {impl_->requests.load(), impl_->rejected.load(), impl_->bad_frames.load(),
          impl_->accepted.load()};
}

core::result<std::unique_ptr<modbus_server>> modbus_server::start_tcp(
    std::shared_ptr<register_bank> bank, const tcp_options& opts) {
  if (opts.port < 0 || opts.port > 65'535) {
    return core::error::permanent(fmt::format("TCP port must be 0..65535, got {}", opts.port));
  }
  auto p = std::make_unique<impl>();
  p->bank = std::move(bank);
  p->max_clients = std::max(1, opts.max_clients);
  p->ctx = modbus_new_tcp(opts.host.c_str(), opts.port);
  if (p->ctx == nullptr) {
    return core::error::permanent(fmt::format("modbus_new_tcp({}): {}", opts.host, modbus_strerror(errno)));
  }
  p->listen_fd = modbus_tcp_listen(p->ctx, p->max_clients);
  if (p->listen_fd < 0) {
    return core::error::permanent(fmt::format("listen on {}:{}: {}", opts.host, opts.port,
                                              modbus_strerror(errno)));
  }
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(p->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return core::error::permanent(fmt::format("getsockname: {}", std::strerror(errno)));
  }
  std::unique_ptr<modbus_server> s(new modbus_server(std::move(p)));
  s->port_ = ntohs(addr.sin_port);
  s->thread_ = std::thread([srv = s.get()] { srv->serve_tcp(); });
  return s;
}

core::result<std::unique_ptr<modbus_server>> modbus_server::start_rtu(
    std::shared_ptr<register_bank> bank, const rtu_options& opts) {
  if (auto st = validate(opts); !st) return st.err();
  auto p = std::make_unique<impl>();
  p->bank = std::move(bank);
  p->rtu = opts;
  if (auto st = open_rtu(*p); !st) return st.err();
  std::unique_ptr<modbus_server> s(new modbus_server(std::move(p)));
  s->thread_ = std::thread([srv = s.get()] { srv->serve_rtu(); });
  return s;
}

core::status modbus_server::open_rtu(impl& p) {
  if (p.ctx != nullptr) {
    modbus_close(p.ctx);
    modbus_free(p.ctx);
  }
  const auto& o = p.rtu;
  p.ctx = modbus_new_rtu(o.device.c_str(), o.baud, o.parity, o.data_bits, o.stop_bits);
  if (p.ctx == nullptr) {
    return core::error::permanent(fmt::format("modbus_new_rtu({}): {}", o.device, modbus_strerror(errno)));
  }
  modbus_set_slave(p.ctx, o.slave_id);
  if (modbus_connect(p.ctx) != 0) {
    return core::error::permanent(fmt::format("open {}: {}", o.device, modbus_strerror(errno)));
  }
  return core::ok_v;
}

namespace {

// Waits up to 100 ms for any of fds to be readable; the ones that are come back.
std::vector<int> readable(const std::vector<int>& fds, long usec = 100'000) {
  fd_set set;
  FD_ZERO(&set);
  int top = -1;
  for (const int fd : fds) {
    if (fd < 0 || fd >= FD_SETSIZE) continue;
    FD_SET(fd, &set);
    top = std::max(top, fd);
  }
  timeval tv{0, usec};
  std::vector<int> ready;
  if (::select(top + 1, &set, nullptr, nullptr, &tv) <= 0) return ready;
  for (const int fd : fds) {
    if (fd >= 0 && fd < FD_SETSIZE && FD_ISSET(fd, &set)) ready.push_back(fd);
  }
  return ready;
}

// Cuts one Modbus TCP frame off the front of a client's buffer, framed by its MBAP header's
// length field (libmodbus' own receive frames by function code and loses sync on a function it
// does not know). The frame's length; 0 when it is not complete yet; -1 when the bytes are not
// Modbus TCP (protocol id not 0, a length out of 2..254).
int next_tcp_frame(const std::vector<std::uint8_t>& buf) {
  constexpr std::size_t k_mbap = 7;  // transaction id, protocol id, length, unit id
  if (buf.size() < k_mbap) return 0;
  const unsigned protocol = static_cast<unsigned>(buf[2]) << 8 | buf[3];
  const unsigned length = static_cast<unsigned>(buf[4]) << 8 | buf[5];  // unit id + PDU
  if (protocol != 0 || length < 2 || length > 254) return -1;
  const std::size_t total = k_mbap + length - 1;
  return buf.size() < total ? 0 : static_cast<int>(total);
}

}  // namespace

void modbus_server::handle(const std::uint8_t* req, int len, bool rtu) {
  auto& p = *impl_;
  const int header = modbus_get_header_length(p.ctx);
  if (len <= header) return;
  // RTU broadcast (address 0): a slave never answers it; nothing here is writable anyway.
  if (rtu && req[0] == 0) return;
  const std::uint8_t function = req[header];
  ++p.requests;
  switch (function) {
    case 0x03:  // read holding registers
    case 0x04:  // read input registers
    case 0x11: {  // report slave id
      const std::lock_guard lock(p.bank->mu_);
      modbus_reply(p.ctx, req, len, p.bank->mapping_);
      break;
    }
    default:  // writes, coils, discrete inputs, diagnostics, anything else
      ++p.rejected;
      modbus_reply_exception(p.ctx, req, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
      break;
  }
}

void modbus_server::serve_tcp() {
  auto& p = *impl_;
  // Per client: the bytes received and not yet answered. Reads never block, so a client that
  // sends half a frame and stalls holds up nobody else.
  std::map<int, std::vector<std::uint8_t>> pending;
  const auto drop = [&](int fd, bool bad) {
    if (bad) ++p.bad_frames;
    ::close(fd);
    pending.erase(fd);
    p.clients.erase(std::remove(p.clients.begin(), p.clients.end(), fd), p.clients.end());
  };
  std::uint8_t chunk[1024];
  while (!stop_.load()) {
    std::vector<int> fds = p.clients;
    fds.push_back(p.listen_fd);
    for (const int fd : readable(fds)) {
      if (fd == p.listen_fd) {
        int listen_fd = p.listen_fd;
        const int c = modbus_tcp_accept(p.ctx, &listen_fd);
        if (c < 0) continue;
        if (static_cast<int>(p.clients.size()) >= p.max_clients || c >= FD_SETSIZE) {
          ::close(c);
          continue;
        }
        ++p.accepted;
        p.clients.push_back(c);
        pending[c];
        continue;
      }
      const ssize_t r = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      auto& buf = pending[fd];
      if (r <= 0) {  // closed (a half frame left behind counts as bad)
        drop(fd, !buf.empty());
        continue;
      }
      buf.insert(buf.end(), chunk, chunk + r);
      modbus_set_socket(p.ctx, fd);
      for (;;) {
        const int n = next_tcp_frame(buf);
        if (n < 0) {
          drop(fd, true);
          break;
        }
        if (n == 0) break;
        handle(buf.data(), n, false);
        buf.erase(buf.begin(), buf.begin() + n);
      }
    }
  }
  for (const auto& [fd, buf] : pending) ::close(fd);
  p.clients.clear();
  modbus_set_socket(p.ctx, -1);
}

void modbus_server::serve_rtu() {
  auto& p = *impl_;
  std::uint8_t req[MODBUS_RTU_MAX_ADU_LENGTH];
  while (!stop_.load()) {
    const int fd = p.ctx == nullptr ? -1 : modbus_get_socket(p.ctx);
    if (fd < 0) {  // lost the device: reopen it (a USB adapter replugged, a pty pair restarted)
      if (!open_rtu(p)) {
        for (int i = 0; i < 5 && !stop_.load(); ++i) readable({});
      }
      continue;
    }
    if (readable({fd}).empty()) continue;
    const int rc = modbus_receive(p.ctx, req);
    if (rc > 0) {
      handle(req, rc, true);
    } else if (rc == 0) {
      // A request to another slave on the bus. libmodbus then takes the next frame for that
      // slave's answer and drops it; when no answer comes (no such slave), that next frame would
      // be the master's next request to us. So after 100 ms of silence, start afresh.
      if (readable({fd}, 100'000).empty() && !open_rtu(p) && p.ctx != nullptr) modbus_close(p.ctx);
    } else {
      const int e = errno;
      ++p.bad_frames;
      if (e == EMBBADCRC || e == ETIMEDOUT || e == EMBBADDATA || e == EMBBADSLAVE ||
          e == EMBMDATA || e == EMBBADEXC || e == EMBUNKEXC) {
        modbus_flush(p.ctx);  // drop the rest of a bad frame
      } else {
        modbus_close(p.ctx);  // EIO and the like: the device went away
      }
    }
  }
}

}  // namespace herd::sim_modbus
