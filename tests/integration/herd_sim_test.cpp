// The realistic herd (herd-sim --model herd) against the real gateway: every well-formed reading
// it sends - live, late in a batch after an offline gap, from a fallen or moved collar, without a
// temperature - is stored once and reaches Kafka under the animal the registry names at its
// time; duplicates are stored once; malformed frames are dead-lettered.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include <google/protobuf/util/time_util.h>
#include <herd/test_support/kafka_reader.hpp>

#include "event_checks.hpp"
#include "herd/gateway/registry.hpp"
#include "herd/sensors/collar_format.hpp"
#include "rig.hpp"

using namespace herd;
using namespace std::chrono_literals;

TEST_CASE("the realistic herd with device faults: the gateway stores every valid reading once, dead-letters the rest") {
  constexpr int animals = 60;
  test::rig rig(animals);
  const std::vector<std::string> herd = {"--model", "herd", "--collars", std::to_string(animals), "--days", "2",
                                         "--seed", "31", "--duplicate-pct", "2", "--malformed-pct", "1",
                                         "--offline-per-day", "0.5", "--fall-off-per-year", "60",
                                         "--move-per-year", "30"};
  // The herd's registry (with its collar moves) replaces the rig's before the gateway starts.
  auto reg_args = herd;
  reg_args.insert(reg_args.end(), {"--count", "0", "--registry-out", rig.registry_path});
  REQUIRE(rig.run_sim(reg_args, 20s) == 0);
  rig.gateway->start();

  const auto sent_path = (rig.dir / "sent.jsonl").string();
  const auto truth_path = (rig.dir / "truth.jsonl").string();
  auto run_args = herd;
  run_args.insert(run_args.end(), {"--flood", "--json-out", sent_path, "--ground-truth-out", truth_path});
  REQUIRE(rig.run_sim(run_args, 120s) == 0);

  // What the sim sent: distinct valid readings (collar, seq, ts) and malformed frames.
  std::set<std::tuple<std::string, std::uint32_t, std::int64_t>> valid;
  std::size_t malformed = 0, sent = 0, without_temp = 0;
  {
    std::ifstream in(sent_path);
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      ++sent;
      auto r = sensors::decode_collar_message(j["topic"].get<std::string>(), j["payload"].get<std::string>());
      if (!r.ok()) {
        ++malformed;
        continue;
      }
      without_temp += !r->temp_c.has_value();
      valid.emplace(r->collar_id, r->seq, r->ts_ms);
    }
  }
  std::map<std::string, int> kinds;
  {
    std::ifstream in(truth_path);
    for (std::string line; std::getline(in, line);) ++kinds[nlohmann::json::parse(line)["kind"].get<std::string>()];
  }
  MESSAGE("sent " << sent << ", distinct valid " << valid.size() << ", malformed " << malformed << ", without temp "
                  << without_temp << "; offline gaps " << kinds["offline"] << ", falls " << kinds["fall_off"]
                  << ", moves " << kinds["collar_move"]);
  REQUIRE(sent > valid.size() + malformed);  // some duplicates
  REQUIRE(malformed > 0);
  REQUIRE(kinds["offline"] > 0);
  REQUIRE(kinds["fall_off"] > 0);
  REQUIRE(kinds["collar_move"] > 0);

  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  const bool all = test::read_distinct(reader, valid.size(), 120s);
  test_support::kafka_reader dlq(rig.kafka->bootstrap(), "herd.events.dlq");
  const bool dead = dlq.read_until([&](const auto& r) { return r.size() >= malformed; }, 60s);
  INFO(rig.gateway->log_text());
  REQUIRE(all);
  REQUIRE(dead);
  CHECK(rig.gateway->running());

  const auto events = test::decode_all(reader.records());
  auto registry = gateway::collar_registry::load_csv(rig.registry_path);
  REQUIRE(registry.ok());
  std::set<std::string> ids;
  std::set<std::tuple<std::string, std::uint32_t, std::int64_t>> got;
  std::map<std::pair<std::string, std::string>, std::uint32_t> last_seq;  // (animal, collar)
  std::set<std::string> animals_seen;
  int order_violations = 0;
  std::size_t stored_without_temp = 0;
  for (const auto& e : events) {
    // The contract check expects a temperature; a fallen collar in a cold barn sends none.
    if (e.reading.has_body_temp_c()) test::check_contract(e, "it-gw", reader.partition_count());
    if (!ids.insert(e.envelope.event_id()).second) continue;  // a resend keeps its event_id
    stored_without_temp += !e.reading.has_body_temp_c();
    const auto at = google::protobuf::util::TimeUtil::TimestampToMilliseconds(e.envelope.occurred_at());
    got.emplace(e.reading.collar_id(), e.reading.collar_seq(), at);
    CHECK(e.envelope.aggregate_id() == *registry->animal_at(e.reading.collar_id(), at));
    animals_seen.insert(e.envelope.aggregate_id());
    // Per animal and collar, in partition order, seqs only increase (batches keep their order).
    auto [it, first] = last_seq.emplace(std::pair{e.envelope.aggregate_id(), e.reading.collar_id()}, e.reading.collar_seq());
    if (!first) {
      order_violations += e.reading.collar_seq() <= it->second;
      it->second = e.reading.collar_seq();
    }
  }
  CHECK(ids.size() == valid.size());  // duplicates stored once
  CHECK(got == valid);
  CHECK(order_violations == 0);
  CHECK(stored_without_temp > 0);
  CHECK(stored_without_temp <= without_temp);  // duplicates among those sent
  CHECK(animals_seen.size() == static_cast<std::size_t>(animals));
  CHECK(dlq.records().size() == malformed);
  CHECK(rig.gateway->stop() == 0);
}
