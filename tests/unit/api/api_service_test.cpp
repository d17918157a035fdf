// herd-api's read endpoints and its answers to bad requests, over a real read model.
#include <fstream>

#include "api_fixture.hpp"
#include "herd/core/time_format.hpp"

using herd::api_test::api_fixture;
using herd::api_test::k_token;
using nlohmann::json;

namespace {

std::vector<std::string> kinds_of(const json& alerts) {
  std::vector<std::string> out;
  for (const auto& a : alerts) out.push_back(a["animal_id"].get<std::string>() + ":" + a["kind"].get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("api: active alerts, filters, and the herd summary") {
  api_fixture f;
  auto all = f.get_json("/api/v1/alerts");
  const auto kinds = kinds_of(all["alerts"]);
  INFO(all.dump());
  // The herd's planted problems are all there (a fold of the projector's rules).
  CHECK(std::find(kinds.begin(), kinds.end(), "DE01001:low_battery") != kinds.end());
  CHECK(std::find(kinds.begin(), kinds.end(), "DE01002:device_offline") != kinds.end());
  CHECK(std::find(kinds.begin(), kinds.end(), "DE01003:fever") != kinds.end());
  CHECK(all["count"] == all["alerts"].size());
  for (const auto& a : all["alerts"]) CHECK(a["status"] == "active");

  auto only = f.get_json("/api/v1/alerts?kind=low_battery");
  REQUIRE(only["alerts"].size() == 1);
  CHECK(only["alerts"][0]["animal_id"] == "DE01001");
  CHECK(only["alerts"][0]["device_id"] == "C101");

  // priority is a minimum; since filters on updated_at.
  auto crit = f.get_json("/api/v1/alerts?priority=critical");
  for (const auto& a : crit["alerts"]) CHECK(a["severity"] == "critical");
  auto future = f.get_json("/api/v1/alerts?since=" + herd::core::iso8601_utc_ms(f.data.end_ms + 3'600'000));
  CHECK(future["alerts"].empty());
  auto one = f.get_json("/api/v1/alerts?animal=DE01003&status=all");
  for (const auto& a : one["alerts"]) CHECK(a["animal_id"] == "DE01003");

  auto s = f.get_json("/api/v1/summary");
  CHECK(s["animals"] == 6);
  CHECK(s["active_alerts"]["total"] == all["count"]);
  CHECK(s["active_alerts"]["by_kind"]["low_battery"]["total"] == 1);
  CHECK(s["devices"]["offline"] == 1);
  CHECK(s["devices"]["low_battery"] == 1);
  bool offline_listed = false;
  for (const auto& d : s["devices"]["needing_service"]) {
    if (d["animal_id"] == "DE01002" && d["problem"] == "device_offline") offline_listed = d["device_id"] == "C102";
  }
  CHECK(offline_listed);
  REQUIRE(s["projector"]["partitions"].size() == 2);
  CHECK(s["projector"]["event_time_lag_s"].get<double>() == doctest::Approx(60.0).epsilon(0.05));
}

TEST_CASE("api: one animal's state, its history in pages, its plot series") {
  api_fixture f;
  auto a = f.get_json("/api/v1/animals/DE01003");
  CHECK(a["animal_id"] == "DE01003");
  CHECK(a["latest"]["body_temp_c"]["value"] == doctest::Approx(40.6));
  REQUIRE(a["collars"].size() == 1);
  CHECK(a["collars"][0]["collar_id"] == "C103");
  CHECK(a["collars"][0]["battery_pct"] == 90);
  bool fever = false;
  for (const auto& al : a["active_alerts"]) fever |= al["kind"] == "fever";
  CHECK(fever);
  CHECK(a["rules_ready"].size() == 5);

  // History: 30 h x 6 readings; pages of 50 by store_seq; alerts on the first page.
  const std::string from = herd::core::iso8601_utc_ms(f.data.start_ms);
  const std::string to = herd::core::iso8601_utc_ms(f.data.end_ms + 1);
  std::int64_t after = 0;
  std::size_t events = 0, pages = 0;
  std::int64_t last_seq = 0;
  for (;;) {
    auto page = f.get_json("/api/v1/animals/DE01003/history?from=" + from + "&to=" + to + "&limit=50&after=" +
                           std::to_string(after));
    ++pages;
    CHECK(page.contains("alerts") == (after == 0));
    for (const auto& e : page["events"]) {
      CHECK(e["store_seq"].get<std::int64_t>() > last_seq);
      last_seq = e["store_seq"].get<std::int64_t>();
      CHECK(e["event_type"] == "collar.reading.v1");
      CHECK(e["payload"]["collar_id"] == "C103");
      ++events;
    }
    if (page["next_after"].is_null()) break;
    after = page["next_after"].get<std::int64_t>();
    REQUIRE(pages < 100);
  }
  CHECK(events == 180);
  CHECK(pages == 4);

  auto series = f.get_json("/api/v1/animals/DE01003/series?hours=24");
  CHECK(series["series"]["time_s"].size() == 24);
  CHECK(series["series"]["body_temp_c"].back().get<double>() == doctest::Approx(40.6));
  CHECK(!series["alerts"].empty());
}

TEST_CASE("api: bad requests get a clear 4xx, never a crash") {
  api_fixture f(3, 2, 1);
  struct bad {
    std::string method, target;
    int status;
  };
  const std::string long_id(200, 'A');
  const std::vector<bad> cases = {
      {"GET", "/api/v1/animals/DE09999", 404},                                  // unknown animal
      {"GET", "/api/v1/animals/" + long_id, 400},                               // not an animal id
      {"GET", "/api/v1/animals/DE%20bad", 400},
      {"GET", "/api/v1/animals/DE01000/state?at=yesterday", 400},               // malformed time
      {"GET", "/api/v1/animals/DE01000/state?at=2026-13-45T99:00:00Z", 400},
      {"GET", "/api/v1/animals/DE01000/state", 400},                            // missing at
      {"GET", "/api/v1/animals/DE01000/state?at=2099-01-01T00:00:00Z", 400},    // the future
      {"GET", "/api/v1/animals/DE01000/state?at=2020-01-01T00:00:00Z", 404},    // before its events
      {"GET", "/api/v1/animals/DE01000/history?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z", 400},  // huge range
      {"GET", "/api/v1/animals/DE01000/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", 400},  // reversed
      {"GET", "/api/v1/animals/DE01000/history?from=2026-01-01T00:00:00Z", 400},
      {"GET", "/api/v1/animals/DE01000/history?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&limit=0", 400},
      {"GET", "/api/v1/animals/DE01000/history?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&limit=99999999", 400},
      {"GET", "/api/v1/animals/DE01000/history?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&after=-1", 400},
      {"GET", "/api/v1/animals/DE01000/history?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&after=1e3", 400},
      {"GET", "/api/v1/alerts?kind=flu", 400},
      {"GET", "/api/v1/alerts?priority=super", 400},
      {"GET", "/api/v1/alerts?status=maybe", 400},
      {"GET", "/api/v1/alerts?since=now", 400},
      {"GET", "/api/v1/alerts?bogus=1", 400},
      {"GET", "/api/v1/alerts?kind=fever&kind=estrus", 400},
      {"GET", "/api/v1/alerts?kind=" + std::string(5000, 'x'), 400},
      {"GET", "/api/v1/animals/DE01000/series?hours=1000", 400},
      {"GET", "/api/v1/nothing", 404},
      {"GET", "/etc/passwd", 404},
      {"GET", "/api/v1/animals/DE01000/../../x", 400},
      {"GET", "relative", 400},
      {"DELETE", "/api/v1/alerts", 405},
      {"PUT", "/api/v1/summary", 405},
      {"POST", "/health", 405},
      {"POST", "/api/v1/animals/DE01000/alerts/x/acknowledge", 401},  // no token
  };
  for (const auto& c : cases) {
    auto r = f.call(c.method, c.target);
    INFO(c.method << " " << c.target.substr(0, 120) << " -> " << r.status << " " << r.body.substr(0, 200));
    CHECK(r.status == c.status);
    auto j = json::parse(r.body, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j["error"].is_string());
    CHECK(!j["error"].get<std::string>().empty());
  }
  // Junk in the Authorization header, a wrong token, and a right one with a junk body.
  CHECK(f.call("POST", "/api/v1/animals/DE01000/alerts/x/acknowledge", "Bearer wrong").status == 401);
  CHECK(f.call("POST", "/api/v1/animals/DE01000/alerts/x/acknowledge", std::string("Bearer \x01\xff", 9)).status == 401);
  CHECK(f.call("POST", "/api/v1/animals/DE01000/alerts/x/acknowledge", "Basic " + k_token).status == 401);
  CHECK(f.call("POST", "/api/v1/animals/DE01000/alerts/x/acknowledge", "Bearer " + k_token, "{not json").status == 400);
  CHECK(f.call("POST", "/api/v1/animals/DE01000/alerts/x/acknowledge", "Bearer " + k_token, R"({"by":"vet"})").status ==
        404);  // no such alert
  CHECK(f.call("POST", "/api/v1/animals/DE01000/alerts/x/acknowledge", "Bearer " + k_token, R"({"by":5})").status == 400);
}

TEST_CASE("api: health, and tokens for reads when configured") {
  api_fixture f(2, 1, 1);
  auto h = f.get_json("/health");
  CHECK(h["status"] == "ok");
  CHECK(h["animals"] == 2);
  f.config.token_for_reads = true;
  herd::api::service locked(f.config, *f.pool, nullptr);
  herd::api::request r;
  r.method = "GET";
  r.path = "/api/v1/summary";
  CHECK(locked.handle(r).status == 401);
  r.authorization = "Bearer " + k_token;
  CHECK(locked.handle(r).status == 200);
  r.path = "/";  // the dashboard page itself carries no data
  r.authorization.clear();
  auto page = locked.handle(r);
  CHECK(page.status == 200);
  CHECK(page.content_type.find("text/html") == 0);
  CHECK(page.body.find("uPlot.iife.min.js") != std::string::npos);
}

TEST_CASE("api: a read model that is not there yet answers 503, not a crash") {
  herd::test_support::temp_dir dir;
  herd::api::api_config c;
  c.path = (dir / "missing.db").string();
  herd::api::queries_pool pool(herd::api::make_opener(c), 1);
  herd::api::service svc(c, pool, nullptr);
  herd::api::request r;
  r.method = "GET";
  r.path = "/api/v1/alerts";
  CHECK(svc.handle(r).status == 503);
  r.path = "/health";
  CHECK(svc.handle(r).status == 503);
}
