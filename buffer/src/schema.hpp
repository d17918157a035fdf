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
-- Dedup keys in two generations of dedup_window seqs each: the key of seq s is in
-- dedup_<((s - 1) / dedup_window) % 2>. An append that starts a generation first empties the
-- table it reuses (keys at least dedup_window seqs old), so a key is remembered for between
-- one and two windows. No index on seq: pruning one by seq range needed one, a third page
-- rewritten in every append's commit (issue 15). dedup_state (one row) says which window the
-- keys are filed by and the generation appends write into: written when a generation starts.
CREATE TABLE IF NOT EXISTS dedup_0 (
  key BLOB    PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dedup_1 (
  key BLOB    PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dedup_state (
  one          INTEGER PRIMARY KEY CHECK (one = 1),
  dedup_window INTEGER NOT NULL,
  generation   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letter_unforwarded ON dead_letter(forwarded, id);
)sql";

// The one dedup table of a file made before 2026-12-03, pruned by seq through its index. open()
// moves its keys into the generations and drops it; a salvage of such a file copies it as it is.
inline constexpr const char* k_legacy_dedup = R"sql(
CREATE TABLE IF NOT EXISTS dedup (
  key BLOB    PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedup_seq ON dedup(seq);
)sql";

}  // namespace herd::buffer::detail
