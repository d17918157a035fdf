#pragma once
// A small RAII layer over libpq (Debian libpq-dev 15, C API): one connection, owned results,
// named prepared statements that survive a reconnect, binary parameters and results.
// Errors are values classified as in errors.hpp; nothing here throws for a database failure.
//
// Threading: a connection is used by one thread at a time (libpq's rule for a PGconn).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/pg/params.hpp"

typedef struct pg_conn PGconn;      // NOLINT(modernize-use-using): as in libpq-fe.h
typedef struct pg_result PGresult;  // NOLINT(modernize-use-using)

namespace herd::pg {

// An owned PGresult of a successful statement, read in binary format.
class result {
 public:
  explicit result(PGresult* r) : r_(r) {}
  result(result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  result& operator=(result&& o) noexcept;
  result(const result&) = delete;
  result& operator=(const result&) = delete;
  ~result();

  int rows() const;
  int columns() const;
  bool is_null(int row, int col) const;
  // The raw value: the bytes of a text or bytea column ("" for NULL).
  std::string_view bytes(int row, int col) const;
  std::string string(int row, int col) const { return std::string(bytes(row, col)); }
  std::int64_t int64(int row, int col) const;  // int2 / int4 / int8 columns; 0 for NULL
  double float8(int row, int col) const;       // float8 columns; 0 for NULL
  std::optional<std::int64_t> opt_int64(int row, int col) const;
  std::optional<double> opt_float8(int row, int col) const;
  // The number of rows a command affected (INSERT/UPDATE/DELETE), 0 if none.
  std::uint64_t affected() const;
  PGresult* native() const { return r_; }

 private:
  PGresult* r_;
};

// A named prepared statement. `types` are the parameter OIDs; params passed to run() must
// have exactly these types (checked: a mismatch is a fatal error, i.e. a bug here).
struct statement {
  std::string name;
  std::string sql;
  std::vector<oid> types;
};

class connection {
 public:
  // Connects (blocking; connect_timeout from conninfo, default 10 s here) and sets
  // application_name if given. Errors: connect_error() in errors.hpp.
  static core::result<std::unique_ptr<connection>> open(const std::string& conninfo,
                                                        const std::string& application_name = {});
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  // One or more SQL commands without parameters (simple query protocol): DDL, BEGIN, COMMIT.
  core::status execute(std::string_view sql);
  // Prepares `s` now and again after every reconnect.
  core::status prepare(const statement& s);
  // Runs a prepared statement; binary results. The statement must have been prepare()d.
  core::result<result> run(const statement& s, const params& p);
  // An unprepared statement with parameters (for one-off queries); binary results.
  core::result<result> query(std::string_view sql, const params& p = {});
  // COPY ... FROM STDIN `copy_sql` fed with `data` (e.g. copy_rows::finish()), in one piece.
  // A failure (a unique violation, say) is classified like a statement's.
  core::status copy_in(std::string_view copy_sql, std::string_view data);

  // True if the connection is gone (server restarted, network): reconnect() before reuse.
  bool broken() const;
  // Re-establishes the connection (PQreset) and re-prepares every statement.
  core::status reconnect();
  // SQL run after every reconnect, before statements are prepared again (session settings such
  // as lock_timeout that were SET after open()).
  void set_session_setup(std::string sql) { session_setup_ = std::move(sql); }
  // Inside a transaction block (or a failed one)?
  bool in_transaction() const;

  PGconn* native() const { return conn_; }
  const std::string& conninfo() const { return conninfo_; }

 private:
  connection(PGconn* c, std::string conninfo) : conn_(c), conninfo_(std::move(conninfo)) {}
  core::status prepare_on_server(const statement& s);

  PGconn* conn_;
  std::string conninfo_;
  std::vector<statement> prepared_;
  std::string session_setup_;
};

// A transaction on `c`: BEGIN in begin(), ROLLBACK on destruction unless commit() succeeded.
class transaction {
 public:
  static core::result<transaction> begin(connection& c, std::string_view begin_sql = "BEGIN");
  transaction(transaction&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
  transaction& operator=(transaction&&) = delete;
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction();

  core::status commit();

 private:
  explicit transaction(connection& c) : c_(&c) {}
  connection* c_;
};

}  // namespace herd::pg
