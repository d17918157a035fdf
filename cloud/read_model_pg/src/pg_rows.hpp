#pragma once
// Rows <-> libpq results and arrays for the PostgreSQL read-model store.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/pg/connection.hpp"
#include "herd/read_model/rows.hpp"

namespace herd::read_model::pg_detail {

// Columns as in pg_statements.hpp (HERD_EVENT_COLUMNS, HERD_ANIMAL_JOIN, HERD_ALERT_COLUMNS).
std::vector<stored_event> events_from(const pg::result& r);
// Rows of the animals LEFT JOIN collars query (ordered by animal, collar) grouped per animal.
std::vector<animal_row> animals_from(const pg::result& r);
std::vector<alert_row> alerts_from(const pg::result& r);
std::vector<outbox_message> outbox_from(const pg::result& r);
std::vector<partition_progress> progress_from(const pg::result& r);

// Outbox headers in one bytea: per header, u32 big-endian key length, key, u32 value length,
// value. decode_headers gives up (returns what it read) on truncated bytes.
std::string encode_headers(const std::vector<std::pair<std::string, std::string>>& headers);
std::vector<std::pair<std::string, std::string>> decode_headers(std::string_view bytes);

// PostgreSQL text cannot hold a NUL byte (SQLite and protobuf strings can): such an id is an
// input this store can never accept, reported as permanent with `what` (e.g. the event_id).
core::status check_text(std::string_view value, std::string_view field, std::string_view what);

}  // namespace herd::read_model::pg_detail
