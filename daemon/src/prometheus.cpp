#include "herd/daemon/prometheus.hpp"

#include <fmt/format.h>

namespace herd::daemon {

std::string prometheus_histogram(std::string_view name, std::string_view help,
                                 const std::vector<std::pair<double, std::uint64_t>>& le, std::uint64_t count,
                                 double sum_s) {
  std::string out = fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  for (const auto& [bound_s, n] : le) out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bound_s, n);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {:.6f}\n{}_count {}\n", name, count, name, sum_s, name,
                     count);
  return out;
}

}  // namespace herd::daemon
