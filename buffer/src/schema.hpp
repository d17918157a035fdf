#pragma once
// The outbox's tables, shared by open() and the salvage of a corrupt file.

namespace herd::buffer::detail {

inline constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: never reused after deletes
  key        BLOB    NOT NULL,
  value      BLOB    NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letter (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  received_ms INTEGER NOT NULL,
  source      TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  payload     BLOB    NOT NULL,
  forwarded   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dedup (
  key BLOB    PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
-- Pruning deletes by seq range: without this index it scans the whole table inside an append
-- transaction (0.4 s with a million keys), stalling ingest.
CREATE INDEX IF NOT EXISTS dedup_seq ON dedup(seq);
CREATE INDEX IF NOT EXISTS dead_letter_unforwarded ON dead_letter(forwarded, id);
)sql";

}  // namespace herd::buffer::detail
