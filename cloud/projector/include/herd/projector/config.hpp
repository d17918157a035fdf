#pragma once
// herd-projector's one config file (TOML, see config/herd-projector.sample.toml and the README).
// Strict like herdgate's: every problem reported with its key path, unknown keys are errors.
#include <chrono>
#include <string>

#include "herd/core/result.hpp"
#include "herd/projector/consumer_loop.hpp"

namespace herd::projector {

struct read_model_config {
  std::string backend = "sqlite";   // "sqlite" (embedded, one projector) or "postgresql" (shared)
  std::string path;                 // sqlite: the database file
  bool synchronous_full = false;    // sqlite: PRAGMA synchronous = FULL (default NORMAL)
  std::uint32_t cache_mib = 64;     // sqlite: page cache
  std::string conninfo;             // postgresql: libpq connection string
  std::string application_name = "herd-projector";  // postgresql: shown in pg_stat_activity
  std::uint32_t lock_timeout_ms = 10'000;            // postgresql: SET lock_timeout
  std::uint32_t statement_timeout_ms = 60'000;       // postgresql: SET statement_timeout
  std::uint32_t retention_days = 0; // event store retention by occurred_at; 0 = keep all
};

// [alerts]: the herd.alerts outbox and its relay (README, "herd.alerts").
struct alerts_config {
  std::string topic = "herd.alerts";      // where alert lifecycle events go
  bool relay = true;                      // run the relay in this process (false: another process relays)
  std::size_t max_in_flight = 1000;       // outbox rows produced and not yet deleted
  std::size_t dedup_scan = 10'000;        // records read back per partition when a relay session starts
  std::chrono::seconds max_stuck{120};    // /health fails when nothing left the outbox for this long
};

struct projector_config {
  std::string log_level = "info";
  consumer_options kafka;
  read_model_config read_model;
  alerts_config alerts;
  std::string metrics_listen = "127.0.0.1:9465";  // "" = no listener
  std::chrono::seconds max_stall{30};             // /health: the loop must go round this often
};

// The error message lists every problem, one per line, each starting with its key path.
core::result<projector_config> load_config(const std::string& path);
core::result<projector_config> parse_config(std::string_view toml_text, const std::string& origin);

}  // namespace herd::projector
