#pragma once
// The SQLite back-end of the query side's read-only view (queries.hpp). Library
// herd::read_model_sqlite.
#include <memory>

#include "herd/core/result.hpp"
#include "herd/read_model/queries.hpp"
#include "herd/read_model/sqlite_store.hpp"

namespace herd::read_model {

// Opens `options.path` read-only (SQLITE_OPEN_READONLY, PRAGMA query_only); it never creates
// the file. Errors: retriable if the file does not exist yet (the projector creates it) or is
// locked; fatal if it is not a read model of sqlite_schema_version.
// Thread: the returned object is one connection (queries.hpp). Only `path` and
// `busy_timeout_ms` of `options` are used.
core::result<std::unique_ptr<queries>> open_sqlite_queries(const sqlite_options& options);

}  // namespace herd::read_model
