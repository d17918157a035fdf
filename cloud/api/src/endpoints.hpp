#pragma once
// herd-api's endpoint handlers (service.cpp routes to them). Internal.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "herd/api/config.hpp"
#include "herd/api/service.hpp"
#include "views.hpp"

namespace herd::api::detail {

// A client error or a server-side failure, turned into a JSON response by the router.
struct http_error {
  int status;
  std::string message;
};

struct context {
  const api_config& config;
  const request& req;
  queries_pool::lease& db;
  alerts::acknowledger* ack;
  std::int64_t now_ms;
};

response json_response(int status, const json& body);
// Throws http_error(503) for a retriable error, 500 otherwise (logged).
[[noreturn]] void fail(const core::error& e);
template <class T>
T must(core::result<T> r) {
  if (!r) fail(r.err());
  return std::move(*r);
}

// Query parameters: each throws http_error(400) naming the parameter on bad input.
std::optional<std::string> param(const request& r, const std::string& name);
std::optional<std::int64_t> time_param(const request& r, const std::string& name);      // RFC 3339 -> ms
std::optional<std::int64_t> int_param(const request& r, const std::string& name, std::int64_t lo, std::int64_t hi);
// An animal id as herdgate accepts them (core::animal_id_problem): else 400.
std::string checked_animal(const std::string& id);

response get_alerts(context& c);
response get_icar_attention(context& c);
response get_icar_heats(context& c);
response get_animal(context& c, const std::string& id);
response get_history(context& c, const std::string& id);
response get_state_at(context& c, const std::string& id);
response get_series(context& c, const std::string& id);
response get_summary(context& c);
response post_acknowledge(context& c, const std::string& animal_id, const std::string& alert_id);
// Refuses (400) query parameters other than `allowed`.
void allow(const request& r, std::initializer_list<const char*> allowed);

}  // namespace herd::api::detail
