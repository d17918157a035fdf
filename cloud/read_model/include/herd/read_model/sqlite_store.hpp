#pragma once
// The SQLite back-end of the read-model store: one file (WAL), one projector writing it, any
// number of readers (the query side opens its own read connections). Library herd::read_model_sqlite.
//
// Durability: the offsets are in the same transaction as the state, so with synchronous = normal
// a power loss can only roll the read model back to an earlier consistent point (it then
// re-consumes from the stored offsets); records dead-lettered in the lost window may be
// dead-lettered again. synchronous = full makes each batch durable at commit.
#include <cstdint>
#include <memory>
#include <string>

#include "herd/core/result.hpp"
#include "herd/read_model/store.hpp"

namespace herd::read_model {

struct sqlite_options {
  std::string path;                 // the database file; created (with its schema) if missing
  bool synchronous_full = false;    // PRAGMA synchronous = FULL instead of NORMAL
  std::uint32_t cache_mib = 64;     // PRAGMA cache_size: the event_id index wants to stay in cache
  std::uint32_t busy_timeout_ms = 5000;  // wait for another writer (a rebuild, the retention job)
};

// Opens (creating if missing) a read model. Errors: fatal if the file is not a read model of
// this schema version (or not a database); retriable if it is locked or the disk is full.
// Thread: the returned store is one connection (see store.hpp).
core::result<std::unique_ptr<store>> open_sqlite_store(const sqlite_options& options);

// The schema version this build writes and reads (the `meta` table's schema_version).
inline constexpr int sqlite_schema_version = 1;

}  // namespace herd::read_model
