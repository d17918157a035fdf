#pragma once
// Thin RAII over the SQLite C API, shared by the outbox (buffer/) and the read model (cloud/).
// Not thread-safe: a statement belongs to its connection's thread.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <type_traits>
#include <string>
#include <string_view>

#include "herd/core/result.hpp"

namespace herd::sqlite {

// Classifies a SQLite failure: its class, and its code "<module>.<name>" (see core/result.hpp;
// the outbox passes "outbox"):
//   retriable: full (SQLITE_FULL, or an I/O error with ENOSPC/EDQUOT/EFBIG), busy (BUSY, LOCKED), nomem
//   fatal: readonly (READONLY, or an I/O error with EROFS), corrupt (CORRUPT, NOTADB, CORRUPTFS),
//          io (any other I/O error: EIO, a failed fsync; CANTOPEN), other (misuse, schema, ...)
// `rc` is an extended result code; `sys_errno` is sqlite3_system_errno() (0 when unknown).
core::error sqlite_error(sqlite3* db, int rc, std::string_view what, std::string_view module = "sqlite");
core::error classify_sqlite(int rc, int sys_errno, std::string msg, std::string_view module = "sqlite");

class statement {
 public:
  statement() = default;
  statement(sqlite3* db, std::string_view sql);
  ~statement();
  statement(statement&& o) noexcept;
  statement& operator=(statement&& o) noexcept;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  bool valid() const { return stmt_ != nullptr; }
  void bind(int idx, std::int64_t v);
  void bind(int idx, std::string_view text);
  void bind_blob(int idx, std::string_view bytes);
  void bind_double(int idx, double v);
  void bind_null(int idx);
  template <class T>
  void bind_optional(int idx, const std::optional<T>& v) {
    if (!v) {
      bind_null(idx);
    } else if constexpr (std::is_floating_point_v<T>) {
      bind_double(idx, *v);
    } else {
      bind(idx, static_cast<std::int64_t>(*v));
    }
  }
  int step();  // SQLITE_ROW / SQLITE_DONE / error code
  void reset();
  std::int64_t column_int(int col) const;
  std::string column_blob(int col) const;
  // The same bytes without a copy: valid until the next step(), reset() or column call on `col`.
  std::string_view column_blob_view(int col) const;
  std::string column_text(int col) const;
  double column_double(int col) const;
  bool column_null(int col) const;
  int column_type(int col) const;  // SQLITE_INTEGER / SQLITE_BLOB / SQLITE_TEXT / ...

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Executes SQL without results; returns SQLITE_OK or the error code.
int exec(sqlite3* db, const char* sql);

}  // namespace herd::sqlite
