#pragma once
// The read model's SQLite schema, version 1 (documented in the README, "Read model schema").
// Times are µs since the Unix epoch, UTC.
namespace herd::read_model::detail {

inline constexpr const char* k_sqlite_schema = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  store_seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id        TEXT NOT NULL UNIQUE,
  animal_id       TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  occurred_at_us  INTEGER NOT NULL,
  ingested_at_us  INTEGER NOT NULL,
  gateway_id      TEXT NOT NULL,
  gateway_seq     INTEGER NOT NULL,
  envelope        BLOB NOT NULL,
  topic           TEXT NOT NULL,
  kafka_partition INTEGER NOT NULL,
  kafka_offset    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_animal_time ON events (animal_id, occurred_at_us);
CREATE TABLE IF NOT EXISTS animals (
  animal_id           TEXT PRIMARY KEY,
  topic               TEXT NOT NULL,
  kafka_partition     INTEGER NOT NULL,
  state               BLOB NOT NULL,
  events_applied      INTEGER NOT NULL,
  last_occurred_at_us INTEGER NOT NULL,
  body_temp_c         REAL,
  activity_steps      REAL,
  rumination_min      REAL
);
CREATE INDEX IF NOT EXISTS animals_by_partition ON animals (topic, kafka_partition, animal_id);
CREATE TABLE IF NOT EXISTS collars (
  animal_id    TEXT NOT NULL,
  collar_id    TEXT NOT NULL,
  last_seq     INTEGER NOT NULL,
  battery_pct  INTEGER,
  rssi_dbm     INTEGER,
  last_seen_us INTEGER NOT NULL,
  PRIMARY KEY (animal_id, collar_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
  alert_id           TEXT PRIMARY KEY,
  animal_id          TEXT NOT NULL,
  kind               TEXT NOT NULL,
  status             TEXT NOT NULL,
  severity           INTEGER NOT NULL,
  raised_at_us       INTEGER NOT NULL,
  updated_at_us      INTEGER NOT NULL,
  resolved_at_us     INTEGER,
  acknowledged_at_us INTEGER,
  body               BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_status ON alerts (status, animal_id);
CREATE INDEX IF NOT EXISTS alerts_by_animal ON alerts (animal_id, raised_at_us);
CREATE TABLE IF NOT EXISTS outbox (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  topic   TEXT NOT NULL,
  key     BLOB NOT NULL,
  value   BLOB NOT NULL,
  headers BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS advances (
  topic                TEXT NOT NULL,
  kafka_partition      INTEGER NOT NULL,
  boundary_ms          INTEGER NOT NULL,
  kafka_offset         INTEGER NOT NULL,
  occurred_at_us       INTEGER NOT NULL,
  ctx_at_ms            INTEGER NOT NULL,
  temp_excess_centi    INTEGER NOT NULL,
  rum_drop_pct         INTEGER NOT NULL,
  temp_vs_recent_centi INTEGER NOT NULL,
  rum6_drop_pct        INTEGER NOT NULL,
  animals              INTEGER NOT NULL,
  PRIMARY KEY (topic, kafka_partition, boundary_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS progress (
  topic           TEXT NOT NULL,
  kafka_partition INTEGER NOT NULL,
  next_offset     INTEGER NOT NULL,
  watermark_us    INTEGER NOT NULL,
  applied         INTEGER NOT NULL,
  duplicates      INTEGER NOT NULL,
  unknown_type    INTEGER NOT NULL,
  rejected        INTEGER NOT NULL,
  dead_lettered   INTEGER NOT NULL,
  PRIMARY KEY (topic, kafka_partition)
) WITHOUT ROWID;
)sql";

}  // namespace herd::read_model::detail
