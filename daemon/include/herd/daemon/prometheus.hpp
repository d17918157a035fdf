#pragma once
// Prometheus text exposition (format 0.0.4) pieces shared by the daemons' /metrics pages.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herd::daemon {

// One histogram in seconds: `# HELP` and `# TYPE` lines, a `<name>_bucket{le="<bound>"}` line per
// cumulative bucket (`le`: (upper bound in s, observations at most that), ascending), the
// `+Inf` bucket (= `count`), `<name>_sum` (s, 6 decimals) and `<name>_count`. Pure; thread: any.
std::string prometheus_histogram(std::string_view name, std::string_view help,
                                 const std::vector<std::pair<double, std::uint64_t>>& le, std::uint64_t count,
                                 double sum_s);

}  // namespace herd::daemon
