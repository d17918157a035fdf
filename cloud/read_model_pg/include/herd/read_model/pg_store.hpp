#pragma once
// The PostgreSQL back-end of the read-model store (store.hpp): the shared read model of several
// projector instances (one consumer group), one database. Library herd::read_model_pg, over
// libpq (herd::pg).
//
// Concurrency between instances (each owns the partitions Kafka assigned to it):
//  - progress is one row per (topic, partition), written only by the partition's owner; counters
//    are added in SQL (x = x + delta), so two writers never lose an update;
//  - claim() takes a transaction-scoped advisory lock on the partition, then reads its stored
//    offset in a NEW statement (so READ COMMITTED sees what the previous holder committed): a
//    zombie that lost the partition finds the offset moved and backs off;
//  - events are deduplicated by a unique constraint (INSERT ... ON CONFLICT DO NOTHING): the
//    same event_id arriving through two instances at once is stored once, the second waits;
//  - an animal's events share a partition (key = animal), so its row has one writer at a time.
// An ambiguous COMMIT (the connection dropped before its answer) is retriable: the retry's
// claim() sees whether it had landed.
//
// Text ids are stored COLLATE "C" (byte order, as SQLite and std::string compare), so paging
// and the digest do not depend on the database's locale.
#include <cstdint>
#include <memory>
#include <string>

#include "herd/core/result.hpp"
#include "herd/read_model/store.hpp"

namespace herd::read_model {

struct pg_options {
  // libpq connection string, keyword/value ("host=db1 dbname=herd user=projector") or URI
  // ("postgresql://projector@db1/herd"); a password is better in ~/.pgpass or PGPASSWORD.
  std::string conninfo;
  std::string application_name = "herd-projector";  // shown in pg_stat_activity
  // How long a transaction waits for a lock (another instance's claim on a partition during a
  // rebalance) before failing retriably (lock_timeout), ms; 0 = forever.
  std::uint32_t lock_timeout_ms = 10000;
  // Upper bound on one statement (statement_timeout), ms; 0 = none.
  std::uint32_t statement_timeout_ms = 60000;
};

// Connects and creates the schema if missing (serialized between instances by an advisory lock).
// Errors: fatal if the database holds another schema version, refuses our credentials or does
// not exist; retriable if the server is unreachable, starting or out of connections.
// Thread: the returned store is one connection (see store.hpp). After a retriable error the
// next begin() reconnects.
core::result<std::unique_ptr<store>> open_pg_store(const pg_options& options);

// The schema version this build writes and reads (the `meta` table's schema_version).
inline constexpr int pg_schema_version = 1;

}  // namespace herd::read_model
