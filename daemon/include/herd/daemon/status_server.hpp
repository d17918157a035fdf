#pragma once
// A daemon's small HTTP listener for GET /metrics and GET /health, shared by herdgate and
// herd-projector: one thread, non-blocking sockets, poll(). Exposed without authentication to
// whatever can reach its address, so it bounds what a client can cost (issue 14, case 4):
//  - a request head (request line + headers) of at most k_max_request_bytes (else 431);
//  - the whole head within k_request_deadline of the accept, and the reply sent within the same
//    deadline (else the connection is closed): a client dripping one byte at a time is cut off;
//  - only GET and HEAD (else 405); a request body is never read, the connection closes after
//    every reply (no keep-alive);
//  - at most k_max_connections at once; a new connection evicts the one closest to its deadline.
// No socket operation ever blocks the thread, so slow clients cannot starve a probe: a /health
// request that arrives whole is answered on the next turn of the loop. (cpp-httplib, used before,
// read whole request bodies into memory and let two slow clients hold both its worker threads.)
// Handlers run on the listener's thread: they must be thread-safe and quick.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "herd/core/result.hpp"

namespace herd::daemon {

inline constexpr std::size_t k_max_request_bytes = 8192;
inline constexpr std::chrono::milliseconds k_request_deadline{3000};
inline constexpr std::size_t k_max_connections = 64;

struct listen_address {
  std::string host;  // as given, IPv6 without brackets
  int port = 0;      // 0: any free port
};
// Parses "host:port" or "[v6]:port"; the reason when it is not one.
core::result<listen_address> parse_listen_address(const std::string& text);

struct http_reply {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

class status_server {
 public:
  // `name` names the listener in logs and errors (e.g. "metrics.listen").
  status_server(std::string name, std::string listen, std::map<std::string, std::function<http_reply()>> routes);
  ~status_server();
  status_server(const status_server&) = delete;
  status_server& operator=(const status_server&) = delete;

  // Binds and starts serving; returns once requests are accepted. An address that cannot be bound
  // (in use, not local) is a fatal error.
  core::status start();
  // Stops accepting, closes open connections and joins the thread. Idempotent.
  void stop();
  // The bound address as host:port (the real port when 0 was asked for); empty before start().
  std::string address() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::daemon
