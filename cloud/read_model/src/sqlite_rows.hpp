#pragma once
// Row codecs shared by the SQLite read model's store (sqlite_store.cpp, sqlite_txn.cpp) and its
// query side (sqlite_queries.cpp): event rows, optional columns, the outbox header blob.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/read_model/rows.hpp"
#include "herd/sqlite/sqlite_db.hpp"

namespace herd::read_model::detail {

// Outbox headers as one blob: repeated (u32 length, bytes) pairs, little-endian. unpack_headers
// stops at the first truncated pair (a blob we did not write yields what it holds).
std::string pack_headers(const std::vector<std::pair<std::string, std::string>>& headers);
std::vector<std::pair<std::string, std::string>> unpack_headers(std::string_view in);

// The events table's columns in the order event_from() reads them.
inline constexpr const char* k_event_columns =
    "store_seq, event_id, animal_id, event_type, occurred_at_us, ingested_at_us, gateway_id, "
    "gateway_seq, envelope, topic, kafka_partition, kafka_offset";
// One stored_event from the current row of a statement selecting k_event_columns.
stored_event event_from(const sqlite::statement& st);

// The animals, collars and progress tables' columns in the order their readers take them.
inline constexpr const char* k_animal_columns =
    "animal_id, topic, kafka_partition, state, events_applied, last_occurred_at_us, body_temp_c, "
    "activity_steps, rumination_min";
inline constexpr const char* k_collar_columns = "collar_id, last_seq, battery_pct, rssi_dbm, last_seen_us";
inline constexpr const char* k_alert_columns =
    "alert_id, animal_id, kind, status, severity, raised_at_us, updated_at_us, resolved_at_us, "
    "acknowledged_at_us, body";
inline constexpr const char* k_progress_columns =
    "topic, kafka_partition, next_offset, applied, duplicates, unknown_type, rejected, dead_lettered, "
    "watermark_us";
// One row from the current row of a statement selecting the matching column list (an animal
// without its collars).
animal_row animal_from(const sqlite::statement& st);
collar_row collar_from(const sqlite::statement& st);
alert_row alert_from(const sqlite::statement& st);
partition_progress progress_from(const sqlite::statement& st);

// Steps `st` to the end, reading each row with `read`; resets it. SQLite errors with `what`.
template <class Row, class Read>
core::result<std::vector<Row>> read_all(sqlite3* db, sqlite::statement& st, Read read, std::string_view what) {
  std::vector<Row> out;
  int rc = 0;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(read(st));
  st.reset();
  if (rc != SQLITE_DONE) return sqlite::sqlite_error(db, rc, what);
  return out;
}

// A nullable integer / real column.
template <class T>
std::optional<T> opt_int(const sqlite::statement& st, int col) {
  if (st.column_null(col)) return std::nullopt;
  return static_cast<T>(st.column_int(col));
}
std::optional<double> opt_double(const sqlite::statement& st, int col);

// Runs a prepared statement to completion (no rows expected) and resets it; SQLite errors with
// `what`.
core::status run(sqlite3* db, sqlite::statement& st, std::string_view what);

}  // namespace herd::read_model::detail
