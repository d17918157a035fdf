#pragma once
// The PostgreSQL back-end of the query side's read-only view (queries.hpp). Library
// herd::read_model_pg. Point it at a read replica to take the query load off the primary
// (README, "Scaling the read model").
#include <memory>

#include "herd/core/result.hpp"
#include "herd/read_model/pg_store.hpp"
#include "herd/read_model/queries.hpp"

namespace herd::read_model {

// Connects with default_transaction_read_only = on and statement_timeout =
// options.statement_timeout_ms; never creates the schema. Errors: retriable if the server is
// unreachable or the schema is not created yet (the projector creates it); fatal if it holds
// another schema version or refuses our credentials. Thread: one connection (queries.hpp);
// after a dropped connection the next call reconnects.
core::result<std::unique_ptr<queries>> open_pg_queries(const pg_options& options);

}  // namespace herd::read_model
