// Scale-out (issue 9): several herd-projector processes in one consumer group on the dev Kafka
// share one PostgreSQL read model. One consumes, a second joins mid-stream (the partitions are
// split), the first is killed with kill -9 in the middle of the stream, the survivor takes its
// partitions over. The final read model must be identical (canonical digest) to a single
// instance's rebuild of the same topic, and every event counted exactly once: no loss, no
// double count, every gateway resend seen as a duplicate.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <httplib.h>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/child_process.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/postgres_server.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

#include "herd/read_model/digest.hpp"
#include "herd/read_model/pg_store.hpp"
#include "herd_stream.hpp"

namespace ts = herd::test_support;
namespace rm = herd::read_model;
using namespace std::chrono_literals;

namespace {

const std::string k_topic = "herd.events";

std::string projector_binary() { return ts::binary_dir() + "/cloud/projector/herd-projector"; }

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The projector's config: one group, the PostgreSQL read model (or, for the reference rebuild,
// only the Kafka part matters). session.timeout.ms 6000: a killed member's partitions move after
// ~6 s (the mock cluster does not assign with 1000; STACK.md).
void write_config(const std::filesystem::path& path, const std::string& bootstrap,
                  const std::string& conninfo) {
  std::ofstream f(path, std::ios::trunc);
  f << "[projector]\nlog_level = \"info\"\n"
    << "[kafka]\nbootstrap = " << toml_string(bootstrap) << "\n"
    << "topic = \"" << k_topic << "\"\ngroup_id = \"herd-projector-scaleout\"\n"
    << "batch_max = 300\nlinger_ms = 20\nbackoff_min_ms = 50\nbackoff_max_ms = 1000\n"
    << "[kafka.properties]\n\"session.timeout.ms\" = 6000\n\"heartbeat.interval.ms\" = 500\n"
    << "[read_model]\nbackend = \"postgresql\"\nconninfo = " << toml_string(conninfo) << "\n"
    << "[metrics]\nlisten = \"127.0.0.1:0\"\n";
}

// One herd-projector instance: its own dir (ready file, metrics address, log), shared config.
class instance {
 public:
  instance(const std::filesystem::path& dir, const std::string& config, std::string name)
      : dir_(dir / name), name_(std::move(name)) {
    std::filesystem::create_directories(dir_);
    proc_ = std::make_unique<ts::child_process>(
        projector_binary(),
        std::vector<std::string>{"--config", config, "--ready-file", (dir_ / "ready").string(),
                                 "--metrics-address-file", (dir_ / "metrics").string()},
        dir_, std::map<std::string, std::string>{}, "herd-projector.log");
    const bool up = ts::wait_until(
        [&] { return std::filesystem::exists(dir_ / "ready") || !proc_->running(); }, 30s);
    REQUIRE_MESSAGE((up && proc_->running()), (name_ + " did not start:\n" + log()));
    address_ = ts::read_file(dir_ / "metrics");
    while (!address_.empty() && (address_.back() == '\n' || address_.back() == ' ')) address_.pop_back();
  }

