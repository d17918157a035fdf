#include "herd/daemon/status_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
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

struct status_server::impl {
  std::string name;
  std::string listen;
  std::map<std::string, std::function<http_reply()>> routes;
  httplib::Server server;
  std::thread thread;
  std::string address;
  std::atomic<bool> loop_ended{false};
  std::shared_ptr<spdlog::logger> log = core::module_logger("metrics");
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
  if (p.thread.joinable()) return core::error::fatal(p.name + ": already started");
  auto where = parse_listen_address(p.listen);
  if (!where) return core::error::fatal(p.name + " " + p.listen + ": " + where.err().message);

  p.server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // Short keep-alive and I/O timeouts: a stalled client must not hold one of the two request
  // threads for long, nor delay a shutdown.
  p.server.set_keep_alive_timeout(2);
  p.server.set_read_timeout(5);
  p.server.set_write_timeout(5);
  // httplib's default also sets SO_REUSEPORT, which lets a second daemon bind the same port and
  // silently take half the scrapes. SO_REUSEADDR alone still allows a quick restart (TIME_WAIT)
  // but refuses a port another process is listening on.
  p.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  for (const auto& [path, handler] : p.routes) {
    p.server.Get(path, [h = handler](const httplib::Request&, httplib::Response& res) {
      const http_reply r = h();
      res.status = r.status;
      res.set_content(r.body, r.content_type);
    });
  }

  int port = where->port;
  if (port == 0) {
    port = p.server.bind_to_any_port(where->host);
  } else if (!p.server.bind_to_port(where->host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return core::error::fatal(p.name + " " + p.listen + ": cannot listen there (address in use or not local?)");
  }
  p.address = (where->host.find(':') != std::string::npos ? "[" + where->host + "]" : where->host) +
              ":" + std::to_string(port);
  p.thread = std::thread([&p] {
    if (!p.server.listen_after_bind()) p.log->error("listener on {} ended", p.address);
    p.loop_ended = true;
  });
  // httplib's stop() is a no-op until the accept loop runs: wait for it, so a stop() right after
  // start() cannot be lost (and leave the thread unjoinable).
  while (!p.server.is_running() && !p.loop_ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  p.log->info("metrics and health on http://{} (/metrics, /health)", p.address);
  return core::ok_v;
}

void status_server::stop() {
  auto& p = *impl_;
  if (!p.thread.joinable()) return;
  p.server.stop();
  p.thread.join();
}

std::string status_server::address() const { return impl_->address; }

}  // namespace herd::daemon
