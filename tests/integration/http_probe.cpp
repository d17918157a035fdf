#include "http_probe.hpp"

#include <httplib.h>

#include <sstream>
#include <stdexcept>

namespace herd::test {

std::optional<http_reply> http_get(const std::string& address, const std::string& path) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("not host:port: " + address);
  httplib::Client cli(address.substr(0, colon), std::stoi(address.substr(colon + 1)));
  cli.set_connection_timeout(2);
  cli.set_read_timeout(5);
  auto res = cli.Get(path);
  if (!res) return std::nullopt;
  return http_reply{res->status, res->body, res->get_header_value("Content-Type")};
}

std::optional<double> sample(const std::string& exposition, const std::string& name) {
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

}  // namespace herd::test
