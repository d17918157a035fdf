#pragma once
// How a PostgreSQL failure is classified (core::error_kind), from its SQLSTATE
// (PostgreSQL 15 documentation, Appendix A "PostgreSQL Error Codes"):
//
//   retriable  08xxx connection exception, 40001 serialization failure, 40P01 deadlock,
//              53xxx insufficient resources (53100 disk full, 53200 out of memory, 53300 too
//              many connections), 55P03 lock not available, 57014 query canceled,
//              57P01..57P05 the server is shutting down / starting up / idle timeout,
//              58xxx system I/O error, 25P02 a transaction already failed (retry it whole),
//              and a connection that dropped (no SQLSTATE, CONNECTION_BAD)
//   permanent  22xxx data exception, 23xxx integrity constraint violation (bad data: the same
//              input will fail again)
//   fatal      28xxx authorization, 3D000 no such database, 42xxx schema / privilege / syntax,
//              XX internal error, and anything not listed (a bug or a misconfiguration that a
//              retry will not cure; the composition root stops the process)
#include <string>
#include <string_view>

#include "herd/core/result.hpp"

typedef struct pg_conn PGconn;        // NOLINT(modernize-use-using): as in libpq-fe.h
typedef struct pg_result PGresult;    // NOLINT(modernize-use-using)

namespace herd::pg {

// The kind of a five-character SQLSTATE; an empty or malformed one is fatal.
core::error_kind classify_sqlstate(std::string_view sqlstate);

// The error of a failed statement: its SQLSTATE's kind, or retriable if the connection is gone.
// `context` says what was being done (the statement's name); the message includes SQLSTATE.
core::error statement_error(PGconn* conn, const PGresult* res, std::string_view context);

// The error of a failed connection attempt. libpq gives no SQLSTATE for it, so the server is
// asked with PQping: no answer / starting up / shutting down = retriable; it answers but our
// connection was refused (authentication, no such database or role) = fatal, except "too many
// clients" = retriable; a malformed conninfo = fatal.
core::error connect_error(PGconn* conn, const std::string& conninfo);

// conninfo with any password=... value replaced by "***", for logs and error messages.
std::string redact_conninfo(std::string_view conninfo);

}  // namespace herd::pg
