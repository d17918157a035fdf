// herd-api against a running pipeline: the dev Kafka cluster, herd-projector (a real process)
// folding herd.events into a SQLite read model, and herd-api's service + HTTP server reading it.
// Acknowledgement (a command event through Kafka, applied by the projector, kept by a rebuild),
// the dashboard in a real headless Chromium, and the herd-alerts CLI.
#include <doctest/doctest.h>
#include <httplib.h>
#include <librdkafka/rdkafka.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api_data.hpp"
#include "herd/alerts/acknowledge.hpp"
#include "herd/api/server.hpp"
#include "herd/api/service.hpp"
#include "herd/read_model/sqlite_queries.hpp"
#include "herd/test_support/child_process.hpp"
#include "herd/test_support/paths.hpp"
#include "herd/test_support/wait_until.hpp"
#include "projector_rig.hpp"

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string k_token = "pipeline-token-0123456789";

// Produces all records keyed by animal (murmur2_random, as the gateway does), one flush.
void produce_all(const std::string& bootstrap, const std::vector<herd::projector::record>& records) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "partitioner", "murmur2_random", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
  rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(p != nullptr);
  rd_kafka_topic_t* t = rd_kafka_topic_new(p, "herd.events", nullptr);
  for (const auto& r : records) {
    while (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(r.value.data()),
                            r.value.size(), r.key.data(), r.key.size(), nullptr) != 0) {
      rd_kafka_poll(p, 10);
    }
  }
  rd_kafka_topic_destroy(t);
  REQUIRE(rd_kafka_flush(p, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(p);
}

std::vector<herd::read_model::alert_row> alerts_in(const std::string& db) {
  auto q = herd::read_model::open_sqlite_queries({.path = db});
  if (!q) return {};
  herd::read_model::alert_filter f;
  auto rows = (*q)->alerts(f);
  return rows ? *rows : std::vector<herd::read_model::alert_row>{};
}

const herd::read_model::alert_row* find_alert(const std::vector<herd::read_model::alert_row>& rows,
                                              const std::string& animal, const std::string& kind) {
  for (const auto& r : rows) {
    if (r.animal_id == animal && r.kind == kind) return &r;
  }
  return nullptr;
}

// The rig, the herd streamed through it, and herd-api serving on a free loopback port.
struct pipeline {
  herd::test::projector_rig rig;
  herd::api_test::herd_data data = herd::api_test::make_herd(16, 30, 1);
  std::unique_ptr<herd::alerts::acknowledger> ack;
  herd::api::api_config config;
  std::unique_ptr<herd::api::queries_pool> pool;
  std::unique_ptr<herd::api::service> svc;
  std::unique_ptr<herd::api::http_server> server;
  std::thread thread;
  std::uint16_t port = 0;

  pipeline() {
    rig.proj->start();
    produce_all(rig.kafka->bootstrap(), data.records);
    REQUIRE(herd::test_support::wait_until([&] { return rig.proj->applied() >= data.records.size(); }, 30s, 20ms));
    config.path = rig.proj->db_path();
    config.token = k_token;
    config.bootstrap = rig.kafka->bootstrap();
    herd::alerts::acknowledger_options o;
    o.bootstrap = rig.kafka->bootstrap();
    auto a = herd::alerts::acknowledger::create(o);
    REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.err().message));
    ack = std::move(*a);
    pool = std::make_unique<herd::api::queries_pool>(herd::api::make_opener(config), 4);
    svc = std::make_unique<herd::api::service>(config, *pool, ack.get());
    server = std::make_unique<herd::api::http_server>(*svc, 4);
    auto p = server->bind("127.0.0.1", 0);
    REQUIRE(p.ok());
    port = *p;
    thread = std::thread([this] { server->run(); });
  }
  ~pipeline() {
    server->stop();
    if (thread.joinable()) thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

// Runs a program to completion; {exit status, stdout+stderr}.
std::pair<int, std::string> run(const std::string& program, const std::vector<std::string>& args,
                                 const std::filesystem::path& dir, const std::string& log,
                                 std::chrono::milliseconds deadline = 60s) {
  herd::test_support::child_process p(program, args, dir, {}, log);
  const auto st = p.wait_exit(deadline);
  if (!st) p.kill9();
  return {st.value_or(-1), p.log_text()};
}

}  // namespace

