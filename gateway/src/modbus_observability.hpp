#pragma once
// The Modbus part of /metrics and /health (README, "Metrics and health"). Pure functions.
#include <chrono>
#include <string>
#include <vector>

#include "herd/sensors/modbus_poller.hpp"

namespace herd::gateway {

// Prometheus series labelled device="<name>"; empty when no device is configured.
std::string render_modbus_metrics(const std::vector<sensors::modbus::device_stats>& devices);
// A reason per device failing for longer than `limit` at `now_ms` (wall, ms since epoch).
void modbus_health(const std::vector<sensors::modbus::device_stats>& devices, std::int64_t now_ms,
                   std::chrono::seconds limit, std::vector<std::string>& reasons);

}  // namespace herd::gateway
