#pragma once
// [modbus] and [[modbus.device]] of the gateway config (README, "Modbus devices"). Private to gateway/.
#include <string>
#include <toml++/toml.h>
#include <vector>

#include "herd/sensors/modbus_config.hpp"

namespace herd::gateway {

struct modbus_section {
  sensors::modbus::options poller;
  std::int64_t max_failing_s = 300;  // /health: a device failing longer than this is named
};

// Parses the [modbus] table (may be null: no devices). Profiles (`profile = "file"`) are read
// relative to `base_dir`. Every problem is appended to `errors` with its key path.
void parse_modbus(const toml::table* t, const std::string& base_dir, modbus_section& out,
                  std::vector<std::string>& errors);

}  // namespace herd::gateway
