#include "herd/daemon/status_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <thread>

#include "herd/core/logging.hpp"

namespace herd::daemon {

core::result<listen_address> parse_listen_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return core::error::permanent("must be host:port, e.g. 127.0.0.1:9464");
  }
  listen_address a;
  a.host = text.substr(0, colon);
  if (a.host.front() == '[') {
    if (a.host.size() < 3 || a.host.back() != ']') return core::error::permanent("must be host:port or [ipv6]:port");
    a.host = a.host.substr(1, a.host.size() - 2);
  } else if (a.host.find(':') != std::string::npos) {
    return core::error::permanent("an IPv6 host goes in brackets: [::1]:9464");
  }
  const std::string port = text.substr(colon + 1);
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || a.port < 0 || a.port > 65535) {
    return core::error::permanent("port must be 0 .. 65535 (0: any free port)");
  }
  return a;
}


namespace {

using steady = std::chrono::steady_clock;

struct connection {
  int fd = -1;
  steady::time_point deadline;  // the whole request head must arrive, and the reply leave, by then
  std::string in;               // the request head so far (at most k_max_request_bytes)
  std::string out;              // the reply still to send; non-empty once the request is answered
  std::size_t sent = 0;
};

std::string reply(int status, const char* reason, const std::string& content_type,
                  const std::string& body, const char* extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers +
         "Connection: close\r\n\r\n" + body;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : "Error";
  }
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

struct status_server::impl {
  std::string name;
  std::string listen;
  std::map<std::string, std::function<http_reply()>> routes;
  int listen_fd = -1;
  int wake_fd = -1;  // eventfd: stop() wakes the loop
  std::thread thread;
  std::string address;
  std::shared_ptr<spdlog::logger> log = core::module_logger("metrics");
  std::list<connection> conns;

  ~impl() {
    for (int fd : {listen_fd, wake_fd}) {
      if (fd >= 0) ::close(fd);
    }
  }

  // The reply to a complete request head. Only GET (and HEAD) of /metrics and /health; a request
  // body is never read (the connection closes after the reply).
  std::string answer(const std::string& head) {
    const auto line_end = head.find("\r\n");
    const std::string line = head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos || line.compare(sp2 + 1, 5, "HTTP/") != 0) {
      return reply(400, "Bad Request", "text/plain", "bad request line\n");
    }
    const std::string method = line.substr(0, sp1);
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    if (method != "GET" && method != "HEAD") {
      return reply(405, "Method Not Allowed", "text/plain", "only GET\n", "Allow: GET, HEAD\r\n");
    }
    const auto route = routes.find(target);
    if (route == routes.end()) {
      std::string known;
      for (const auto& [path, handler] : routes) known += (known.empty() ? "" : ", ") + path;
      return reply(404, "Not Found", "text/plain", "not found: " + known + " only\n");
    }
    const http_reply h = route->second();
    std::string r = reply(h.status, reason_phrase(h.status), h.content_type, h.body);
    if (method == "HEAD") r.resize(r.find("\r\n\r\n") + 4);
    return r;
  }

