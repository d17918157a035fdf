#pragma once
// The rows of the read model: what a read_model_store (store.hpp) keeps. Plain values, no I/O.
// The schema they map to is documented in the README ("Read model schema"); every back-end
// (SQLite, PostgreSQL) stores exactly these fields, so a canonical digest (digest.hpp) of two
// back-ends' read models built from the same events is equal.
//
// Times are µs since the Unix epoch, UTC (Kafka/protobuf timestamps converted), named *_us.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herd::read_model {

// One distinct event in the append-only event store (dedup key: event_id).
struct stored_event {
  std::int64_t store_seq = 0;  // assigned by the store at append, increasing in append order
                               // (ignored on input); a rebuild replays in this order
  std::string event_id;        // EventEnvelope.event_id (UUIDv4 text), unique
  std::string animal_id;       // EventEnvelope.aggregate_id
  std::string event_type;      // e.g. "collar.reading.v1"; unknown types are stored too
  std::int64_t occurred_at_us = 0;
  std::int64_t ingested_at_us = 0;
  std::string gateway_id;
  std::uint64_t gateway_seq = 0;
  std::string envelope;        // the serialized EventEnvelope, byte for byte as consumed
  // Where it was first consumed (audit; a rebuild from the event store restores offsets from it).
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

// What the query side reads about one collar, kept per (animal, collar).
struct collar_row {
  std::string collar_id;
  std::int64_t last_seq = -1;          // highest collar_seq seen; -1 none
  std::optional<std::int32_t> battery_pct;  // 0..100, latest by occurred_at
  std::optional<std::int32_t> rssi_dbm;     // latest by occurred_at
  std::int64_t last_seen_us = 0;       // newest occurred_at of a reading from this collar
};

// One animal's state: the fold's opaque bytes (rules::encode) plus queryable columns derived
// from them (so the query side can filter and sort without decoding).
struct animal_row {
  std::string animal_id;
  // The partition its events come from (the record key is the animal: one partition per animal),
  // so a projector owning a partition can find all its animals (rules::advance, issue 10).
  std::string topic;
  std::int32_t partition = -1;
  std::string state;                       // rules::encode(animal_state): deterministic bytes
  std::uint64_t events_applied = 0;        // distinct events folded into `state`
  std::int64_t last_occurred_at_us = 0;    // newest occurred_at folded in; 0 never
  std::optional<double> body_temp_c;       // latest reading per signal (by occurred_at)
  std::optional<double> activity_steps;    // steps in the latest interval
  std::optional<double> rumination_min;    // minutes in the latest interval
  std::vector<collar_row> collars;         // replaces the animal's stored collars on upsert
};

// One alert episode (issue 10's lifecycle): one stable alert_id per episode.
struct alert_row {
  std::string alert_id;
  std::string animal_id;
  std::string kind;                        // e.g. "fever", "estrus", "collar_offline"
  std::string status;                      // "active" or "resolved"
  std::int32_t severity = 0;               // rule-defined, higher = more urgent
  std::int64_t raised_at_us = 0;           // occurred_at of the event that raised it
  std::int64_t updated_at_us = 0;
  std::optional<std::int64_t> resolved_at_us;
  std::optional<std::int64_t> acknowledged_at_us;
  std::string body;                        // rule-defined detail (evidence), opaque bytes / JSON
};

// One advance round of a partition (issue 11's time travel): when a reading moved the partition's
// event-time watermark past the 10-minute boundary B, the projector advanced every animal of the
// partition to B with this herd context, BEFORE applying that reading (rules::advance). Replaying
// an animal's events merged by offset with these rows reproduces its live state exactly.
struct advance_row {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t boundary_ms = 0;        // B, ms since the epoch (a multiple of 10 min)
  std::int64_t offset = 0;             // the record whose reading crossed B
  std::int64_t occurred_at_us = 0;     // that reading's occurred_at
  // rules::herd_context given to advance() (plain integers: the read model does not know rules/).
  std::int64_t ctx_at_ms = 0;
  std::int32_t temp_excess_centi = 0;
  std::int32_t rum_drop_pct = 0;
  std::int32_t temp_vs_recent_centi = 0;
  std::int32_t rum6_drop_pct = 0;
  std::int32_t animals = 0;
  bool operator==(const advance_row&) const = default;
};

// A message to publish after the transaction commits (the transactional outbox of herd.alerts).
struct outbox_message {
  std::int64_t seq = 0;                    // assigned by the store at append (ignored on input)
  std::string topic;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Where the read model stands on one partition, and what it has counted there. Written in the
// same transaction as the state the records produced; the counters are deltas on input to
// set_progress() and totals when loaded.
struct partition_progress {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t next_offset = 0;   // the first offset NOT yet reflected in the read model
  std::int64_t watermark_us = 0;  // event time the partition's animals were advanced to (the
                                  // rules' clock: max occurred_at applied here); set, not added
  std::uint64_t applied = 0;      // distinct events folded into an animal's state
  std::uint64_t duplicates = 0;   // records whose event_id was already in the event store
  std::uint64_t unknown_type = 0; // stored, not applied (event_type this projector does not know)
  std::uint64_t rejected = 0;     // stored, failed deterministically in the fold: dead-lettered
  std::uint64_t dead_lettered = 0;// sent to the DLQ (undecodable records + rejected events)
};

}  // namespace herd::read_model
