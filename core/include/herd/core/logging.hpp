#pragma once
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace herd::core {

// "trace" | "debug" | "info" | "warn" | "error" | "critical" | "off"
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);

// Sets the default logger: stderr, "[time] [level] [module] message", given level.
void setup_logging(spdlog::level::level_enum level);

// A named logger per module ("mqtt", "outbox", "forwarder", ...) sharing the default sinks.
std::shared_ptr<spdlog::logger> module_logger(const std::string& name);

}  // namespace herd::core
