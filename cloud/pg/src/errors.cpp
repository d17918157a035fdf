#include "herd/pg/errors.hpp"

#include <libpq-fe.h>

#include <regex>

namespace herd::pg {
namespace {

std::string trimmed(const char* s) {
  std::string out = s != nullptr ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

core::error_kind classify_sqlstate(std::string_view s) {
  using core::error_kind;
  if (s.size() != 5) return error_kind::fatal;
  const std::string_view cls = s.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "58") return error_kind::retriable;
  if (s == "40001" || s == "40P01" || s == "55P03" || s == "57014" || s == "25P02") {
    return error_kind::retriable;
  }
  if (cls == "57" && s.substr(0, 3) == "57P") return error_kind::retriable;  // shutdown/startup
  if (cls == "22" || cls == "23") return error_kind::permanent;
  return error_kind::fatal;
}

core::error statement_error(PGconn* conn, const PGresult* res, std::string_view context) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = trimmed(res != nullptr ? PQresultErrorMessage(res) : nullptr);
  if (message.empty()) message = trimmed(PQerrorMessage(conn));
  std::string text = "postgresql: " + std::string(context) + ": ";
  if (state != nullptr) text += "[" + std::string(state) + "] ";
  text += message;
  // A dropped connection may carry no SQLSTATE at all: it is a network problem, not the input.
  if (PQstatus(conn) == CONNECTION_BAD) return core::error::retriable(std::move(text));
  if (state == nullptr) return core::error::retriable(std::move(text));  // libpq-side failure
  return core::error{classify_sqlstate(state), std::move(text), "pg." + std::string(state)};  // code: pg.<SQLSTATE>
}

core::error connect_error(PGconn* conn, const std::string& conninfo) {
  std::string text = "postgresql: connect (" + redact_conninfo(conninfo) +
                     "): " + trimmed(conn != nullptr ? PQerrorMessage(conn) : "out of memory");
  // A conninfo value libpq cannot use ('invalid integer value "x" for connection option "port"')
  // is a configuration error, though PQping reports it as "no response".
  if (text.find("for connection option") != std::string::npos) {
    return core::error::fatal(std::move(text));
  }
  switch (PQping(conninfo.c_str())) {
    case PQPING_NO_RESPONSE:
    case PQPING_REJECT:  // starting up, shutting down, in recovery
      return core::error::retriable(std::move(text));
    case PQPING_NO_ATTEMPT:
      return core::error::fatal(std::move(text));
    case PQPING_OK:
      break;
  }
  // The server answers, yet our connection failed: credentials, database, role, pg_hba.conf -
  // except a server out of connection slots (53300), which frees up.
  if (text.find("too many clients") != std::string::npos ||
      text.find("remaining connection slots") != std::string::npos) {
    return core::error::retriable(std::move(text));
  }
  return core::error::fatal(std::move(text));
}

std::string redact_conninfo(std::string_view conninfo) {
  static const std::regex password(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))");
  std::string uri_redacted(conninfo);
  // postgresql://user:secret@host/...: the part between ':' and '@' of the authority.
  static const std::regex uri_password(R"(^(postgres(ql)?://[^:/@]*):[^@/]*@)");
  uri_redacted = std::regex_replace(uri_redacted, uri_password, "$1:***@");
  return std::regex_replace(uri_redacted, password, "$1***");
}

}  // namespace herd::pg
