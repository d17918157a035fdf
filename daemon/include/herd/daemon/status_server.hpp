#pragma once
// A daemon's small HTTP listener for GET /metrics and GET /health (cpp-httplib), on a thread of
// its own with a pool of two request threads, so a burst of scrapers cannot compete with the
// daemon's real work. Shared by herdgate and herd-projector. Handlers run on the request threads:
// they must be thread-safe.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "herd/core/result.hpp"

namespace herd::daemon {

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
  // Stops accepting, finishes requests in progress and joins the threads. Idempotent.
  void stop();
  // The bound address as host:port (the real port when 0 was asked for); empty before start().
  std::string address() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::daemon
