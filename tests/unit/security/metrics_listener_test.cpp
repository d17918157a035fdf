// Issue 14, case 4: the unauthenticated metrics/health listener cannot be exhausted: a huge POST
// is refused without being read, slow clients are cut off at the header deadline and cannot
// starve a /health probe, and only GET is answered.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "../../../gateway/src/metrics_server.hpp"

using namespace std::chrono;
using herd::gateway::metrics_server;

namespace {

struct socket_fd {
  int fd = -1;
  explicit socket_fd(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~socket_fd() { ::close(fd); }
  bool send_all(const std::string& s) const {
    return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Everything the server sends until it closes or a whole response is in (the head, then as
  // many body bytes as its Content-Length says unless `head_only`); nullopt if neither happens
  // by the deadline. So a server that answers and keeps the connection open (HTTP/1.1
  // keep-alive) counts as answering; only one that does not answer in time fails.
  std::optional<std::string> read_response(milliseconds deadline, bool head_only = false) const {
    std::string got;
    const auto end = steady_clock::now() + deadline;
    for (;;) {
      if (complete_response(got, head_only)) return got;
      const auto left = duration_cast<milliseconds>(end - steady_clock::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return got;
      got.append(buf, static_cast<std::size_t>(n));
    }
  }

  static bool complete_response(const std::string& got, bool head_only) {
    const auto head_end = got.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    if (head_only) return true;
    std::string head = got.substr(0, head_end);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string field = "\r\ncontent-length:";
    const auto at = head.find(field);
    if (at == std::string::npos) return false;  // no length: the body ends when the server closes
    const auto length = std::strtoull(head.c_str() + at + field.size(), nullptr, 10);
    return got.size() >= head_end + 4 + length;
  }
};

struct server_rig {
  metrics_server server{{"127.0.0.1:0", std::chrono::seconds(3600)},
                        [] { return herd::gateway::observability_snapshot{}; }};
  int port = 0;
  server_rig() {
    REQUIRE(server.start().ok());
    const auto a = server.address();
    port = std::stoi(a.substr(a.rfind(':') + 1));
  }
};

bool starts_with(const std::optional<std::string>& s, const std::string& p) {
  return s && s->rfind(p, 0) == 0;
}

}  // namespace

TEST_CASE("two clients dripping one byte at a time cannot starve the /health probe") {
  server_rig rig;
  std::vector<std::unique_ptr<socket_fd>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::make_unique<socket_fd>(rig.port));
    REQUIRE(slow.back()->send_all("GET /health HTTP/1.1\r\nX-Slow: "));
  }
  // Each probe must be answered at once, while the slow clients keep dripping.
  for (int i = 0; i < 5; ++i) {
    for (auto& s : slow) (void)s->send_all("a");
    socket_fd probe(rig.port);
    REQUIRE(probe.send_all("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto started = steady_clock::now();
    const auto r = probe.read_response(milliseconds(1000));
    CHECK(starts_with(r, "HTTP/1.1 "));
    CHECK(steady_clock::now() - started < milliseconds(1000));
  }
}

TEST_CASE("a client that never finishes its request head is cut off at the header deadline") {
  server_rig rig;
  socket_fd slow(rig.port);
  REQUIRE(slow.send_all("GET /metrics HTTP/1.1\r\n"));
  const auto started = steady_clock::now();
  bool closed = false;
  while (steady_clock::now() - started < milliseconds(6000) && !closed) {
    (void)slow.send_all("X");  // one byte every 250 ms keeps a per-read timeout from firing
    pollfd p{slow.fd, POLLIN, 0};
    if (::poll(&p, 1, 250) > 0) {
      char buf[512];
      closed = ::recv(slow.fd, buf, sizeof buf, 0) <= 0;
    }
  }
  CHECK(closed);
  CHECK(steady_clock::now() - started < herd::daemon::k_request_deadline + milliseconds(1500));
}

TEST_CASE("a 1 GiB POST is refused before its body is read, only GET and HEAD are answered") {
  server_rig rig;
  socket_fd post(rig.port);
  REQUIRE(post.send_all("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"));
  REQUIRE(post.send_all(std::string(64 * 1024, 'j')));
  CHECK(starts_with(post.read_response(milliseconds(1000)), "HTTP/1.1 405"));

  socket_fd put(rig.port);
  REQUIRE(put.send_all("PUT /health HTTP/1.1\r\n\r\n"));
  CHECK(starts_with(put.read_response(milliseconds(1000)), "HTTP/1.1 405"));

  socket_fd huge(rig.port);
  REQUIRE(huge.send_all("GET /metrics HTTP/1.1\r\nX-Big: " + std::string(16 * 1024, 'h')));
  CHECK(starts_with(huge.read_response(milliseconds(1000)), "HTTP/1.1 431"));

  socket_fd get(rig.port);
  REQUIRE(get.send_all("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto metrics = get.read_response(milliseconds(1000));
  CHECK(starts_with(metrics, "HTTP/1.1 200"));
  CHECK((metrics && metrics->find("herdgate_") != std::string::npos));

  socket_fd head(rig.port);
  REQUIRE(head.send_all("HEAD /health HTTP/1.1\r\n\r\n"));
  const auto h = head.read_response(milliseconds(1000), true);
  CHECK(starts_with(h, "HTTP/1.1 "));
  CHECK((h && h->ends_with("\r\n\r\n")));  // a head, no body

  socket_fd other(rig.port);
  REQUIRE(other.send_all("GET /admin HTTP/1.1\r\n\r\n"));
  CHECK(starts_with(other.read_response(milliseconds(1000)), "HTTP/1.1 404"));
}

TEST_CASE("more connections than the listener keeps cannot lock a probe out") {
  server_rig rig;
  std::vector<std::unique_ptr<socket_fd>> idle;
  for (std::size_t i = 0; i < herd::daemon::k_max_connections + 10; ++i) {
    idle.push_back(std::make_unique<socket_fd>(rig.port));
  }
  socket_fd probe(rig.port);
  REQUIRE(probe.send_all("GET /health HTTP/1.1\r\n\r\n"));
  CHECK(starts_with(probe.read_response(milliseconds(1000)), "HTTP/1.1 "));
}
