#pragma once
// herd-api's handlers, without a socket: a request in, a response out, so tests call them
// directly and the HTTP server (server.hpp) is a thin adapter. Endpoints and formats: README,
// "Query API". Every failure becomes a JSON error body with a 4xx/5xx status; nothing throws out
// of handle().
//
// Thread: handle() may be called from several threads at once (one read-model connection per
// call, from the pool).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "herd/api/config.hpp"
#include "herd/core/result.hpp"
#include "herd/read_model/queries.hpp"

namespace herd::alerts {
class acknowledger;
}

namespace herd::api {

struct request {
  std::string method;                            // "GET", "POST", "HEAD", ...
  std::string path;                              // decoded path, no query string
  std::multimap<std::string, std::string> query; // decoded query parameters
  std::string authorization;                     // the Authorization header, "" if none
  std::string body;
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Opens read-model connections on demand and keeps idle ones for reuse (at most `max_idle`).
// Thread-safe.
class queries_pool {
 public:
  using opener = std::function<core::result<std::unique_ptr<read_model::queries>>()>;
  queries_pool(opener open, std::size_t max_idle) : open_(std::move(open)), max_idle_(max_idle) {}
  // A connection for the caller's exclusive use, returned to the pool by the lease's destructor
  // (dropped instead if the caller marks it broken).
  class lease {
   public:
    lease(queries_pool* p, std::unique_ptr<read_model::queries> q) : pool_(p), q_(std::move(q)) {}
    lease(lease&&) = default;
    ~lease();
    read_model::queries* operator->() { return q_.get(); }
    read_model::queries& operator*() { return *q_; }
    void broken() { broken_ = true; }

   private:
    queries_pool* pool_;
    std::unique_ptr<read_model::queries> q_;
    bool broken_ = false;
  };
  core::result<lease> get();

 private:
  opener open_;
  std::size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<read_model::queries>> idle_;
};

// The read-model opener the config asks for (sqlite_queries / pg_queries).
queries_pool::opener make_opener(const api_config& c);

class service {
 public:
  // `ack` may be null (no [kafka]: acknowledging answers 503). `now_ms` is the wall clock (ms,
  // UTC), injectable for tests.
  service(api_config config, queries_pool& pool, alerts::acknowledger* ack,
          std::function<std::int64_t()> now_ms = {});
  response handle(const request& r);

 private:
  response route(const request& r);
  api_config c_;
  queries_pool& pool_;
  alerts::acknowledger* ack_;
  std::function<std::int64_t()> now_ms_;
};

}  // namespace herd::api
