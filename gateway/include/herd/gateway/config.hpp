#pragma once
// The gateway's one config file (TOML). Parsed only here; every module gets a plain struct.
// Validation is strict: every problem is reported with its key path, unknown keys are errors.
#include <map>
#include <string>

#include "herd/buffer/outbox.hpp"
#include "herd/core/clock_monitor.hpp"
#include "herd/core/result.hpp"
#include "herd/forwarder/forwarder.hpp"
#include "herd/gateway/observability.hpp"
#include "herd/sensors/modbus_config.hpp"
#include "herd/sensors/mqtt_source.hpp"

namespace herd::gateway {

struct gateway_config {
  std::string gateway_id;  // names this gateway in every event
  std::string log_level = "info";
  sensors::mqtt_options mqtt;
  sensors::modbus::options modbus;      // [modbus], [[modbus.device]]: none by default
  forwarder::forwarder_options kafka;
  buffer::outbox_options outbox;
  std::string registry_path;
  observability_options observability;  // [metrics] and [health]
  core::clock_monitor_options clock;    // [clock]
};

// 1 MiB: a real config is a few KiB; a larger file (or /dev/zero) is refused with a clear error.
inline constexpr std::size_t k_max_config_bytes = std::size_t{1} << 20;

// Reads and validates a config file (a regular file of at most k_max_config_bytes). The error message lists every problem, one per line,
// each starting with its key path (e.g. "kafka.max_in_flight: must be between 1 and 1000000").
core::result<gateway_config> load_config(const std::string& path);
core::result<gateway_config> parse_config(std::string_view toml_text, const std::string& origin);

}  // namespace herd::gateway