TEST_CASE("api pipeline: an acknowledgement is a command event, applied by the projector, kept by a rebuild") {
  pipeline p;
  const auto before = alerts_in(p.config.path);
  const auto* battery = find_alert(before, "DE01001", "low_battery");
  REQUIRE(battery != nullptr);
  CHECK(!battery->acknowledged_at_us);
  const std::string alert_id = battery->alert_id;

  httplib::Client c(p.url());
  const std::string path = "/api/v1/animals/DE01001/alerts/" + httplib::detail::encode_query_param(alert_id) + "/acknowledge";
  const std::string body = R"({"by":"vet Dr. Maier","note":"collar battery swapped"})";
  auto no_token = c.Post(path, body, "application/json");
  REQUIRE(no_token);
  CHECK(no_token->status == 401);
  auto r = c.Post(path, {{"Authorization", "Bearer " + k_token}}, body, "application/json");
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 202);
  CHECK(json::parse(r->body)["status"] == "accepted");

  // The projector consumes the event from herd.events and folds it into the alert.
  REQUIRE(herd::test_support::wait_until(
      [&] {
        const auto rows = alerts_in(p.config.path);
        const auto* a = find_alert(rows, "DE01001", "low_battery");
        return a != nullptr && a->acknowledged_at_us.has_value();
      },
      20s, 20ms));
  auto list = c.Get("/api/v1/alerts?kind=low_battery");
  REQUIRE(list);
  const json j = json::parse(list->body);
  REQUIRE(j["alerts"].size() == 1);
  CHECK(j["alerts"][0]["acknowledged_by"] == "vet Dr. Maier");
  // A second acknowledgement is refused (409) rather than silently ignored by the fold.
  auto again = c.Post(path, {{"Authorization", "Bearer " + k_token}}, body, "application/json");
  REQUIRE(again);
  CHECK(again->status == 409);

  // A rebuild from the event store, and one from the topic, keep the acknowledgement.
  for (const char* from : {"store", "topic"}) {
    const std::string into = (p.rig.dir / (std::string("rebuilt-") + from + ".db")).string();
    auto [rc, out] = herd::test::run_projector_tool(
        {"rebuild", "--from", from, "--into", into, "--config", p.rig.proj->config_path()}, p.rig.dir.path());
    INFO(out);
    REQUIRE(rc == 0);
    const auto rows = alerts_in(into);
    const auto* a = find_alert(rows, "DE01001", "low_battery");
    REQUIRE(a != nullptr);
    CHECK(a->alert_id == alert_id);
    CHECK(a->acknowledged_at_us.has_value());
    CHECK(a->body.find("vet Dr. Maier") != std::string::npos);
  }
}

TEST_CASE("api pipeline: the dashboard renders alerts and plots in headless Chromium, herd-alerts lists them") {
  pipeline p;
  const auto rows = alerts_in(p.config.path);
  REQUIRE(find_alert(rows, "DE01001", "low_battery") != nullptr);
  REQUIRE(find_alert(rows, "DE01003", "fever") != nullptr);

  // Chromium runs the page's JavaScript (fetch + uPlot) and dumps the DOM it built.
  const std::filesystem::path artifacts = herd::test_support::binary_dir() + "/test-artifacts";
  std::filesystem::create_directories(artifacts);
  const std::vector<std::string> common = {"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                           "--disable-dev-shm-usage", "--user-data-dir=" + (p.rig.dir / "chromium").string(),
                                           "--virtual-time-budget=20000", "--window-size=1280,2200"};
  auto args = common;
  args.push_back("--dump-dom");
  args.push_back(p.url() + "/");
  auto [rc, dom] = run("/usr/bin/chromium", args, p.rig.dir.path(), "chromium-dom.log", 90s);
  INFO(dom.substr(0, 4000));
  REQUIRE(rc == 0);
  CHECK(dom.find("data-ready=\"1\"") != std::string::npos);
  CHECK(dom.find("<tr class=\"alert info\" data-alert-id=\"DE01001:low_battery") != std::string::npos);  // by priority
  CHECK(dom.find("data-alert-id=\"DE01003:fever") != std::string::npos);
  CHECK(dom.find("class=\"device\" data-animal=\"DE01002\"") != std::string::npos);   // offline collar
  CHECK(dom.find("class=\"plot\" data-animal=\"DE01003\"") != std::string::npos);     // plots drawn...
  CHECK(dom.find("<canvas") != std::string::npos);                                     // ...by uPlot
  CHECK(dom.find("not updated") == std::string::npos);
  args = common;
  args.push_back("--screenshot=" + (artifacts / "dashboard.png").string());
  args.push_back(p.url() + "/");
  auto shot = run("/usr/bin/chromium", args, p.rig.dir.path(), "chromium-shot.log", 90s);
  CHECK(shot.first == 0);
  CHECK(std::filesystem::file_size(artifacts / "dashboard.png") > 10'000);

  // The CLI: a table, JSON, one animal.
  const std::string cli = herd::test_support::binary_dir() + "/cloud/api/herd-alerts";
  auto [t_rc, table] = run(cli, {"--url", p.url()}, p.rig.dir.path(), "cli-table.log");
  INFO(table);
  CHECK(t_rc == 0);
  CHECK(table.find("PRIORITY") != std::string::npos);
  CHECK(table.find("low_battery") != std::string::npos);
  CHECK(table.find("DE01003") != std::string::npos);
  auto [j_rc, js] = run(cli, {"--url", p.url(), "--json", "alerts", "--kind", "fever"}, p.rig.dir.path(), "cli-json.log");
  CHECK(j_rc == 0);
  const json j = json::parse(js, nullptr, false);
  REQUIRE(j.is_object());
  REQUIRE(!j["alerts"].empty());
  for (const auto& a : j["alerts"]) CHECK(a["kind"] == "fever");
  auto [a_rc, animal] = run(cli, {"--url", p.url(), "animal", "DE01003"}, p.rig.dir.path(), "cli-animal.log");
  CHECK(a_rc == 0);
  CHECK(animal.find("ALERT") != std::string::npos);
  auto [u_rc, unknown] = run(cli, {"--url", p.url(), "animal", "DE09999"}, p.rig.dir.path(), "cli-unknown.log");
  CHECK(u_rc == 1);
  CHECK(unknown.find("unknown animal") != std::string::npos);
}
