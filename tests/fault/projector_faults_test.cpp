// herd-projector under faults: kill -9 at random moments while the gateway streams (the read model
// must equal a rebuild, every event counted once), and its own database unavailable (backpressure:
// nothing dead-lettered, everything applied once it is back).
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <random>
#include <thread>

#include <herd/test_support/wait_until.hpp>

#include "../integration/http_probe.hpp"
#include "../integration/projector_process.hpp"
#include "../integration/projector_rig.hpp"
#include "../integration/rig.hpp"
#include "../unit/cloud/envelopes.hpp"

using namespace herd;
using namespace std::chrono_literals;

TEST_CASE("projector: kill -9 at 10 random moments while the herd streams: the read model equals the rebuild") {
  test::rig rig(30);
  rig.gateway->start();
  test::projector_settings ps(rig.kafka->bootstrap(), rig.dir.path());
  ps.batch_max = 200;
  test::projector_process proj(ps);
  constexpr int total = 4000;
  auto sim = rig.start_sim({"--collars", "30", "--count", std::to_string(total), "--rate", "300", "--seed", "23"});
  std::mt19937 rng(20261130);
  std::uniform_int_distribution<int> pause_ms(150, 900);
  int kills = 0;
  for (; kills < 10; ++kills) {
    proj.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));  // a random moment
    proj.kill9();
  }
  proj.start();
  const bool all = test_support::wait_until([&] { return proj.applied() >= total; }, 120s, 100ms);
  INFO(proj.log_text());
  REQUIRE(all);
  CHECK(sim->wait_exit(30s) == 0);
  CHECK(proj.stop() == 0);
  CHECK(kills == 10);

  auto rm = proj.open_read_model();
  auto p = rm->load_progress();
  REQUIRE(p.ok());
  std::uint64_t applied = 0;
  for (const auto& pp : *p) applied += pp.applied;
  CHECK(applied == total);  // every event counted exactly once across 10 crashes
  auto st = rm->stats();
  REQUIRE(st.ok());
  CHECK(st->events == total);

  const auto rebuilt = (rig.dir / "rebuilt.db").string();
  auto [rc, out] = test::run_projector_tool({"rebuild", "--from", "topic", "--into", rebuilt, "--config", proj.config_path()},
                                            rig.dir.path());
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(test::digest_of(rebuilt) == test::digest_of(proj.db_path()));
}

TEST_CASE("projector: its database locked is backpressure, never a dead letter") {
  test::projector_rig pr;
  pr.proj->start();
  test_envelopes::reading r;
  r.animal = "DE01000";
  r.collar = "C1";
  auto put = [&](int n) {
    r.event_id = "e-" + std::to_string(n);
    r.seq = static_cast<std::uint32_t>(n);
    r.occurred_ms = 1'780'000'000'000 + std::int64_t{n} * 600'000;
    pr.produce(r.animal, test_envelopes::collar_envelope(r));
  };
  put(1);
  REQUIRE(test_support::wait_until([&] { return pr.proj->applied() == 1; }, 30s, 50ms));

  // Another process holds the write lock: the projector's transactions fail (SQLITE_BUSY).
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(pr.proj->db_path().c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  for (int n = 2; n <= 20; ++n) put(n);
  const auto addr = pr.proj->metrics_address();
  const bool degraded = test_support::wait_until(
      [&] {
        auto h = test::http_get(addr, "/health");
        return h && h->status == 503;
      },
      30s, 100ms);
  auto m = test::http_get(addr, "/metrics");
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  INFO(pr.proj->log_text());
  CHECK(degraded);
  REQUIRE(m.has_value());
  CHECK(test::sample(m->body, "herd_projector_dead_lettered_total") == 0);
  CHECK(test::sample(m->body, "herd_projector_store_errors_total") >= 1);

  REQUIRE(test_support::wait_until([&] { return pr.proj->applied() == 20; }, 60s, 50ms));
  CHECK(test_support::wait_until(
      [&] {
        auto h = test::http_get(addr, "/health");
        return h && h->status == 200;
      },
      10s, 100ms));
  CHECK(pr.proj->stop() == 0);
}
