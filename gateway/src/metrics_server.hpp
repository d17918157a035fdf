#pragma once
// The gateway's GET /metrics and GET /health, served by daemon::status_server (its limits against
// slow or hostile clients are documented there). `observe` is called on the listener's thread, so
// it must be thread-safe (app::observe() is: atomics and the outbox's own lock).
#include <functional>
#include <memory>
#include <string>

#include "herd/core/result.hpp"
#include "herd/gateway/observability.hpp"

namespace herd::gateway {


class metrics_server {
 public:
  metrics_server(observability_options options, std::function<observability_snapshot()> observe);
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  // Binds options.listen and starts serving; returns once requests are accepted. An address that
  // cannot be bound (in use, not local) is a fatal error.
  core::status start();
  // Stops accepting, finishes requests in progress and joins the threads. Idempotent.
  void stop();
  // The bound address as host:port (the real port when 0 was asked for); empty before start().
  std::string address() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::gateway
