#include "herd/sqlite/sqlite_db.hpp"

#include <stdexcept>
#include <utility>

namespace herd::sqlite {

core::error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xFF) {
    case SQLITE_FULL:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
      return core::error::retriable(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return core::error::fatal(std::move(msg));
    default:
      return core::error::fatal(std::move(msg));
  }
}

statement::statement(sqlite3* db, std::string_view sql) {
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    throw std::runtime_error(std::string("prepare failed: ") + sqlite3_errmsg(db) + " in " +
                             std::string(sql));
  }
}

statement::~statement() { sqlite3_finalize(stmt_); }

statement::statement(statement&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)) {}

statement& statement::operator=(statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(o.stmt_, nullptr);
  }
  return *this;
}

void statement::bind(int idx, std::int64_t v) { sqlite3_bind_int64(stmt_, idx, v); }

void statement::bind(int idx, std::string_view text) {
  sqlite3_bind_text(stmt_, idx, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void statement::bind_blob(int idx, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, idx, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}

void statement::bind_double(int idx, double v) { sqlite3_bind_double(stmt_, idx, v); }

void statement::bind_null(int idx) { sqlite3_bind_null(stmt_, idx); }

double statement::column_double(int col) const { return sqlite3_column_double(stmt_, col); }

bool statement::column_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int statement::step() { return sqlite3_step(stmt_); }

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t statement::column_int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string statement::column_blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  return p != nullptr ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::string statement::column_text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  return p != nullptr ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

int statement::column_type(int col) const { return sqlite3_column_type(stmt_, col); }

int exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

}  // namespace herd::sqlite