  // Reads what is there; answers once the head is complete. False: close the connection.
  bool on_readable(connection& c) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      if (!c.out.empty()) continue;  // answered already: what follows (a body) is discarded
      c.in.append(buf, static_cast<std::size_t>(n));
      const auto end = c.in.find("\r\n\r\n");
      if (end != std::string::npos) {
        c.out = answer(c.in.substr(0, end + 2));
        c.in.clear();
        c.in.shrink_to_fit();
        return true;
      }
      if (c.in.size() > k_max_request_bytes) {
        c.out = reply(431, "Request Header Fields Too Large", "text/plain", "request head too large\n");
        return true;
      }
    }
  }

  // Sends what it can. False: done or failed, close the connection.
  bool on_writable(connection& c) {
    while (c.sent < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.sent += static_cast<std::size_t>(n);
    }
    return false;
  }

  void close_conn(std::list<connection>::iterator it) {
    ::close(it->fd);
    conns.erase(it);
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (conns.size() >= k_max_connections) {
        // Full: the connection closest to its deadline (the slowest) makes room, so that
        // idle or dripping clients cannot lock a probe out.
        close_conn(std::min_element(conns.begin(), conns.end(),
                                    [](const auto& a, const auto& b) { return a.deadline < b.deadline; }));
      }
      conns.push_back({fd, steady::now() + k_request_deadline, {}, {}, 0});
    }
  }

  void loop() {
    std::vector<pollfd> fds;
    std::vector<std::list<connection>::iterator> its;
    for (;;) {
      fds.assign({{wake_fd, POLLIN, 0}, {listen_fd, POLLIN, 0}});
      its.clear();
      auto now = steady::now();
      auto next = now + std::chrono::seconds(1);
      for (auto it = conns.begin(); it != conns.end(); ++it) {
        fds.push_back({it->fd, static_cast<short>(it->out.empty() ? POLLIN : POLLIN | POLLOUT), 0});
        its.push_back(it);
        next = std::min(next, it->deadline);
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
      const int rc = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<std::int64_t>(wait, 0) + 1));
      if (rc < 0 && errno != EINTR) {
        log->error("metrics listener: poll: {}", std::strerror(errno));
        return;
      }
      if (fds[0].revents != 0) return;  // stop()
      now = steady::now();
      for (std::size_t i = 2; i < fds.size(); ++i) {
        auto it = its[i - 2];
        bool keep = true;
        if (fds[i].revents & (POLLERR | POLLNVAL)) keep = false;
        if (keep && (fds[i].revents & (POLLIN | POLLHUP))) keep = on_readable(*it);
        if (keep && !it->out.empty()) keep = on_writable(*it);
        if (keep && now >= it->deadline) keep = false;  // too slow: header-time or write limit
        if (!keep) close_conn(it);
      }
      if (fds[1].revents & POLLIN) accept_all();
    }
  }
};

status_server::status_server(std::string name, std::string listen,
                             std::map<std::string, std::function<http_reply()>> routes)
    : impl_(std::make_unique<impl>()) {
  impl_->name = std::move(name);
  impl_->listen = std::move(listen);
  impl_->routes = std::move(routes);
}

status_server::~status_server() { stop(); }

core::status status_server::start() {
  auto& p = *impl_;
  if (p.thread.joinable() || p.listen_fd >= 0) return core::error::fatal(p.name + ": already started");
  auto where = parse_listen_address(p.listen);
  if (!where) return core::error::fatal(p.name + " " + p.listen + ": " + where.err().message);
  const auto cannot = [&](const std::string& why) {
    return core::error::fatal(p.name + " " + p.listen + ": cannot listen there (" + why + ")");
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(where->port);
  if (const int rc = ::getaddrinfo(where->host.c_str(), port_text.c_str(), &hints, &found); rc != 0) {
    return cannot(::gai_strerror(rc));
  }
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr && p.listen_fd < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    // SO_REUSEADDR alone (no SO_REUSEPORT): a quick restart works (TIME_WAIT), but a second
    // gateway cannot bind the same port and silently take half the scrapes.
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      p.listen_fd = fd;
    } else {
      why = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (p.listen_fd < 0) return cannot(why);
  set_nonblocking(p.listen_fd);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(p.listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const int port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                     : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  p.address = (where->host.find(':') != std::string::npos ? "[" + where->host + "]" : where->host) +
              ":" + std::to_string(port);
  p.wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p.wake_fd < 0) return core::error::fatal(std::string("metrics listener: eventfd: ") + std::strerror(errno));
  p.thread = std::thread([&p] { p.loop(); });
  std::string paths;
  for (const auto& [path, handler] : p.routes) paths += (paths.empty() ? "" : ", ") + path;
  p.log->info("metrics and health on http://{} ({})", p.address, paths);
  return core::ok_v;
}

void status_server::stop() {
  auto& p = *impl_;
  if (!p.thread.joinable()) return;
  const std::uint64_t one = 1;
  (void)!::write(p.wake_fd, &one, sizeof one);
  p.thread.join();
  while (!p.conns.empty()) p.close_conn(p.conns.begin());
}

std::string status_server::address() const { return impl_->address; }

}  // namespace herd::daemon
