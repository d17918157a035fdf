#pragma once
// The query side's read-only view of the read model (herd-api, herd-alerts, the dashboard, the
// read benchmark). Separate from store.hpp on purpose: the query side never writes state (CQRS:
// a user's command becomes an event the projector applies), so it opens its own connection,
// read-only where the back-end allows it (SQLite: SQLITE_OPEN_READONLY + query_only; PostgreSQL:
// default_transaction_read_only = on). Both back-ends implement it: sqlite_queries.hpp and
// pg_queries.hpp; the store conformance suite (tests/unit/cloud/queries_suite.hpp) runs on both.
//
// Threading: one queries object is one database connection; use it from one thread at a time
// (herd-api keeps a small pool). Every call reads one consistent snapshot (one read transaction).
// Errors (core::error kinds): retriable = the database is unavailable / busy / not created yet
// (the projector has not started); fatal = not a read model of this schema version.
// Times are µs since the Unix epoch, UTC.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/read_model/rows.hpp"

namespace herd::read_model {

// Which alerts: all fields combine with AND.
struct alert_filter {
  std::string animal_id;                 // empty = every animal
  bool active_only = false;              // status = "active"
  std::string kind;                      // empty = any kind (rules::to_string(alert_kind))
  std::int32_t min_severity = 0;         // severity >= this (1 info, 2 warning, 3 critical)
  std::int64_t updated_since_us = std::numeric_limits<std::int64_t>::min();  // updated_at_us >= this
  // Overlapping [from_us, to_us): raised_at_us < to_us and (open or resolved_at_us >= from_us).
  std::int64_t from_us = std::numeric_limits<std::int64_t>::min();
  std::int64_t to_us = std::numeric_limits<std::int64_t>::max();
  std::size_t limit = 1000;
};

// Active alerts per (kind, severity).
struct alert_count {
  std::string kind;
  std::int32_t severity = 0;
  std::uint64_t count = 0;
  bool operator==(const alert_count&) const = default;
};

class queries {
 public:
  virtual ~queries() = default;
  virtual const char* backend() const = 0;  // "sqlite" / "postgresql"

  // One animal's row with its collars; nullopt = no such animal in the read model.
  virtual core::result<std::optional<animal_row>> animal(const std::string& animal_id) = 0;

  // Alerts matching `f`, most urgent first: severity descending, then raised_at_us descending,
  // then alert_id; at most f.limit.
  virtual core::result<std::vector<alert_row>> alerts(const alert_filter& f) = 0;

  // One animal's events with from_us <= occurred_at_us < to_us and store_seq > after_store_seq, in
  // store_seq order (the order the projector's fold applied them), at most `limit`.
  virtual core::result<std::vector<stored_event>> animal_events(const std::string& animal_id,
                                                                std::int64_t from_us, std::int64_t to_us,
                                                                std::int64_t after_store_seq,
                                                                std::size_t limit) = 0;

  // The herd summary's counts: animals in the read model, and active alerts by (kind, severity)
  // ordered by kind then severity.
  virtual core::result<std::uint64_t> count_animals() = 0;
  virtual core::result<std::vector<alert_count>> count_active_alerts() = 0;

  // A partition's advance rounds whose crossing reading occurred at or before `up_to_occurred_us`,
  // ordered by (offset, boundary_ms): time travel replays them between the animal's events.
  virtual core::result<std::vector<advance_row>> advances(const std::string& topic, std::int32_t partition,
                                                          std::int64_t up_to_occurred_us) = 0;

  // Every partition's progress (totals), ordered by (topic, partition): the projector's lag.
  virtual core::result<std::vector<partition_progress>> progress() = 0;
};

}  // namespace herd::read_model
