// The read-model store contract (tests/unit/cloud/store_suite.hpp, the same suite the SQLite
// back-end runs) against the PostgreSQL back-end on a real PostgreSQL 15.
#include "pg_fixture.hpp"
#include "queries_suite.hpp"
#include "store_suite.hpp"

using herd::pg_test::pg_fixture;

TYPE_TO_STRING(pg_fixture);
HERD_STORE_SUITE(pg_fixture);
HERD_QUERIES_SUITE(pg_fixture);
