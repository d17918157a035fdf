#include "herd/api/service.hpp"

#include <chrono>
#include <exception>

#include "dashboard.hpp"
#include "endpoints.hpp"
#include "herd/core/logging.hpp"
#include "herd/read_model/sqlite_queries.hpp"
#ifdef HERD_WITH_POSTGRESQL
#include "herd/read_model/pg_queries.hpp"
#endif

namespace herd::api {

queries_pool::lease::~lease() {
  if (!q_ || pool_ == nullptr) return;
  if (broken_) return;
  std::lock_guard lock(pool_->mu_);
  if (pool_->idle_.size() < pool_->max_idle_) pool_->idle_.push_back(std::move(q_));
}

core::result<queries_pool::lease> queries_pool::get() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto q = std::move(idle_.back());
      idle_.pop_back();
      return lease(this, std::move(q));
    }
  }
  auto q = open_();
  if (!q) return q.err();
  return lease(this, std::move(*q));
}

queries_pool::opener make_opener(const api_config& c) {
  if (c.backend == "postgresql") {
#ifdef HERD_WITH_POSTGRESQL
    read_model::pg_options o;
    o.conninfo = c.conninfo;
    o.application_name = c.application_name;
    o.statement_timeout_ms = c.statement_timeout_ms;
    return [o] { return read_model::open_pg_queries(o); };
#else
    return [] {
      return core::result<std::unique_ptr<read_model::queries>>(
          core::error::fatal("this build has no PostgreSQL support (HERD_WITH_POSTGRESQL=OFF)"));
    };
#endif
  }
  read_model::sqlite_options o;
  o.path = c.path;
  o.busy_timeout_ms = c.statement_timeout_ms;
  return [o] { return read_model::open_sqlite_queries(o); };
}

service::service(api_config config, queries_pool& pool, alerts::acknowledger* ack,
                 std::function<std::int64_t()> now_ms)
    : c_(std::move(config)), pool_(pool), ack_(ack), now_ms_(std::move(now_ms)) {
  if (!now_ms_) {
    now_ms_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

namespace {

// Constant-time comparison: the token check must not leak how many bytes matched.
bool token_matches(const std::string& header, const std::string& token) {
  static const std::string prefix = "Bearer ";
  if (token.empty() || header.size() != prefix.size() + token.size()) return false;
  if (header.compare(0, prefix.size(), prefix) != 0) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(header[prefix.size() + i] ^ token[i]);
  }
  return diff == 0;
}

// Splits "/api/v1/animals/X/history" into segments; empty segments refused.
std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 1;
  while (i <= path.size()) {
    const std::size_t j = path.find('/', i);
    const std::size_t end = j == std::string::npos ? path.size() : j;
    out.push_back(path.substr(i, end - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

}  // namespace

response service::handle(const request& r) {
  try {
    return route(r);
  } catch (const detail::http_error& e) {
    return detail::json_response(e.status, {{"error", e.message}, {"status", e.status}});
  } catch (const std::exception& e) {
    core::module_logger("api")->error("{} {}: {}", r.method, r.path, e.what());
    return detail::json_response(500, {{"error", "internal error"}, {"status", 500}});
  }
}

response service::route(const request& r) {
  using detail::http_error;
  if (r.path.empty() || r.path.front() != '/' || r.path.size() > 1024) throw http_error{400, "bad path"};
  const auto seg = segments(r.path);
  for (const auto& s : seg) {
    if (s == "." || s == "..") throw http_error{400, "bad path: dot segments"};
  }
  const bool get = r.method == "GET" || r.method == "HEAD";
  const bool post = r.method == "POST";

  // The dashboard's static files: no data, no token (the page asks for the token if reads need one).
  if (get) {
    if (auto asset = dashboard_asset(r.path, c_.dashboard_refresh_s)) return *asset;
  }
  if (r.path == "/health") {
    if (!get) throw http_error{405, "GET only"};
    auto db = pool_.get();
    if (!db) {
      return detail::json_response(503, {{"status", "unavailable"}, {"read_model", c_.backend}, {"error", db.err().message}});
    }
    auto n = (*db)->count_animals();
    if (!n) {
      db->broken();
      return detail::json_response(503, {{"status", "unavailable"}, {"read_model", c_.backend}, {"error", n.err().message}});
    }
    return detail::json_response(200, {{"status", "ok"}, {"read_model", c_.backend}, {"animals", *n}});
  }

  const bool api = seg.size() >= 3 && seg[0] == "api" && seg[1] == "v1";
  const bool icar = seg.size() == 3 && seg[0] == "icar" && seg[1] == "v1";
  if (!api && !icar) throw http_error{404, "no such endpoint: " + r.path};
  if (post) {
    if (c_.token.empty()) throw http_error{403, "write endpoints are disabled: no api.token configured"};
    if (!token_matches(r.authorization, c_.token)) throw http_error{401, "a valid bearer token is required"};
  } else if (get) {
    if (c_.token_for_reads && !token_matches(r.authorization, c_.token)) {
      throw http_error{401, "a valid bearer token is required"};
    }
  } else {
    throw http_error{405, "method not allowed: " + r.method.substr(0, 16)};
  }

  auto lease = pool_.get();
  if (!lease) detail::fail(lease.err());
  detail::context ctx{c_, r, *lease, ack_, now_ms_()};
  try {
    if (icar && get) {
      if (seg[2] == "attention-events") return detail::get_icar_attention(ctx);
      if (seg[2] == "heat-events") return detail::get_icar_heats(ctx);
    }
    if (api && get) {
      if (seg.size() == 3 && seg[2] == "alerts") return detail::get_alerts(ctx);
      if (seg.size() == 3 && seg[2] == "summary") return detail::get_summary(ctx);
      if (seg.size() == 4 && seg[2] == "animals") return detail::get_animal(ctx, seg[3]);
      if (seg.size() == 5 && seg[2] == "animals") {
        if (seg[4] == "history") return detail::get_history(ctx, seg[3]);
        if (seg[4] == "state") return detail::get_state_at(ctx, seg[3]);
        if (seg[4] == "series") return detail::get_series(ctx, seg[3]);
      }
    }
    if (api && post && seg.size() == 7 && seg[2] == "animals" && seg[4] == "alerts" && seg[6] == "acknowledge") {
      return detail::post_acknowledge(ctx, seg[3], seg[5]);
    }
  } catch (const detail::http_error& e) {
    if (e.status >= 500) lease->broken();  // a failed connection is not reused
    throw;
  }
  throw http_error{get || post ? 404 : 405, "no such endpoint: " + r.method + " " + r.path};
}

}  // namespace herd::api
