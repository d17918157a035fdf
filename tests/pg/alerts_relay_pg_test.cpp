// The herd.alerts relay with several projectors on one PostgreSQL read model: one instance holds
// the relay lease (advisory lock) and relays; when it is killed with kill -9 the survivor takes
// the lease and the partitions. Every alert lifecycle event the event store implies is in
// herd.alerts exactly once (by ce_id and as raw records), in order per animal.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>

#include <httplib.h>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/child_process.hpp>
#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/postgres_server.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

#include "../integration/alert_stream.hpp"
#include "herd/read_model/pg_store.hpp"

namespace ts = herd::test_support;
using namespace std::chrono_literals;

namespace {

struct projector {
  projector(const std::filesystem::path& dir, const std::string& config, const std::string& name) : dir_(dir / name) {
    std::filesystem::create_directories(dir_);
    proc = std::make_unique<ts::child_process>(
        ts::binary_dir() + "/cloud/projector/herd-projector",
        std::vector<std::string>{"--config", config, "--ready-file", (dir_ / "ready").string(),
                                 "--metrics-address-file", (dir_ / "metrics").string()},
        dir_, std::map<std::string, std::string>{}, "herd-projector.log");
    REQUIRE(ts::wait_until([&] { return std::filesystem::exists(dir_ / "ready") || !proc->running(); }, 30s));
    REQUIRE_MESSAGE(proc->running(), proc->log_text());
    std::ifstream in(dir_ / "metrics");
    in >> address_;
  }
  long long metric(const std::string& name) {
    const auto colon = address_.rfind(':');
    httplib::Client cli(address_.substr(0, colon), std::stoi(address_.substr(colon + 1)));
    cli.set_connection_timeout(1);
    cli.set_read_timeout(2);
    auto res = cli.Get("/metrics");
    if (!res || res->status != 200) return -1;
    std::istringstream lines(res->body);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) == 0) return std::stoll(line.substr(name.size() + 1));
    }
    return -1;
  }
  std::unique_ptr<ts::child_process> proc;

 private:
  std::filesystem::path dir_;
  std::string address_;
};

}  // namespace

TEST_CASE("herd.alerts on PostgreSQL: one relay per read model, kill -9 of the holder, the survivor relays, each event once") {
  ts::temp_dir dir;
  auto kafka = herd::cloud::dev_kafka::start(
      {.brokers = 1,
       .topics = {{"herd.events", 6}, {"herd.events.projector.dlq", 1}, {"herd.alerts", 6}}});
  REQUIRE(kafka.ok());
  ts::postgres_server pg;
  const std::string db = pg.create_database("relay");
  const std::string config = (dir / "herd-projector.toml").string();
  {
    std::ofstream f(config);
    f << "[kafka]\nbootstrap = \"" << (*kafka)->bootstrap() << "\"\ngroup_id = \"relay-pg\"\n"
      << "batch_max = 100\nlinger_ms = 10\nbackoff_min_ms = 50\nbackoff_max_ms = 1000\n"
      << "[kafka.properties]\n\"session.timeout.ms\" = 6000\n\"heartbeat.interval.ms\" = 500\n"
      << "[read_model]\nbackend = \"postgresql\"\nconninfo = \"" << db << "\"\n"
      << "[alerts]\nmax_in_flight = 50\n[metrics]\nlisten = \"127.0.0.1:0\"\n";
  }
  herd::test::bulk_producer producer((*kafka)->bootstrap(), "herd.events");
  const auto stream = herd::test::alert_storm(24, 30, 1'780'000'000'000);
  const auto half = static_cast<std::ptrdiff_t>(stream.size() / 2);
  producer.produce({stream.begin(), stream.begin() + half});

  auto a = std::make_unique<projector>(dir.path(), config, "a");
  auto b = std::make_unique<projector>(dir.path(), config, "b");
  // Exactly one of them holds the lease and relays.
  REQUIRE(ts::wait_until(
      [&] { return a->metric("herd_alerts_relay_relayed_total") + b->metric("herd_alerts_relay_relayed_total") > 0; },
      60s, 100ms));
  const auto la = a->metric("herd_alerts_relay_leader"), lb = b->metric("herd_alerts_relay_leader");
  CHECK(la + lb == 1);
  auto& holder = la == 1 ? a : b;
  auto& survivor = la == 1 ? b : a;
  CHECK(survivor->metric("herd_alerts_relay_relayed_total") == 0);

  producer.produce({stream.begin() + half, stream.end()});
  REQUIRE(ts::wait_until([&] { return holder->metric("herd_alerts_relay_relayed_total") > 50; }, 30s, 20ms));
  holder->proc->kill9();  // its PostgreSQL session ends: the lease is free
  REQUIRE(ts::wait_until([&] { return survivor->metric("herd_alerts_relay_leader") == 1; }, 20s, 100ms));

  auto shared = herd::read_model::open_pg_store({.conninfo = db, .application_name = "relay-test"});
  REQUIRE(shared.ok());
  const bool done = ts::wait_until(
      [&] {
        auto p = (*shared)->load_progress();
        auto st = (*shared)->stats();
        if (!p.ok() || !st.ok()) return false;
        std::uint64_t applied = 0;
        for (const auto& row : *p) applied += row.applied;
        return applied == stream.size() && st->outbox == 0;
      },
      90s, 200ms);
  REQUIRE_MESSAGE(done, survivor->proc->log_text());
  survivor->proc->signal(SIGTERM);
  CHECK(survivor->proc->wait_exit(20s) == 0);

  const auto expected = herd::test::reference_alert_messages(**shared, (dir / "reference.db").string());
  REQUIRE(expected.size() > 200);
  ts::kafka_reader reader((*kafka)->bootstrap(), "herd.alerts");
  reader.read_until([&](const auto& r) { return r.size() >= expected.size(); }, 60s);
  reader.read_until([](const auto&) { return false; }, 1500ms);
  const auto got = herd::test::messages_of(reader.records());
  std::set<std::string> unique, want;
  std::size_t raw_duplicates = 0;
  for (const auto& m : got) raw_duplicates += !unique.insert(m.ce_id).second;
  for (const auto& m : expected) want.insert(m.ce_id);
  MESSAGE("PostgreSQL, 2 projectors, the relay holder killed: ", got.size(), " records, ", expected.size(),
          " expected, raw duplicates ", raw_duplicates);
  CHECK(unique == want);
  CHECK(raw_duplicates == 0);
  CHECK(herd::test::by_key(got) == herd::test::by_key(expected));
}
