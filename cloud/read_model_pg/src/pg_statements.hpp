#pragma once
// Every statement of the PostgreSQL read-model store, prepared once per connection.
// A batch travels as one array per column: INSERT ... SELECT FROM unnest($1::text[], ...), so a
// transaction of N events costs a handful of round trips, not N.
#include <vector>

#include "herd/pg/connection.hpp"

namespace herd::read_model::pg_detail {

namespace o = herd::pg::oids;

#define HERD_EVENT_COLUMNS                                                                  \
  "store_seq, event_id, animal_id, event_type, occurred_at_us, ingested_at_us, gateway_id, " \
  "gateway_seq, envelope, topic, kafka_partition, kafka_offset"
#define HERD_ANIMAL_JOIN                                                                    \
  "SELECT a.animal_id, a.topic, a.kafka_partition, a.state, a.events_applied, a.last_occurred_at_us, a.body_temp_c, "   \
  "a.activity_steps, a.rumination_min, c.collar_id, c.last_seq, c.battery_pct, c.rssi_dbm, " \
  "c.last_seen_us FROM a LEFT JOIN collars c ON c.animal_id = a.animal_id "                 \
  "ORDER BY a.animal_id, c.collar_id"
#define HERD_ALERT_COLUMNS                                                                  \
  "alert_id, animal_id, kind, status, severity, raised_at_us, updated_at_us, resolved_at_us, " \
  "acknowledged_at_us, body"

inline const pg::statement append_events{
    "rm_append_events",
    "INSERT INTO events (event_id, animal_id, event_type, occurred_at_us, ingested_at_us, "
    "gateway_id, gateway_seq, envelope, topic, kafka_partition, kafka_offset) "
    "SELECT e, a, t, oc, ig, g, s, env, tp, p, off FROM unnest($1::text[], $2::text[], "
    "$3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[], $8::bytea[], $9::text[], "
    "$10::integer[], $11::bigint[]) WITH ORDINALITY AS u(e, a, t, oc, ig, g, s, env, tp, p, off, n) "
    "ORDER BY n ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
    {o::text_array, o::text_array, o::text_array, o::int8_array, o::int8_array, o::text_array,
     o::int8_array, o::bytea_array, o::text_array, o::int4_array, o::int8_array}};

// append_events' first step: which of a batch's event ids the event store has (resends,
// replays). One index probe per id; the rest go in by COPY (pg_txn.cpp).
inline const pg::statement known_events{
    "rm_known_events", "SELECT event_id FROM events WHERE event_id = ANY($1::text[])",
    {o::text_array}};

inline const pg::statement load_animals{
    "rm_load_animals",
    "WITH a AS (SELECT * FROM animals WHERE animal_id = ANY($1::text[])) " HERD_ANIMAL_JOIN,
    {o::text_array}};

inline const pg::statement upsert_animals{
    "rm_upsert_animals",
    "INSERT INTO animals (animal_id, topic, kafka_partition, state, events_applied, "
    "last_occurred_at_us, body_temp_c, activity_steps, rumination_min) SELECT * FROM "
    "unnest($1::text[], $2::text[], $3::integer[], $4::bytea[], $5::bigint[], $6::bigint[], "
    "$7::float8[], $8::float8[], $9::float8[]) "
    "ON CONFLICT (animal_id) DO UPDATE SET topic = EXCLUDED.topic, "
    "kafka_partition = EXCLUDED.kafka_partition, state = EXCLUDED.state, "
    "events_applied = EXCLUDED.events_applied, last_occurred_at_us = EXCLUDED.last_occurred_at_us, "
    "body_temp_c = EXCLUDED.body_temp_c, activity_steps = EXCLUDED.activity_steps, "
    "rumination_min = EXCLUDED.rumination_min",
    {o::text_array, o::text_array, o::int4_array, o::bytea_array, o::int8_array, o::int8_array,
     o::float8_array, o::float8_array, o::float8_array}};

// An animal's collars are replaced by its new list: rows of collars no longer listed go, listed
// ones are updated in place (HOT) or inserted. $1 = the animals, $2.. = their new collar rows.
inline const pg::statement replace_collars{
    "rm_replace_collars",
    "WITH c AS (SELECT * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::integer[], "
    "$6::integer[], $7::bigint[]) AS u(animal_id, collar_id, last_seq, battery_pct, rssi_dbm, "
    "last_seen_us)), "
    "gone AS (DELETE FROM collars x WHERE x.animal_id = ANY($1::text[]) AND NOT EXISTS "
    "(SELECT 1 FROM c WHERE c.animal_id = x.animal_id AND c.collar_id = x.collar_id)) "
    "INSERT INTO collars AS x (animal_id, collar_id, last_seq, battery_pct, rssi_dbm, "
    "last_seen_us) SELECT * FROM c ON CONFLICT (animal_id, collar_id) DO UPDATE SET "
    "last_seq = EXCLUDED.last_seq, battery_pct = EXCLUDED.battery_pct, "
    "rssi_dbm = EXCLUDED.rssi_dbm, last_seen_us = EXCLUDED.last_seen_us",
    {o::text_array, o::text_array, o::text_array, o::int8_array, o::int4_array, o::int4_array,
     o::int8_array}};

inline const pg::statement upsert_alerts{
    "rm_upsert_alerts",
    "INSERT INTO alerts (" HERD_ALERT_COLUMNS ") SELECT * FROM unnest($1::text[], $2::text[], "
    "$3::text[], $4::text[], $5::integer[], $6::bigint[], $7::bigint[], $8::bigint[], "
    "$9::bigint[], $10::bytea[]) ON CONFLICT (alert_id) DO UPDATE SET "
    "animal_id = EXCLUDED.animal_id, kind = EXCLUDED.kind, status = EXCLUDED.status, "
    "severity = EXCLUDED.severity, raised_at_us = EXCLUDED.raised_at_us, "
    "updated_at_us = EXCLUDED.updated_at_us, resolved_at_us = EXCLUDED.resolved_at_us, "
    "acknowledged_at_us = EXCLUDED.acknowledged_at_us, body = EXCLUDED.body",
    {o::text_array, o::text_array, o::text_array, o::text_array, o::int4_array, o::int8_array,
     o::int8_array, o::int8_array, o::int8_array, o::bytea_array}};

inline const pg::statement append_advances{
    "rm_append_advances",
    "INSERT INTO advances (topic, kafka_partition, boundary_ms, kafka_offset, occurred_at_us, ctx_at_ms, "
    "temp_excess_centi, rum_drop_pct, temp_vs_recent_centi, rum6_drop_pct, animals) SELECT * FROM "
    "unnest($1::text[], $2::integer[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::integer[], "
    "$8::integer[], $9::integer[], $10::integer[], $11::integer[]) ON CONFLICT (topic, kafka_partition, "
    "boundary_ms) DO UPDATE SET kafka_offset = EXCLUDED.kafka_offset, occurred_at_us = EXCLUDED.occurred_at_us, "
    "ctx_at_ms = EXCLUDED.ctx_at_ms, temp_excess_centi = EXCLUDED.temp_excess_centi, "
    "rum_drop_pct = EXCLUDED.rum_drop_pct, temp_vs_recent_centi = EXCLUDED.temp_vs_recent_centi, "
    "rum6_drop_pct = EXCLUDED.rum6_drop_pct, animals = EXCLUDED.animals",
    {o::text_array, o::int4_array, o::int8_array, o::int8_array, o::int8_array, o::int8_array, o::int4_array,
     o::int4_array, o::int4_array, o::int4_array, o::int4_array}};

inline const pg::statement append_outbox{
    "rm_append_outbox",
    "INSERT INTO outbox (topic, key, value, headers) SELECT t, k, v, h FROM unnest($1::text[], "
    "$2::bytea[], $3::bytea[], $4::bytea[]) WITH ORDINALITY AS u(t, k, v, h, n) ORDER BY n",
    {o::text_array, o::bytea_array, o::bytea_array, o::bytea_array}};

// Counters are added here, in SQL: concurrent writers never lose an increment.
inline const pg::statement add_progress{
    "rm_add_progress",
    "INSERT INTO progress AS p (topic, kafka_partition, next_offset, watermark_us, applied, "
    "duplicates, unknown_type, rejected, dead_lettered) SELECT * FROM unnest($1::text[], "
    "$2::integer[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], "
    "$8::bigint[], $9::bigint[]) "
    "ON CONFLICT (topic, kafka_partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, "
    "watermark_us = EXCLUDED.watermark_us, "
    "applied = p.applied + EXCLUDED.applied, duplicates = p.duplicates + EXCLUDED.duplicates, "
    "unknown_type = p.unknown_type + EXCLUDED.unknown_type, "
    "rejected = p.rejected + EXCLUDED.rejected, "
    "dead_lettered = p.dead_lettered + EXCLUDED.dead_lettered",
    {o::text_array, o::int4_array, o::int8_array, o::int8_array, o::int8_array, o::int8_array,
     o::int8_array, o::int8_array, o::int8_array}};

// claim(): the lock, then the read in a separate statement (a new READ COMMITTED snapshot taken
// after the lock was granted, so it sees the previous holder's commit).
inline const pg::statement claim_lock{
    "rm_claim_lock", "SELECT pg_advisory_xact_lock(hashtext($1::text), $2::integer)",
    {o::text, o::int4}};
inline const pg::statement claim_read{
    "rm_claim_read",
    "SELECT next_offset FROM progress WHERE topic = $1::text AND kafka_partition = $2::integer "
    "FOR UPDATE",
    {o::text, o::int4}};

inline const pg::statement load_progress{
    "rm_load_progress",
    "SELECT topic, kafka_partition, next_offset, watermark_us, applied, duplicates, "
    "unknown_type, rejected, dead_lettered FROM progress ORDER BY topic, kafka_partition",
    {}};

inline const pg::statement read_events{
    "rm_read_events",
    "SELECT " HERD_EVENT_COLUMNS " FROM events WHERE store_seq > $1::bigint ORDER BY store_seq "
    "LIMIT $2::bigint",
    {o::int8, o::int8}};

inline const pg::statement animal_events{
    "rm_animal_events",
    "SELECT " HERD_EVENT_COLUMNS " FROM events WHERE animal_id = $1::text AND "
    "occurred_at_us >= $2::bigint AND occurred_at_us < $3::bigint AND store_seq > $4::bigint "
    "ORDER BY store_seq LIMIT $5::bigint",
    {o::text, o::int8, o::int8, o::int8, o::int8}};

inline const pg::statement read_animals{
    "rm_read_animals",
    "WITH a AS (SELECT * FROM animals WHERE animal_id > $1::text ORDER BY animal_id "
    "LIMIT $2::bigint) " HERD_ANIMAL_JOIN,
    {o::text, o::int8}};

inline const pg::statement partition_animals{
    "rm_partition_animals",
    "SELECT animal_id FROM animals WHERE topic = $1::text AND kafka_partition = $2::integer "
    "ORDER BY animal_id",
    {o::text, o::int4}};

inline const pg::statement read_alerts{
    "rm_read_alerts",
    "SELECT " HERD_ALERT_COLUMNS " FROM alerts WHERE alert_id > $1::text ORDER BY alert_id "
    "LIMIT $2::bigint",
    {o::text, o::int8}};

inline const pg::statement read_outbox{
    "rm_read_outbox",
    "SELECT seq, topic, key, value, headers FROM outbox WHERE seq > $1::bigint ORDER BY seq "
    "LIMIT $2::bigint",
    {o::int8, o::int8}};

inline const pg::statement delete_outbox{
    "rm_delete_outbox", "DELETE FROM outbox WHERE seq <= $1::bigint", {o::int8}};

inline const pg::statement delete_outbox_seqs{
    "rm_delete_outbox_seqs", "DELETE FROM outbox WHERE seq = ANY($1::bigint[])", {o::int8_array}};

// The herd.alerts relay lease: a session advisory lock (bigint key 1213357145, which pg_locks
// shows as classid 0, objid 1213357145, objsubid 1); 1 when this session already holds it or
// takes it now, else 0.
inline const pg::statement relay_lease{
    "rm_relay_lease",
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND "
    "pid = pg_backend_pid() AND classid = 0 AND objid = 1213357145 AND objsubid = 1 AND granted) "
    "THEN 1 ELSE pg_try_advisory_lock(1213357145::bigint)::integer END",
    {}};

inline const pg::statement prune_events{
    "rm_prune_events",
    "DELETE FROM events WHERE store_seq IN (SELECT store_seq FROM events WHERE "
    "occurred_at_us < $1::bigint ORDER BY store_seq LIMIT $2::bigint)",
    {o::int8, o::int8}};

inline const pg::statement stats{
    "rm_stats",
    "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM animals), "
    "(SELECT count(*) FROM alerts), (SELECT count(*) FROM outbox), "
    "pg_database_size(current_database())",
    {}};

#undef HERD_EVENT_COLUMNS
#undef HERD_ANIMAL_JOIN
#undef HERD_ALERT_COLUMNS

inline std::vector<const pg::statement*> all_statements() {
  return {&append_events, &known_events, &load_animals,  &upsert_animals, &replace_collars,
          &upsert_alerts, &append_outbox, &add_progress,   &claim_lock,     &claim_read,
          &load_progress, &read_events,   &animal_events,  &read_animals,   &read_alerts,
          &read_outbox,   &delete_outbox, &delete_outbox_seqs, &relay_lease, &prune_events,   &stats,          &partition_animals,
          &append_advances};
}

}  // namespace herd::read_model::pg_detail