  // A counter or gauge from GET /metrics; -1 if the endpoint does not answer.
  long long metric(const std::string& name) {
    const auto colon = address_.rfind(':');
    if (colon == std::string::npos) return -1;
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

  void kill9() { proc_->kill9(); }
  std::optional<int> stop() {
    proc_->signal(SIGTERM);
    return proc_->wait_exit(20s);
  }
  bool running() { return proc_->running(); }
  std::string log() const { return proc_->log_text(); }
  const std::string& name() const { return name_; }

 private:
  std::filesystem::path dir_;
  std::string name_;
  std::unique_ptr<ts::child_process> proc_;
  std::string address_;
};

// Sum of the stored next_offset over all partitions: equals the records produced once the read
// model reflects every one of them.
std::int64_t stored_offsets(rm::store& s) {
  auto p = s.load_progress();
  if (!p.ok()) return -1;
  std::int64_t sum = 0;
  for (const auto& row : *p) sum += row.next_offset;
  return sum;
}

}  // namespace

TEST_CASE("scale-out: projectors in one group share PostgreSQL - join, kill -9, takeover, every event once") {
  ts::temp_dir dir;
  auto kafka = herd::cloud::dev_kafka::start(
      {.brokers = 3,
       .topics = {{k_topic, 6}, {"herd.events.dlq", 1}, {"herd.events.projector.dlq", 1}}});
  REQUIRE_MESSAGE(kafka.ok(), (kafka.ok() ? "" : kafka.err().message));
  const std::string bootstrap = (*kafka)->bootstrap();
  ts::postgres_server pg;
  const std::string db = pg.create_database("shared");
  const std::string config = (dir / "herd-projector.toml").string();
  write_config(config, bootstrap, db);

  // 60 animals, 16 h of readings every 10 min, in four rounds, with resends and late uploads.
  constexpr int animals = 60;
  std::vector<std::vector<herd::pg_test::stream_record>> rounds;
  for (int r = 0; r < 4; ++r) rounds.push_back(herd::pg_test::herd_readings(animals, r * 24, r * 24 + 24));
  std::set<std::string> distinct;
  std::size_t records = 0;
  for (const auto& round : rounds) {
    for (const auto& rec : round) distinct.insert(rec.event_id);
    records += round.size();
  }
  const std::size_t resends = records - distinct.size();
  REQUIRE(resends > 0);

  herd::pg_test::stream_producer producer(bootstrap, k_topic);
  producer.produce(rounds[0]);

  // One instance consumes.
  instance a(dir.path(), config, "a");
  CHECK_MESSAGE(ts::wait_until([&] { return a.metric("herd_projector_applied_total") > 0; }, 30s,
                               50ms),
                a.log());
  producer.produce(rounds[1]);

  // A second joins mid-stream: the group splits the 6 partitions between them.
  instance b(dir.path(), config, "b");
  const bool split = ts::wait_until(
      [&] {
        const auto pa = a.metric("herd_projector_partitions_assigned");
        const auto pb = b.metric("herd_projector_partitions_assigned");
        return pa > 0 && pb > 0 && pa + pb == 6;
      },
      30s, 100ms);
  REQUIRE_MESSAGE(split, ("no split:\n--- a\n" + a.log() + "\n--- b\n" + b.log()));
  producer.produce(rounds[2]);
  CHECK_MESSAGE(ts::wait_until([&] { return b.metric("herd_projector_applied_total") > 0; }, 30s,
                               50ms),
                b.log());
  const long long applied_by_a = a.metric("herd_projector_applied_total");
  CHECK(applied_by_a > 0);

  // kill -9 of the first in the middle of the last round: the survivor takes its partitions.
  producer.produce(rounds[3]);
  a.kill9();
  const bool takeover = ts::wait_until(
      [&] { return b.metric("herd_projector_partitions_assigned") == 6; }, 40s, 100ms);
  REQUIRE_MESSAGE(takeover, ("no takeover:\n" + b.log()));

  auto shared = rm::open_pg_store({.conninfo = db, .application_name = "scale-out-test"});
  REQUIRE_MESSAGE(shared.ok(), (shared.ok() ? "" : shared.err().message));
  const bool caught_up = ts::wait_until(
      [&] { return stored_offsets(**shared) == static_cast<std::int64_t>(records); }, 60s, 100ms);
  REQUIRE_MESSAGE(caught_up, ("read model at " + std::to_string(stored_offsets(**shared)) +
                              " of " + std::to_string(records) + " records\n" + b.log()));
  CHECK(b.stop() == 0);

  // Exactly once, from the read model's own counters and tables.
  auto progress = (*shared)->load_progress();
  REQUIRE(progress.ok());
  std::uint64_t applied = 0, duplicates = 0, dead = 0;
  for (const auto& p : *progress) {
    applied += p.applied;
    duplicates += p.duplicates;
    dead += p.dead_lettered;
  }
  CHECK(applied == distinct.size());
  CHECK(duplicates == resends);
  CHECK(dead == 0);
  auto stats = (*shared)->stats();
  REQUIRE(stats.ok());
  CHECK(stats->events == distinct.size());
  CHECK(stats->animals == animals);

  // The reference: one instance's rebuild of the same topic (into SQLite; the digest does not
  // depend on the back-end).
  const std::string ref = (dir / "reference.db").string();
  ts::child_process rebuild(projector_binary(),
                            {"--config", config, "rebuild", "--from", "topic", "--into", ref},
                            dir.path(), {}, "rebuild.log");
  REQUIRE_MESSAGE(rebuild.wait_exit(90s) == 0, rebuild.log_text());
  ts::child_process digest_tool(projector_binary(), {"digest", "--db", ref}, dir.path(), {},
                                "digest.log");
  REQUIRE(digest_tool.wait_exit(30s) == 0);
  std::istringstream words(digest_tool.log_text());
  std::string reference_digest;
  words >> reference_digest;
  auto got = rm::digest(**shared);
  REQUIRE(got.ok());
  CHECK(got->events == distinct.size());
  CHECK(got->animals == animals);
  CHECK(got->hex == reference_digest);
}
