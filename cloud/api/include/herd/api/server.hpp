#pragma once
// herd-api's HTTP listener: cpp-httplib (Debian libcpp-httplib-dev 0.11) in front of
// service::handle(). Limits: request line and headers 8 KiB (httplib's defaults), bodies 64 KiB,
// read/write timeouts 5 s, keep-alive 5 s / 100 requests, `threads` workers. Malformed requests
// get httplib's 400 before our code runs; bad framing or header values (src/request_syntax.hpp:
// invalid or conflicting Content-Length, a body on GET, chunked bodies, control characters) get
// our 400 / 411 / 413; everything else goes through handle(), which never throws.
#include <cstdint>
#include <memory>
#include <string>

#include "herd/api/service.hpp"
#include "herd/core/result.hpp"

namespace herd::api {

class http_server {
 public:
  http_server(service& svc, std::uint32_t threads);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;
  // Binds host:port (port 0 = any free port). Errors: retriable (address in use / not available).
  core::result<std::uint16_t> bind(const std::string& host, std::uint16_t port);
  // Serves until stop() (from any thread). Blocks.
  void run();
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::api
