#include "herd/sqlite/sqlite_db.hpp"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace herd::sqlite {

namespace {

// The OS error behind an SQLITE_IOERR. sqlite3_system_errno() is not set on every path (a failed
// WAL write at COMMIT leaves it 0), so also: the VFS's last error on this thread (errno right after
// the failed call), and, failing both, the file system itself: read-only, or no space left.
int io_errno(sqlite3* db) {
  if (db == nullptr) return 0;
  if (const int e = sqlite3_system_errno(db); e != 0) return e;
  if (sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr); vfs != nullptr && vfs->xGetLastError != nullptr) {
    const int e = vfs->xGetLastError(vfs, 0, nullptr);
    if (e == ENOSPC || e == EDQUOT || e == EFBIG || e == EROFS || e == EIO) return e;
  }
  const char* file = sqlite3_db_filename(db, "main");
  struct statvfs fs {};
  if (file != nullptr && *file != '\0' && ::statvfs(file, &fs) == 0) {
    if ((fs.f_flag & ST_RDONLY) != 0) return EROFS;
    if (fs.f_bavail == 0) return ENOSPC;
  }
  return 0;
}

}  // namespace

core::error sqlite_error(sqlite3* db, int rc, std::string_view what, std::string_view module) {
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  // The OS error behind an I/O error tells a full disk (a WAL or -shm that cannot grow) and a
  // file system remounted read-only apart from a failing device.
  const int sys = (rc & 0xFF) == SQLITE_IOERR ? io_errno(db) : 0;
  if (sys != 0 && (rc & 0xFF) == SQLITE_IOERR) msg += " (" + std::string(std::strerror(sys)) + ")";
  return classify_sqlite(rc, sys, std::move(msg), module);
}

core::error classify_sqlite(int rc, int sys_errno, std::string msg, std::string_view module) {
  const auto code = [&](const char* name) { return std::string(module) + "." + name; };
  switch (rc & 0xFF) {
    case SQLITE_FULL:
      return core::error::retriable(std::move(msg), code("full"));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return core::error::retriable(std::move(msg), code("busy"));
    case SQLITE_NOMEM:
      return core::error::retriable(std::move(msg), code("nomem"));
    case SQLITE_IOERR:
      if (rc == SQLITE_IOERR_NOMEM) return core::error::retriable(std::move(msg), code("nomem"));
      if (sys_errno == ENOSPC || sys_errno == EDQUOT || sys_errno == EFBIG) return core::error::retriable(std::move(msg), code("full"));
      if (sys_errno == EROFS) return core::error::fatal(std::move(msg), code("readonly"));
      if (rc == SQLITE_IOERR_CORRUPTFS) return core::error::fatal(std::move(msg), code("corrupt"));
      // EIO, a failed fsync: the device is failing, and after a failed fsync the kernel's cache
      // no longer says what is on disk. Only a restart (with the start-up check) is safe.
      return core::error::fatal(std::move(msg), code("io"));
    case SQLITE_READONLY:
      return core::error::fatal(std::move(msg), code("readonly"));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return core::error::fatal(std::move(msg), code("corrupt"));
    case SQLITE_CANTOPEN:
      return core::error::fatal(std::move(msg), code("io"));
    default:
      return core::error::fatal(std::move(msg), code("other"));
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

std::string_view statement::column_blob_view(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  return p != nullptr ? std::string_view(p, static_cast<std::size_t>(n)) : std::string_view();
}

std::string statement::column_text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  return p != nullptr ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

int statement::column_type(int col) const { return sqlite3_column_type(stmt_, col); }

int exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

}  // namespace herd::sqlite
