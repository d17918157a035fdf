#pragma once
// The read-model store: one small interface, two back-ends (SQLite: sqlite_store.hpp, the embedded
// default; PostgreSQL: the shared read model of several projector instances). One conformance
// suite (tests/unit/cloud/store_suite.hpp) runs against every implementation.
//
// The read model is derived data: the event store table inside it plus Kafka are the truth.
// Everything a batch of Kafka records produces is written in ONE transaction (store_txn):
// the new distinct events (deduplicated by event_id), the animals' new state, alert rows, alert
// outbox messages, and the partitions' next offsets with counters. So after a crash at any
// instant the stored offsets say exactly which records the state reflects.
//
// Threading: a store object is one database connection. Use it from one thread at a time;
// open one store per thread that needs one (the query side opens its own). At most one store_txn
// is open per store object; a store_txn must not outlive its store.
//
// Errors (core::error kinds): retriable = the database is unavailable, busy, full, or the
// connection dropped (the projector backs off and retries the whole batch; it never dead-letters
// for this); fatal = the schema is wrong or the file is not a read model (stop the process);
// permanent = an input the store can never accept (a bug upstream: the row is too large, a
// constraint the caller should have respected). After any error inside a transaction the
// transaction is dead: destroy it (rollback) and begin again.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/read_model/rows.hpp"

namespace herd::read_model {

// One open transaction. Destroying it without a successful commit() rolls it back.
class store_txn {
 public:
  virtual ~store_txn() = default;

  // Fencing against a second instance working the same partition (a zombie after a rebalance):
  // locks the partition's progress row for the rest of the transaction and returns true iff its
  // stored next_offset equals `expected_next_offset` (-1 = "no row stored yet"). false = someone
  // else moved it since this consumer read it: roll back, reload progress, seek. Call it first in
  // the transaction for every partition the batch touches, in ascending (topic, partition) order
  // (lock order: no deadlock between instances).
  virtual core::result<bool> claim(const std::string& topic, std::int32_t partition,
                                   std::int64_t expected_next_offset) = 0;

  // Appends the events whose event_id is not stored yet, in input order (store_seq increases in
  // that order). Returns one flag per input: true = appended now (new), false = duplicate
  // (already stored, or an earlier input of this same call has that event_id).
  virtual core::result<std::vector<bool>> append_events(std::span<const stored_event> events) = 0;

  // The stored rows of these animals (as of this transaction), one per input, nullopt = never
  // stored. `collars` is filled.
  virtual core::result<std::vector<std::optional<animal_row>>> load_animals(
      std::span<const std::string> animal_ids) = 0;

  // Inserts or replaces each animal's row and its collar rows (collars not listed are removed).
  virtual core::status upsert_animals(std::span<const animal_row> animals) = 0;

  // Inserts or replaces alert rows by alert_id.
  virtual core::status upsert_alerts(std::span<const alert_row> alerts) = 0;

  // Records advance rounds (rows.hpp, advance_row); a row with the same (topic, partition,
  // boundary_ms) is replaced (a batch re-applied after a crash writes the same row).
  virtual core::status append_advances(std::span<const advance_row> rows) = 0;

  // Appends messages to the outbox (seq assigned in input order), relayed after commit.
  virtual core::status append_outbox(std::span<const outbox_message> messages) = 0;

  // Per entry: sets the partition's next_offset and watermark_us and ADDS the counters (deltas) to its totals;
  // creates the row if missing.
  virtual core::status add_progress(std::span<const partition_progress> deltas) = 0;

  // Makes everything above durable and visible at once. On error nothing was applied (the
  // caller retries the whole batch in a new transaction).
  virtual core::status commit() = 0;
};

// Sizes for the operator (metrics, the size-per-head benchmark).
struct store_stats {
  std::uint64_t events = 0;   // rows in the event store
  std::uint64_t animals = 0;
  std::uint64_t alerts = 0;
  std::uint64_t outbox = 0;   // messages not yet relayed
  std::uint64_t bytes = 0;    // database size on disk (file or relation sizes), 0 if unknown
};

class store {
 public:
  virtual ~store() = default;

  // "sqlite" / "postgresql": for logs and metrics.
  virtual const char* backend() const = 0;

  virtual core::result<std::unique_ptr<store_txn>> begin() = 0;

  // Every partition's progress (totals), ordered by (topic, partition).
  virtual core::result<std::vector<partition_progress>> load_progress() = 0;

  // The event store in append order: events with store_seq > after_store_seq, at most `limit`.
  virtual core::result<std::vector<stored_event>> read_events(std::int64_t after_store_seq,
                                                              std::size_t limit) = 0;

  // One animal's events with from_us <= occurred_at_us < to_us and store_seq > after_store_seq,
  // in store_seq order (= the order the fold applied them), at most `limit` (history pages,
  // state at time T by replay).
  virtual core::result<std::vector<stored_event>> animal_events(const std::string& animal_id,
                                                                std::int64_t from_us,
                                                                std::int64_t to_us,
                                                                std::int64_t after_store_seq,
                                                                std::size_t limit) = 0;

  // Animals ordered by animal_id, those > after_animal_id (empty = from the start), at most
  // `limit`; collars filled.
  virtual core::result<std::vector<animal_row>> read_animals(const std::string& after_animal_id,
                                                             std::size_t limit) = 0;

  // The ids of the animals whose row has this (topic, partition), ordered by animal_id.
  virtual core::result<std::vector<std::string>> partition_animals(const std::string& topic,
                                                                   std::int32_t partition) = 0;

  // Alerts ordered by alert_id, those > after_alert_id, at most `limit`.
  virtual core::result<std::vector<alert_row>> read_alerts(const std::string& after_alert_id,
                                                           std::size_t limit) = 0;

  // The outbox relay: messages with seq > after_seq in seq order; delete those relayed.
  virtual core::result<std::vector<outbox_message>> read_outbox(std::int64_t after_seq,
                                                                std::size_t limit) = 0;
  virtual core::status delete_outbox(std::int64_t through_seq) = 0;
  // Deletes exactly these outbox rows (the relay: rows whose delivery Kafka acknowledged). Unlike
  // delete_outbox(through), safe when several writers commit outbox rows out of seq order.
  virtual core::status delete_outbox_seqs(std::span<const std::int64_t> seqs) = 0;
  // The herd.alerts relay lease: true iff THIS store connection holds it (taking it when free).
  // Only the holder relays, so one relay per read model. SQLite: always true (one projector per
  // file). PostgreSQL: a session advisory lock (pg_try_advisory_lock): released when the holder's
  // connection ends (crash, kill -9), then the next instance that asks takes it. Call it before
  // every relay round: false after true = the lease was lost (the connection was re-opened).
  virtual core::result<bool> relay_lease() = 0;

  // Event store retention: deletes up to `limit` events with occurred_at_us < before_us (their
  // event_ids are forgotten: a later resend of one would count as new). Returns how many.
  virtual core::result<std::uint64_t> prune_events(std::int64_t before_us, std::size_t limit) = 0;

  virtual core::result<store_stats> stats() = 0;
};

}  // namespace herd::read_model
