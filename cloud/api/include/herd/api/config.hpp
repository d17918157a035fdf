#pragma once
// herd-api's configuration: a strict TOML file like herdgate's and herd-projector's (README,
// "herd-api configuration"; sample: config/herd-api.toml). Unknown keys are errors.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "herd/core/result.hpp"

namespace herd::api {

struct api_config {
  // [api]
  std::string listen_host = "127.0.0.1";  // loopback by default: a farm LAN is opted into
  std::uint16_t listen_port = 8090;
  std::uint32_t threads = 4;                // HTTP worker threads = read-model connections
  std::string log_level = "info";
  // Bearer token for write endpoints (acknowledge), and for reads when tokens_for_reads. Either
  // inline (`token`: then the config file itself must not be readable by group/others) or in
  // `token_file` (mode 0600 or 0400). Empty = write endpoints are disabled (403).
  std::string token;
  std::string token_file;
  bool token_for_reads = false;
  std::string animal_scheme = "org.herdgate.animal";  // ICAR icarAnimalIdentifierType.scheme
  std::uint32_t max_range_days = 31;        // history / alert ranges longer than this: 400
  std::uint32_t max_page = 5000;            // events per history page (limit=) at most
  std::uint32_t recent_days = 7;            // "recent" alerts: resolved within this many days
  std::uint32_t dashboard_refresh_s = 30;   // the dashboard page reloads its data this often
  // [read_model]
  std::string backend = "sqlite";           // "sqlite" | "postgresql"
  std::string path;                         // sqlite
  std::string conninfo;                     // postgresql (point it at a read replica if any)
  std::string application_name = "herd-api";
  std::uint32_t statement_timeout_ms = 5000;
  // [kafka] (optional: without it acknowledging answers 503)
  std::string bootstrap;
  std::string topic = "herd.events";
  std::map<std::string, std::string> kafka_properties;
};

// Parses TOML text. Errors: permanent, with every problem listed ("api.threads: must be ...").
core::result<api_config> parse_config(std::string_view toml_text, const std::string& origin);
// Reads and parses a file, then loads the token (token_file) and checks permissions: a file that
// holds a token and is readable by group or others is refused (permanent).
core::result<api_config> load_config(const std::string& path);

}  // namespace herd::api
