#pragma once
// The read model's PostgreSQL schema, version 1: the same tables and columns as the SQLite one
// (README, "Read model schema"), in PostgreSQL types. Times are µs since the Unix epoch, UTC.
// uint64 fields (gateway_seq, counters) are stored in bigint with the same 64 bits.
// animals, collars and progress are updated in place batch after batch: a fillfactor below 100
// leaves room on each page for the new row version, so most updates are HOT (no index write).
namespace herd::read_model::pg_detail {

// Serializes schema creation between instances starting together (CREATE TABLE IF NOT EXISTS
// alone can fail on a concurrent create). An arbitrary constant: 'herd' 'rm' in ASCII.
inline constexpr long long k_schema_lock = 0x68657264726dLL;

inline constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  store_seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id        text COLLATE "C" NOT NULL UNIQUE,
  animal_id       text COLLATE "C" NOT NULL,
  event_type      text NOT NULL,
  occurred_at_us  bigint NOT NULL,
  ingested_at_us  bigint NOT NULL,
  gateway_id      text NOT NULL,
  gateway_seq     bigint NOT NULL,
  envelope        bytea NOT NULL,
  topic           text NOT NULL,
  kafka_partition integer NOT NULL,
  kafka_offset    bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_animal_time ON events (animal_id, occurred_at_us);
CREATE TABLE IF NOT EXISTS animals (
  animal_id           text COLLATE "C" PRIMARY KEY,
  topic               text COLLATE "C" NOT NULL,
  kafka_partition     integer NOT NULL,
  state               bytea NOT NULL,
  events_applied      bigint NOT NULL,
  last_occurred_at_us bigint NOT NULL,
  body_temp_c         double precision,
  activity_steps      double precision,
  rumination_min      double precision
) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS animals_by_partition ON animals (topic, kafka_partition, animal_id);
CREATE TABLE IF NOT EXISTS collars (
  animal_id    text COLLATE "C" NOT NULL,
  collar_id    text COLLATE "C" NOT NULL,
  last_seq     bigint NOT NULL,
  battery_pct  integer,
  rssi_dbm     integer,
  last_seen_us bigint NOT NULL,
  PRIMARY KEY (animal_id, collar_id)
) WITH (fillfactor = 70);
CREATE TABLE IF NOT EXISTS alerts (
  alert_id           text COLLATE "C" PRIMARY KEY,
  animal_id          text COLLATE "C" NOT NULL,
  kind               text NOT NULL,
  status             text NOT NULL,
  severity           integer NOT NULL,
  raised_at_us       bigint NOT NULL,
  updated_at_us      bigint NOT NULL,
  resolved_at_us     bigint,
  acknowledged_at_us bigint,
  body               bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_status ON alerts (status, animal_id);
CREATE INDEX IF NOT EXISTS alerts_by_animal ON alerts (animal_id, raised_at_us);
CREATE TABLE IF NOT EXISTS advances (
  topic                text COLLATE "C" NOT NULL,
  kafka_partition      integer NOT NULL,
  boundary_ms          bigint NOT NULL,
  kafka_offset         bigint NOT NULL,
  occurred_at_us       bigint NOT NULL,
  ctx_at_ms            bigint NOT NULL,
  temp_excess_centi    integer NOT NULL,
  rum_drop_pct         integer NOT NULL,
  temp_vs_recent_centi integer NOT NULL,
  rum6_drop_pct        integer NOT NULL,
  animals              integer NOT NULL,
  PRIMARY KEY (topic, kafka_partition, boundary_ms)
);
CREATE TABLE IF NOT EXISTS outbox (
  seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic   text NOT NULL,
  key     bytea NOT NULL,
  value   bytea NOT NULL,
  headers bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS progress (
  topic           text COLLATE "C" NOT NULL,
  kafka_partition integer NOT NULL,
  next_offset     bigint NOT NULL,
  watermark_us    bigint NOT NULL,
  applied         bigint NOT NULL,
  duplicates      bigint NOT NULL,
  unknown_type    bigint NOT NULL,
  rejected        bigint NOT NULL,
  dead_lettered   bigint NOT NULL,
  PRIMARY KEY (topic, kafka_partition)
) WITH (fillfactor = 50);
-- The state blob (several KB, rewritten for every animal a batch touches) is compressed with lz4,
-- not the default pglz: pglz_compress was the server's top symbol in the projector's profile
-- (issue 9). Only new values are compressed the new way; the values stay the same bytes. A server
-- built without lz4 (it is then missing from default_toast_compression's values) keeps pglz. Both
-- are looked up first, so a restart takes no lock on animals.
DO $$
BEGIN
  IF (SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression')
     AND (SELECT attcompression FROM pg_attribute
          WHERE attrelid = 'animals'::regclass AND attname = 'state') IS DISTINCT FROM 'l' THEN
    ALTER TABLE animals ALTER COLUMN state SET COMPRESSION lz4;
  END IF;
EXCEPTION WHEN feature_not_supported THEN
  NULL;
END
$$;
INSERT INTO meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;
)sql";

}  // namespace herd::read_model::pg_detail
