#include "modbus_observability.hpp"

#include <fmt/format.h>

namespace herd::gateway {

namespace {
// A device name is 1-64 of [A-Za-z0-9._:-] (validated): no escaping needed in a label value.
template <class Fn>
void series(std::string& out, const std::vector<sensors::modbus::device_stats>& devices, const char* name,
            const char* type, const char* help, Fn&& value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  for (const auto& d : devices) out += fmt::format("{}{{device=\"{}\"}} {}\n", name, d.name, value(d));
}
}  // namespace

std::string render_modbus_metrics(const std::vector<sensors::modbus::device_stats>& devices) {
  std::string out;
  if (devices.empty()) return out;
  using ds = sensors::modbus::device_stats;
  series(out, devices, "herdgate_modbus_polls_total", "counter", "Poll cycles of a Modbus device (every block of its map).",
         [](const ds& d) { return d.polls; });
  series(out, devices, "herdgate_modbus_polls_ok_total", "counter", "Poll cycles that read every block.",
         [](const ds& d) { return d.polls_ok; });
  series(out, devices, "herdgate_modbus_requests_total", "counter", "Modbus requests sent to the device.",
         [](const ds& d) { return d.requests; });
  out += "# HELP herdgate_modbus_failures_total Failed connects and requests by kind: connect, timeout, crc, "
         "exception, bad_data, io.\n# TYPE herdgate_modbus_failures_total counter\n";
  for (const auto& d : devices) {
    const std::pair<const char*, std::uint64_t> kinds[] = {
        {"connect", d.fail_connect}, {"timeout", d.fail_timeout},     {"crc", d.fail_crc},
        {"exception", d.fail_exception}, {"bad_data", d.fail_bad_data}, {"io", d.fail_io}};
    for (const auto& [k, v] : kinds) {
      out += fmt::format("herdgate_modbus_failures_total{{device=\"{}\",kind=\"{}\"}} {}\n", d.name, k, v);
    }
  }
  series(out, devices, "herdgate_modbus_readings_total", "counter", "Readings handed to ingest (stored or dead-lettered).",
         [](const ds& d) { return d.readings; });
  series(out, devices, "herdgate_modbus_unchanged_total", "counter", "Records skipped because they had not changed.",
         [](const ds& d) { return d.unchanged; });
  series(out, devices, "herdgate_modbus_poll_seconds_last", "gauge", "Duration of the last successful poll cycle.",
         [](const ds& d) { return fmt::format("{:.6f}", d.last_latency_ms / 1000); });
  series(out, devices, "herdgate_modbus_poll_seconds_sum", "counter",
         "Sum of successful poll cycle durations (divide by polls_ok for the mean).",
         [](const ds& d) { return fmt::format("{:.6f}", d.latency_sum_ms / 1000); });
  series(out, devices, "herdgate_modbus_last_success_timestamp_seconds", "gauge",
         "Wall time of the last successful poll, s since epoch; 0 = never.",
         [](const ds& d) { return fmt::format("{:.3f}", static_cast<double>(d.last_success_ms) / 1000); });
  series(out, devices, "herdgate_modbus_up", "gauge", "1 while the last poll of the device succeeded.",
         [](const ds& d) { return d.failing_since_ms == 0 && d.polls_ok > 0 ? 1 : 0; });
  return out;
}

void modbus_health(const std::vector<sensors::modbus::device_stats>& devices, std::int64_t now_ms,
                   std::chrono::seconds limit, std::vector<std::string>& reasons) {
  for (const auto& d : devices) {
    if (d.failing_since_ms == 0) continue;
    const std::int64_t for_ms = now_ms - d.failing_since_ms;
    if (for_ms <= limit.count() * 1000) continue;
    reasons.push_back(fmt::format("modbus: device '{}' ({} unit {}) failing for {} s (limit {} s): {}", d.name,
                                  d.endpoint, d.unit_id, for_ms / 1000, limit.count(), d.last_error));
  }
}

}  // namespace herd::gateway
