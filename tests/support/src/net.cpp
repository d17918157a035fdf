#include <herd/test_support/net.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <herd/test_support/wait_until.hpp>

namespace herd::test_support {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Closes the socket on every path out.
struct socket_fd {
  int fd;
  explicit socket_fd(int f) : fd(f) {}
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::uint16_t free_port() {
  socket_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) throw std::runtime_error(std::string("free_port: socket: ") + std::strerror(errno));
  sockaddr_in addr = loopback(0);
  if (::bind(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error(std::string("free_port: bind: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("free_port: getsockname: ") + std::strerror(errno));
  }
  return ntohs(addr.sin_port);
}

bool port_accepts(std::uint16_t port) {
  socket_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) return false;
  sockaddr_in addr = loopback(port);
  return ::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

bool wait_port_accepts(std::uint16_t port, std::chrono::milliseconds deadline) {
  return wait_until([port] { return port_accepts(port); }, deadline,
                    std::chrono::milliseconds(10));
}

}  // namespace herd::test_support
