#include "herd/pg/connection.hpp"

#include <libpq-fe.h>

#include <cstring>

#include "herd/pg/errors.hpp"

namespace herd::pg {
namespace {

// UTC and a fixed client encoding: nothing depends on the server's defaults. NOTICEs ("relation
// already exists, skipping") would go to stderr through libpq's default notice processor.
constexpr const char* k_session_defaults =
    "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'; SET client_min_messages = warning";

bool succeeded(const PGresult* r) {
  const auto s = PQresultStatus(r);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

}  // namespace

result& result::operator=(result&& o) noexcept {
  if (this != &o) {
    PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

result::~result() { PQclear(r_); }

int result::rows() const { return r_ != nullptr ? PQntuples(r_) : 0; }
int result::columns() const { return r_ != nullptr ? PQnfields(r_) : 0; }
bool result::is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

std::string_view result::bytes(int row, int col) const {
  if (is_null(row, col)) return {};
  return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}

std::int64_t result::int64(int row, int col) const {
  if (is_null(row, col)) return 0;
  return decode_int(PQftype(r_, col), bytes(row, col));
}

double result::float8(int row, int col) const {
  if (is_null(row, col)) return 0;
  return decode_float8(bytes(row, col));
}

std::optional<std::int64_t> result::opt_int64(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return int64(row, col);
}

std::optional<double> result::opt_float8(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return float8(row, col);
}

std::uint64_t result::affected() const {
  const char* n = r_ != nullptr ? PQcmdTuples(r_) : "";
  return *n != '\0' ? std::strtoull(n, nullptr, 10) : 0;
}

core::result<std::unique_ptr<connection>> connection::open(const std::string& conninfo,
                                                           const std::string& application_name) {
  // Keywords before "dbname" are defaults that the expanded conninfo overrides: libpq would
  // otherwise wait forever for an unreachable host. PQreset() reuses all of them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", application_name.empty() ? nullptr : application_name.c_str(),
                          conninfo.c_str(), nullptr};
  if (application_name.empty()) {
    keys[1] = "dbname";
    values[1] = conninfo.c_str();
    keys[2] = nullptr;
    values[2] = nullptr;
  }
  PGconn* c = PQconnectdbParams(keys, values, 1);
  if (c == nullptr || PQstatus(c) != CONNECTION_OK) {
    core::error e = connect_error(c, conninfo);
    PQfinish(c);
    return e;
  }
  std::unique_ptr<connection> conn(new connection(c, conninfo));
  if (auto s = conn->execute(k_session_defaults); !s) return s.err();
  return conn;
}

connection::~connection() { PQfinish(conn_); }

core::status connection::execute(std::string_view sql) {
  const std::string text(sql);
  result r(PQexec(conn_, text.c_str()));
  // PQexec returns the LAST command's result; an earlier failure aborts the rest and is that.
  if (!succeeded(r.native())) return statement_error(conn_, r.native(), sql);
  return core::ok_v;
}

core::status connection::prepare_on_server(const statement& s) {
  result r(PQprepare(conn_, s.name.c_str(), s.sql.c_str(), static_cast<int>(s.types.size()),
                     s.types.data()));
  if (!succeeded(r.native())) {
    return statement_error(conn_, r.native(), "prepare " + s.name);
  }
  return core::ok_v;
}

core::status connection::prepare(const statement& s) {
  if (auto st = prepare_on_server(s); !st) return st;
  prepared_.push_back(s);
  return core::ok_v;
}

core::result<result> connection::run(const statement& s, const params& p) {
  if (p.types() != s.types) {
    return core::error::fatal("postgresql: " + s.name + ": parameter types do not match");
  }
  const auto values = p.values();
  const auto lengths = p.lengths();
  const auto formats = p.formats();
  result r(PQexecPrepared(conn_, s.name.c_str(), static_cast<int>(p.size()), values.data(),
                          lengths.data(), formats.data(), 1));
  if (!succeeded(r.native())) return statement_error(conn_, r.native(), s.name);
  return r;
}

core::result<result> connection::query(std::string_view sql, const params& p) {
  const std::string text(sql);
  const auto values = p.values();
  const auto lengths = p.lengths();
  const auto formats = p.formats();
  result r(PQexecParams(conn_, text.c_str(), static_cast<int>(p.size()), p.types().data(),
                        values.data(), lengths.data(), formats.data(), 1));
  if (!succeeded(r.native())) return statement_error(conn_, r.native(), sql);
  return r;
}

core::status connection::copy_in(std::string_view copy_sql, std::string_view data) {
  const std::string text(copy_sql);
  {
    result r(PQexec(conn_, text.c_str()));
    if (PQresultStatus(r.native()) != PGRES_COPY_IN) return statement_error(conn_, r.native(), copy_sql);
  }
  const bool sent = PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) == 1 &&
                    PQputCopyEnd(conn_, nullptr) == 1;
  // The COPY's own result, then NULL (also after a failure to send: libpq reports it there).
  core::status st = core::ok_v;
  bool first = true;
  while (PGresult* raw = PQgetResult(conn_)) {
    result r(raw);
    if (first && !succeeded(r.native())) st = statement_error(conn_, r.native(), copy_sql);
    first = false;
  }
  if (st && !sent) return core::error::retriable("postgresql: COPY: " + std::string(PQerrorMessage(conn_)));
  return st;
}

bool connection::broken() const { return PQstatus(conn_) != CONNECTION_OK; }

bool connection::in_transaction() const {
  const auto s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

core::status connection::reconnect() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) return connect_error(conn_, conninfo_);
  if (auto s = execute(k_session_defaults); !s) return s;
  if (!session_setup_.empty()) {
    if (auto s = execute(session_setup_); !s) return s;
  }
  for (const auto& s : prepared_) {
    if (auto st = prepare_on_server(s); !st) return st;
  }
  return core::ok_v;
}

core::result<transaction> transaction::begin(connection& c, std::string_view begin_sql) {
  if (auto s = c.execute(begin_sql); !s) return s.err();
  return transaction(c);
}

transaction::~transaction() {
  if (c_ != nullptr && !c_->broken() && c_->in_transaction()) {
    PQclear(PQexec(c_->native(), "ROLLBACK"));  // best effort: a broken link rolls back anyway
  }
}

core::status transaction::commit() {
  connection* c = c_;
  c_ = nullptr;
  result r(PQexec(c->native(), "COMMIT"));
  if (!succeeded(r.native())) return statement_error(c->native(), r.native(), "COMMIT");
  // COMMIT of a transaction that had failed "succeeds" with the tag ROLLBACK.
  if (std::strcmp(PQcmdStatus(r.native()), "COMMIT") != 0) {
    return core::error::retriable("postgresql: COMMIT rolled back (an earlier statement failed)");
  }
  return core::ok_v;
}

}  // namespace herd::pg
