#pragma once
// One private PostgreSQL server per test process (started on first use: ~1 s), a fresh database
// per fixture object (CREATE DATABASE: ~0.1 s). The PostgreSQL store tests run as ONE ctest
// test for that reason (tests/CMakeLists.txt).
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>

#include <herd/test_support/postgres_server.hpp>

#include "herd/read_model/pg_queries.hpp"
#include "herd/read_model/pg_store.hpp"

namespace herd::pg_test {

inline test_support::postgres_server& server() {
  static test_support::postgres_server s;
  return s;
}

// A fresh, empty database on the shared server.
inline std::string fresh_database() {
  static std::atomic<int> n{0};
  return server().create_database("rm" + std::to_string(n++));
}

inline read_model::pg_options options_for(const std::string& conninfo) {
  read_model::pg_options o;
  o.conninfo = conninfo;
  o.application_name = "herd-pg-store-test";
  return o;
}

inline std::unique_ptr<read_model::store> open_store(const read_model::pg_options& o) {
  auto s = read_model::open_pg_store(o);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  return std::move(*s);
}

// The fixture of the store conformance suite (tests/unit/cloud/store_suite.hpp).
struct pg_fixture {
  static constexpr const char* name = "postgresql";
  std::string conninfo = fresh_database();
  std::unique_ptr<read_model::store> open() { return open_store(options_for(conninfo)); }
  std::unique_ptr<read_model::queries> open_queries() {
    auto q = read_model::open_pg_queries(options_for(conninfo));
    REQUIRE_MESSAGE(q.ok(), (q.ok() ? "" : q.err().message));
    return std::move(*q);
  }
};

}  // namespace herd::pg_test
