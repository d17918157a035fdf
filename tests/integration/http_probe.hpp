#pragma once
// Plain HTTP GETs against the gateway's /metrics and /health, and reading one Prometheus sample.
#include <optional>
#include <string>

namespace herd::test {

struct http_reply {
  int status = 0;
  std::string body;
  std::string content_type;
};

// GET http://<address><path>; nullopt when nothing answered. `address` is host:port.
std::optional<http_reply> http_get(const std::string& address, const std::string& path);

// The value of an unlabelled sample `name value` in a Prometheus text exposition; nullopt when
// the series is absent.
std::optional<double> sample(const std::string& exposition, const std::string& name);

}  // namespace herd::test
