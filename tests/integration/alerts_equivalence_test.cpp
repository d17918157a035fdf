// The projector raises the same alerts as the direct run: a small realistic herd (herd-sim
// --model herd) goes mosquitto -> herdgate -> dev Kafka -> herd-projector -> outbox -> relay ->
// herd.alerts, and the same herd is folded in-process by herd-eval's run (eval_run.hpp) driven as
// the projector drives the rules (per-partition watermarks, murmur2 partitions). Every animal's
// sequence of alert lifecycle events (by ce_id) must be identical.
#include <doctest/doctest.h>

#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/wait_until.hpp>

#include "alert_stream.hpp"
#include "eval_run.hpp"
#include "herd/core/time_format.hpp"
#include "herd/sim/herd.hpp"
#include "projector_process.hpp"
#include "rig.hpp"

using namespace herd;
using namespace std::chrono_literals;

TEST_CASE("herd.alerts: the projector fed through mosquitto, herdgate and Kafka raises the same alerts as the direct run") {
  constexpr int animals = 24;
  constexpr int days = 12;
  const std::string start = "2026-06-01T00:00:00Z";
  const std::string seed = "7";
  test::rig rig(animals);
  const std::vector<std::string> herd_args = {"--model", "herd", "--collars", std::to_string(animals), "--days",
                                              std::to_string(days), "--seed", seed, "--start", start};
  auto reg_args = herd_args;
  reg_args.insert(reg_args.end(), {"--count", "0", "--registry-out", rig.registry_path});
  REQUIRE(rig.run_sim(reg_args, 20s) == 0);
  rig.gateway->start();
  test::projector_settings ps(rig.kafka->bootstrap(), rig.dir.path());
  test::projector_process proj(ps);
  proj.start();

  auto run_args = herd_args;
  run_args.push_back("--flood");
  REQUIRE(rig.run_sim(run_args, 60s) == 0);

  // The direct run: the same herd, folded in-process as the projector folds it.
  sim::herd_options o;
  o.animals = animals;
  o.days = days;
  o.seed = std::stoull(seed);
  o.start_ms = *core::parse_iso8601_utc(start);
  sim::herd h(o);
  eval::run_options ro;
  ro.partitions = 6;  // herd.events in the dev cluster
  ro.as_projector = true;
  const auto direct = eval::run_herd(h, ro);
  REQUIRE(direct.applied > 0);
  REQUIRE(direct.lifecycle.size() >= 5);

  // Done when everything is applied and relayed (or, on a mismatch, when nothing moved for 5 s).
  std::uint64_t last = 0;
  auto last_change = std::chrono::steady_clock::now();
  const bool settled = test_support::wait_until(
      [&] {
        const auto n = proj.applied();
        if (n != last) {
          last = n;
          last_change = std::chrono::steady_clock::now();
        }
        auto rm = proj.open_read_model();
        auto st = rm ? rm->stats() : core::result<read_model::store_stats>(core::error::retriable("no db"));
        const bool relayed = st.ok() && st->outbox == 0;
        return relayed && (n >= direct.applied || std::chrono::steady_clock::now() - last_change > 5s);
      },
      150s, 100ms);
  INFO(proj.log_text());
  REQUIRE(settled);
  INFO("direct run: ", direct.messages, " messages, ", direct.applied, " applied, ", direct.duplicates,
       " duplicates, ", direct.undecodable, " undecodable, ", direct.unassigned, " unassigned");
  REQUIRE(proj.applied() == direct.applied);

  std::vector<test::alert_message> expected;
  for (const auto& e : direct.lifecycle) expected.push_back({e.event_id, e.animal_id, ""});
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.alerts");
  reader.read_until([&](const auto& r) { return r.size() >= expected.size(); }, 30s);
  reader.read_until([](const auto&) { return false; }, 1000ms);
  const auto got = test::messages_of(reader.records());
  std::map<std::string, std::uint64_t> kinds;
  for (const auto& m : got) ++kinds[m.type];
  MESSAGE(animals, " head x ", days, " days: ", direct.applied, " readings, ", expected.size(),
          " lifecycle events in the direct run, ", got.size(), " in herd.alerts; raised ", kinds["alert.raised.v1"],
          ", resolved ", kinds["alert.resolved.v1"], ", updated ", kinds["alert.updated.v1"]);
  CHECK(got.size() == expected.size());
  CHECK(test::by_key(got) == test::by_key(expected));

  auto rm = proj.open_read_model();
  auto st = rm->stats();
  REQUIRE(st.ok());
  CHECK(st->alerts == direct.raised.size());
  CHECK(proj.stop() == 0);
}
