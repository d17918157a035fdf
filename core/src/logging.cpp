#include "herd/core/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace herd::core {

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  for (int i = spdlog::level::trace; i < spdlog::level::n_levels; ++i) {
    const auto lvl = static_cast<spdlog::level::level_enum>(i);
    const auto sv = spdlog::level::to_string_view(lvl);
    if (std::string_view(sv.data(), sv.size()) == name) return lvl;
  }
  if (name == "warn") return spdlog::level::warn;
  return std::nullopt;
}

void setup_logging(spdlog::level::level_enum level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("herdgate", sink);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v", spdlog::pattern_time_type::utc);
  logger->set_level(level);
  spdlog::set_default_logger(logger);
  spdlog::set_level(level);
}

std::shared_ptr<spdlog::logger> module_logger(const std::string& name) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get(name)) return existing;
  auto def = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(name, def->sinks().begin(), def->sinks().end());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v", spdlog::pattern_time_type::utc);
  logger->set_level(def->level());
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace herd::core
