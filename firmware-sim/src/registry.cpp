// The collar -> animal registry of a simulated fleet, as the CSV file the gateway loads.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <system_error>

#include "herd/sim/fleet.hpp"
#include "herd/sim/ids.hpp"

namespace herd::sim {

namespace {

// "YYYY-MM-DDTHH:MM:SSZ": the registry is second-precision.
std::string iso8601_seconds(std::int64_t epoch_ms) {
  using namespace std::chrono;
  const sys_time<seconds> tp = floor<seconds>(sys_time<milliseconds>{milliseconds{epoch_ms}});
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{tp - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

}  // namespace

std::vector<registry_entry> fleet::registry() const {
  const auto& o = options();
  const std::int64_t valid_from = registry_valid_from_ms(o.start_ms);
  std::vector<registry_entry> rows;
  rows.reserve(static_cast<std::size_t>(o.collars));
  for (int c = 0; c < o.collars; ++c) rows.push_back({collar_id(c), animal_id(c), valid_from});
  return rows;
}

core::status fleet::write_registry(const std::filesystem::path& path) const {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return core::error::fatal(
          fmt::format("cannot write registry {}: {}", tmp.string(), std::strerror(errno)));
    }
    out << "collar_id,animal_id,valid_from\n";
    for (const auto& r : registry()) {
      out << r.collar_id << ',' << r.animal_id << ',' << iso8601_seconds(r.valid_from_ms) << '\n';
    }
    out.flush();
    if (!out) return core::error::fatal(fmt::format("cannot write registry {}", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    std::filesystem::remove(tmp, ec);
    return core::error::fatal(
        fmt::format("cannot move registry into place at {}: {}", path.string(), why));
  }
  return core::ok_v;
}

}  // namespace herd::sim
