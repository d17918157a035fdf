#include "herd/rules/alert.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace herd::rules {

namespace {
constexpr std::array<std::string_view, k_alert_kind_max> k_kind_names = {
    "fever", "estrus", "rumination_drop", "lameness", "calving", "device_offline", "collar_fallen_off", "low_battery"};
}

std::string_view to_string(alert_kind k) {
  const auto i = static_cast<std::size_t>(k);
  return i >= 1 && i <= k_kind_names.size() ? k_kind_names[i - 1] : "unknown";
}

std::optional<alert_kind> alert_kind_from(std::string_view s) {
  for (std::size_t i = 0; i < k_kind_names.size(); ++i) {
    if (k_kind_names[i] == s) return static_cast<alert_kind>(i + 1);
  }
  return std::nullopt;
}

std::string_view to_string(alert_severity s) {
  switch (s) {
    case alert_severity::info: return "info";
    case alert_severity::warning: return "warning";
    case alert_severity::critical: return "critical";
  }
  return "unknown";
}

std::string_view to_string(alert_change_kind c) {
  switch (c) {
    case alert_change_kind::raised: return "raised";
    case alert_change_kind::updated: return "updated";
    case alert_change_kind::resolved: return "resolved";
    case alert_change_kind::acknowledged: return "acknowledged";
  }
  return "unknown";
}

std::string compact_utc(std::int64_t ms) {
  std::int64_t sec = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
  const auto t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace herd::rules
