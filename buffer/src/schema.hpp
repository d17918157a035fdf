#pragma once
// The outbox's tables, shared by open() and the salvage of a corrupt file.

namespace herd::buffer::detail {

inline constexpr const char* k_schema = R"sql(
-- seq is never reused after deletes: outbox_seq keeps the high-water mark. Not AUTOINCREMENT,
-- which rewrites sqlite_sequence's page in every append's commit (a ninth of the bytes written
-- per reading, issue 15); a file created before keeps its AUTOINCREMENT table, and both work.
CREATE TABLE IF NOT EXISTS outbox (
  seq        INTEGER PRIMARY KEY,
  key        BLOB    NOT NULL,
  value      BLOB    NOT NULL,
  created_ms INTEGER NOT NULL
);
-- One row: at least the highest seq a delete removed (written in the same transaction, only when
-- it removes a seq above the mark) or a claim reserved (synchronous = normal or off). The next
-- seq at open follows max(high, max(outbox.seq), the old sqlite_sequence).
CREATE TABLE IF NOT EXISTS outbox_seq (
  one  INTEGER PRIMARY KEY CHECK (one = 1),
  high INTEGER NOT NULL
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
