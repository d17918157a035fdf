#pragma once
// herd-api's service over a real SQLite read model built by the projector's applier from a small
// herd (api_data.hpp); requests go to service::handle() directly (no socket).
#include <doctest/doctest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api_data.hpp"
#include "herd/api/service.hpp"
#include "herd/read_model/sqlite_store.hpp"
#include "herd/test_support/temp_dir.hpp"

namespace herd::api_test {

inline const std::string k_token = "test-token-0123456789abcdef";

struct api_fixture {
  test_support::temp_dir dir;
  std::string db = (dir / "read_model.db").string();
  herd_data data;
  std::unique_ptr<read_model::store> store;
  std::unique_ptr<projector::applier> applier;
  api::api_config config;
  std::unique_ptr<api::queries_pool> pool;
  std::unique_ptr<api::service> svc;
  std::int64_t now_ms = 0;

  explicit api_fixture(int animals = 6, int hours = 30, int partitions = 2) {
    data = make_herd(animals, hours, partitions);
    auto s = read_model::open_sqlite_store({.path = db});
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
    store = std::move(*s);
    applier = std::make_unique<projector::applier>(*store);
    REQUIRE(applier->load_positions().ok());
    for (std::size_t i = 0; i < data.records.size(); i += 500) {
      apply(*applier, data.records, i, std::min(data.records.size(), i + 500));
    }
    config.path = db;
    config.token = k_token;
    pool = std::make_unique<api::queries_pool>(api::make_opener(config), 2);
    now_ms = data.end_ms + 60'000;
    svc = std::make_unique<api::service>(config, *pool, nullptr, [this] { return now_ms; });
  }

  // "GET", "/api/v1/alerts?kind=fever&status=all" (query values are taken as they are).
  api::response call(const std::string& method, const std::string& target, const std::string& auth = "",
                     const std::string& body = "") {
    api::request r;
    r.method = method;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) {
      std::string rest = target.substr(q + 1);
      while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string kv = rest.substr(0, amp);
        const auto eq = kv.find('=');
        r.query.emplace(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
        rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
      }
    }
    r.authorization = auth;
    r.body = body;
    return svc->handle(r);
  }

  nlohmann::json get_json(const std::string& target, int expect = 200) {
    auto r = call("GET", target);
    INFO(target << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == expect);
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    REQUIRE(!j.is_discarded());
    return j;
  }
};

}  // namespace herd::api_test
