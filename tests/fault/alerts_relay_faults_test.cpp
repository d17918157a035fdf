// herd.alerts exactly once across projector crashes: the real herd-projector binary consumes a
// stream that keeps raising and resolving alerts, is killed with kill -9 at random moments (while
// it applies batches, writes the outbox and relays it), and in the end every alert lifecycle
// event the event store implies is in herd.alerts exactly once (by ce_id, and as raw records),
// in order per animal.
#include <doctest/doctest.h>

#include <random>
#include <set>
#include <thread>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

#include "../integration/alert_stream.hpp"
#include "../integration/projector_process.hpp"

using namespace herd;
using namespace std::chrono_literals;

TEST_CASE("herd.alerts: kill -9 at 12 random moments while it applies and relays: every lifecycle event exactly once, in order per animal") {
  test_support::temp_dir dir;
  auto kafka = cloud::dev_kafka::start();
  REQUIRE(kafka.ok());
  test::bulk_producer producer((*kafka)->bootstrap(), "herd.events");
  // Each start joins a fresh consumer group: the read model holds the offsets, and a new group
  // needs no wait for the killed member's session to time out, so every kill lands while the
  // projector applies batches, writes the outbox and relays it.
  const auto projector = [&](int n) {
    test::projector_settings ps((*kafka)->bootstrap(), dir.path());
    ps.group_id = "alerts-kill-" + std::to_string(n);
    ps.batch_max = 60;  // many small transactions
    ps.linger_ms = 5;
    ps.extra = "[alerts]\nmax_in_flight = 50\n";
    return std::make_unique<test::projector_process>(ps);
  };

  // 24 animals x 30 h of readings: ~4,000 records, hundreds of alert changes.
  const auto stream = test::alert_storm(24, 30, 1'780'000'000'000);
  const int kills = 12;
  std::mt19937 rng(20261130);
  std::uniform_int_distribution<int> pause_ms(0, 150);
  std::size_t sent = 0;
  std::uint64_t applied_before = 0;
  int killed_while_applying = 0;
  for (int k = 0; k < kills; ++k) {
    const std::size_t end = stream.size() * static_cast<std::size_t>(k + 1) / static_cast<std::size_t>(kills);
    producer.produce({stream.begin() + static_cast<std::ptrdiff_t>(sent), stream.begin() + static_cast<std::ptrdiff_t>(end)});
    sent = end;
    auto proj = projector(k);
    proj->start();
    // Wait until it works, then kill it at a random moment.
    test_support::wait_until([&] { return proj->applied() > applied_before; }, 20s, 20ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    proj->kill9();
    const auto now = proj->applied();
    killed_while_applying += now < sent;
    applied_before = now;
  }
  auto proj = projector(kills);
  proj->start();
  const auto drained = [&] {
    if (proj->applied() < stream.size()) return false;
    auto rm = proj->open_read_model();
    auto st = rm ? rm->stats() : herd::core::result<read_model::store_stats>(core::error::retriable("no db"));
    return st.ok() && st->outbox == 0;
  };
  const bool all = test_support::wait_until(drained, 120s, 100ms);
  INFO(proj->log_text());
  REQUIRE(all);
  CHECK(proj->stop() == 0);
  // How often a restart found rows Kafka had acknowledged but the killed relay had not deleted.
  std::size_t recovered = 0;
  {
    const std::string log = proj->log_text();
    for (auto at = log.find("acknowledged before a crash"); at != std::string::npos;
         at = log.find("acknowledged before a crash", at + 1)) {
      ++recovered;
    }
  }
  MESSAGE(killed_while_applying, " of ", kills, " kills landed before the records produced so far were all applied; ",
          recovered, " restarts found acknowledged rows left in the outbox (deleted, not resent)");

  auto rm = proj->open_read_model();
  const auto expected = test::reference_alert_messages(*rm, (dir.path() / "reference.db").string());
  REQUIRE(expected.size() > 200);

  test_support::kafka_reader reader((*kafka)->bootstrap(), "herd.alerts");
  reader.read_until([&](const auto& r) { return r.size() >= expected.size(); }, 60s);
  // Anything more (a duplicate) arrives within a moment too.
  reader.read_until([](const auto&) { return false; }, 1500ms);
  const auto got = test::messages_of(reader.records());

  std::set<std::string> unique;
  std::size_t raw_duplicates = 0;
  for (const auto& m : got) {
    if (!unique.insert(m.ce_id).second) ++raw_duplicates;
  }
  std::set<std::string> want;
  for (const auto& m : expected) want.insert(m.ce_id);
  MESSAGE("herd.alerts after ", kills, " kills: ", got.size(), " records, ", expected.size(),
          " expected lifecycle events, raw duplicates ", raw_duplicates);
  CHECK(unique == want);          // none lost, none invented (by ce_id)
  CHECK(raw_duplicates == 0);     // and no raw duplicate record either
  CHECK(test::by_key(got) == test::by_key(expected));  // in order per animal
  // Every record carries the CloudEvents headers.
  for (const auto& r : reader.records()) {
    REQUIRE(r.header("ce_specversion") == std::optional<std::string>("1.0"));
    REQUIRE(r.header("ce_subject") == std::optional<std::string>(r.key));
    REQUIRE(r.header("content-type") == std::optional<std::string>("application/x-protobuf"));
    REQUIRE(r.header("ce_time").has_value());
    REQUIRE(r.header("herd_outbox_seq").has_value());
  }
}
