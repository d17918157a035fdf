// The herd-api daemon as a process: --check-config, a token file others can read refused at
// start, junk over the socket (garbage request lines, oversized headers, binary bytes, a
// half-sent request) answered or dropped without harm, SIGTERM stops it cleanly.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <thread>

#include "api_data.hpp"
#include "herd/read_model/sqlite_store.hpp"
#include "herd/test_support/child_process.hpp"
#include "herd/test_support/paths.hpp"
#include "herd/test_support/temp_dir.hpp"
#include "herd/test_support/wait_until.hpp"

using namespace std::chrono_literals;

namespace {

std::string api_binary() { return herd::test_support::binary_dir() + "/cloud/api/herd-api"; }

struct exchange {
  std::string reply;       // what came back: at least the status line and headers, if anything
  bool timed_out = false;  // true: the server neither answered nor closed within 3 s
};

// Sends raw bytes to 127.0.0.1:port and reads until the reply's headers are in, the server closes
// the connection, or 3 s pass. half_close: shut our sending side down first (a client that goes
// away); httplib then drops the connection without answering, so a complete request must be
// sent without it or its reply is never seen.
exchange raw_exchange(std::uint16_t port, const std::string& bytes, bool half_close) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early on junk: fine
    off += static_cast<std::size_t>(n);
  }
  if (half_close) ::shutdown(fd, SHUT_WR);
  exchange out;
  char buf[4096];
  while (out.reply.find("\r\n\r\n") == std::string::npos) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) out.timed_out = true;
    if (n <= 0) break;
    out.reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("api daemon: config checks, junk on the socket, clean SIGTERM") {
  herd::test_support::temp_dir dir;
  const std::string db = (dir / "rm.db").string();
  {
    auto s = herd::read_model::open_sqlite_store({.path = db});
    REQUIRE(s.ok());
    herd::projector::applier ap(**s);
    REQUIRE(ap.load_positions().ok());
    auto data = herd::api_test::make_herd(3, 2, 1);
    herd::api_test::apply(ap, data.records, 0, data.records.size());
  }
  const std::string token = (dir / "token").string();
  std::ofstream(token) << "daemon-token-0123456789\n";
  ::chmod(token.c_str(), 0644);
  const std::string cfg = (dir / "herd-api.toml").string();
  std::ofstream(cfg) << "[api]\nlisten = \"127.0.0.1:0\"\nthreads = 2\ntoken_file = \"" << token
                     << "\"\n[read_model]\npath = \"" << db << "\"\n";

  // The sample config is valid; a token file others can read is refused (exit 2, says why).
  herd::test_support::child_process sample(api_binary(), {"--check-config", "--config", HERD_SOURCE_DIR "/config/herd-api.sample.toml"},
                                           dir.path(), {}, "sample.log");
  CHECK(sample.wait_exit(20s) == 0);
  herd::test_support::child_process refused(api_binary(), {"--config", cfg}, dir.path(), {}, "refused.log");
  CHECK(refused.wait_exit(20s) == 2);
  CHECK(refused.log_text().find("chmod 600") != std::string::npos);
  ::chmod(token.c_str(), 0600);

  const std::string addr_file = (dir / "api.address").string();
  herd::test_support::child_process api(api_binary(), {"--config", cfg, "--address-file", addr_file}, dir.path(), {},
                                        "api.log");
  REQUIRE(herd::test_support::wait_until([&] { return std::filesystem::exists(addr_file); }, 20s, 10ms));
  std::string addr;
  std::ifstream(addr_file) >> addr;
  const auto port = static_cast<std::uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));

  // Complete requests, each of which must be answered with its 4xx.
  const std::vector<std::pair<std::string, int>> bad_requests = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET /api/v1/summary HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100'000, 'a') + "\r\n\r\n", 400},
      {"GET /" + std::string(20'000, 'p') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      // RFC 9112 §6.3: invalid framing. httplib alone served these GETs with 200 and read their
      // body as the next request (regression: CI of 2026-12-01).
      {"GET /api/v1/summary HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400},
      {"GET /api/v1/summary HTTP/1.1\r\nHost: x\r\nContent-Length: 24\r\n\r\nGET /health HTTP/1.1\r\n\r\n", 400},
      {"POST /api/v1/animals/DE01000/alerts/x/acknowledge HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\nabc\r\n0\r\n\r\n", 411},
      {"POST /api/v1/animals/DE01000/alerts/x/acknowledge HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\nabc", 413},
      {"GET /api/v1/animals/%ZZ%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      // RFC 9110 §5.5: no control characters in a field value (httplib passed them through and
      // an open read endpoint answered 200).
      {"GET /api/v1/animals/DE01000 HTTP/1.1\r\nHost: x\r\nAuthorization: \x01\x02\x7f\r\n\r\n", 400},
  };
  for (const auto& [bytes, expected] : bad_requests) {
    const auto [reply, timed_out] = raw_exchange(port, bytes, false);
    INFO(bytes.substr(0, 80) << " -> " << reply.substr(0, 120));
    CHECK_FALSE(timed_out);
    REQUIRE(reply.size() >= 12);
    CHECK(std::stoi(reply.substr(9, 3)) == expected);
    CHECK(api.running());
  }
  // Junk a client sends and then goes away from: the server drops it or answers 4xx, at once.
  const std::vector<std::string> junk = {
      std::string("\x00\x01\x02\xff\xfe binary", 12),
      "GET /api/v1/summary HTTP/1.1\r\nHo",  // half a request
  };
  for (const auto& j : junk) {
    const auto [reply, timed_out] = raw_exchange(port, j, true);
    INFO(j.substr(0, 80) << " -> " << reply.substr(0, 120));
    CHECK_FALSE(timed_out);
    if (!reply.empty()) {
      const auto status = std::stoi(reply.substr(9, 3));
      CHECK(status >= 400);
      CHECK(status < 500);
    }
    CHECK(api.running());
  }
  httplib::Client c("127.0.0.1", port);
  auto h = c.Get("/health");
  REQUIRE(h);
  CHECK(h->status == 200);
  auto unknown = c.Get("/api/v1/animals/DE09999");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);

  api.signal(SIGTERM);
  CHECK(api.wait_exit(20s) == 0);
}
