#pragma once
// Every SQLite failure of the buffer carries an outbox.* code (README, "Failure handling"), so the
// gateway tells a corrupt or failing outbox (exit 74) from any other error.
#include <string_view>

#include "herd/core/result.hpp"
#include "herd/sqlite/sqlite_db.hpp"

namespace herd::buffer {

inline core::error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  return sqlite::sqlite_error(db, rc, what, "outbox");
}

}  // namespace herd::buffer
