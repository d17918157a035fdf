#include "metrics_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "herd/core/logging.hpp"

namespace herd::gateway {

struct metrics_server::impl {
  observability_options opts;
  std::function<observability_snapshot()> observe;
  httplib::Server server;
  std::thread thread;
  std::string address;
  std::atomic<bool> loop_ended{false};
  std::shared_ptr<spdlog::logger> log = core::module_logger("metrics");
};

metrics_server::metrics_server(observability_options options,
                               std::function<observability_snapshot()> observe)
    : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(options);
  impl_->observe = std::move(observe);
}

metrics_server::~metrics_server() { stop(); }

core::status metrics_server::start() {
  auto& p = *impl_;
  if (p.thread.joinable()) return core::error::fatal("metrics server already started");
  auto where = parse_listen_address(p.opts.listen);
  if (!where) return core::error::fatal("metrics.listen " + p.opts.listen + ": " + where.err().message);

  p.server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // Short keep-alive and I/O timeouts: a stalled client must not hold one of the two request
  // threads for long, nor delay a shutdown.
  p.server.set_keep_alive_timeout(2);
  p.server.set_read_timeout(5);
  p.server.set_write_timeout(5);
  // httplib's default also sets SO_REUSEPORT, which lets a second gateway bind the same port and
  // silently take half the scrapes. SO_REUSEADDR alone still allows a quick restart (TIME_WAIT)
  // but refuses a port another process is listening on.
  p.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  p.server.Get("/metrics", [&p](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_prometheus(p.observe()), k_prometheus_content_type);
  });
  p.server.Get("/health", [&p](const httplib::Request&, httplib::Response& res) {
    const auto h = evaluate_health(p.observe(), p.opts);
    res.status = h.healthy ? 200 : 503;
    res.set_content(h.json, "application/json");
  });

  int port = where->port;
  if (port == 0) {
    port = p.server.bind_to_any_port(where->host);
  } else if (!p.server.bind_to_port(where->host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return core::error::fatal("metrics.listen " + p.opts.listen +
                              ": cannot listen there (address in use or not local?)");
  }
  p.address = (where->host.find(':') != std::string::npos ? "[" + where->host + "]" : where->host) +
              ":" + std::to_string(port);
  p.thread = std::thread([&p] {
    if (!p.server.listen_after_bind()) p.log->error("metrics listener on {} ended", p.address);
    p.loop_ended = true;
  });
  // httplib's stop() is a no-op until the accept loop runs: wait for it, so a stop() right after
  // start() cannot be lost (and leave the thread unjoinable).
  while (!p.server.is_running() && !p.loop_ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  p.log->info("metrics and health on http://{} (/metrics, /health)", p.address);
  return core::ok_v;
}

void metrics_server::stop() {
  auto& p = *impl_;
  if (!p.thread.joinable()) return;
  p.server.stop();
  p.thread.join();
}

std::string metrics_server::address() const { return impl_->address; }

}  // namespace herd::gateway
