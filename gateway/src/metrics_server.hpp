#pragma once
// The HTTP listener for GET /metrics and GET /health: one thread, non-blocking sockets, poll().
// Exposed without authentication to whatever can reach `metrics.listen`, so it bounds what a
// client can cost (issue 14, case 4):
//  - a request head (request line + headers) of at most k_max_request_bytes (else 431);
//  - the whole head within k_request_deadline of the accept, and the reply sent within the same
//    deadline (else the connection is closed): a client dripping one byte at a time is cut off;
//  - only GET and HEAD (else 405); a request body is never read, the connection closes after
//    every reply (no keep-alive);
//  - at most k_max_connections at once; a new connection evicts the one closest to its deadline.
// No socket operation ever blocks the thread, so slow clients cannot starve a probe: a /health
// request that arrives whole is answered on the next turn of the loop.
// `observe` is called on this thread, so it must be thread-safe (app::observe() is: atomics and
// the outbox's own lock).
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "herd/core/result.hpp"
#include "herd/gateway/observability.hpp"

namespace herd::gateway {

inline constexpr std::size_t k_max_request_bytes = 8192;
inline constexpr std::chrono::milliseconds k_request_deadline{3000};
inline constexpr std::size_t k_max_connections = 64;

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
