// The drain planner, table-driven: each case is a script of steps against a planner with a manual
// clock, with the expected answer after '='. Cases named with a commit fixed that drain bug in the
// loop before the planner was its own unit (git log -- forwarder/src/forwarder.cpp).
//
// Steps (';' separated):
//   start <newest> <key>:<last seq> ...     a drain of the backlog up to seq <newest>
//   start_after <cursor> <newest> <key>:<last seq> ...   the same, split with the loop at <cursor>
//   step <newest> <cursor> <in_flight> = in_order|wait|split   (with the latest successful report)
//   acked                                   a successful delivery report now
//   live <key> <seq> = hold|go              a live row: held, or handed on (live_passed)
//   backlog <key> <seq> kafka|dl            a backlog row handed to Kafka or dead-lettered
//   report <seq>                            a delivery report
//   done                                    every backlog row was handed on
//   allowance <in_flight> [<stalled>] = <n>
//   advance <ms>                            the planner's clock
//   release = <seq>,<seq>,...|none          produce every released event, in the planner's order
//   peek = <seq>|none                       the next release, not produced (its produce failed)
//   held = <n> / room = <n> / live_cursor = <seq> / draining = 0|1
//   reset
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "herd/core/clock.hpp"
#include "herd/forwarder/drain_planner.hpp"

using namespace herd;
using forwarder::drain_limits;
using forwarder::drain_planner;

namespace {

struct planner_case {
  const char* name;
  drain_limits limits;
  const char* script;
};

drain_limits limits(std::size_t max_in_flight, std::size_t batch, std::size_t threshold, std::uint32_t rate,
                    std::size_t max_queued, std::size_t max_deferred) {
  drain_limits l;
  l.max_in_flight = max_in_flight;
  l.batch = batch;
  l.backlog_threshold = threshold;
  l.drain_rate = rate;
  l.drain_max_queued = max_queued;
  l.max_deferred = max_deferred;
  return l;
}
const drain_limits defaults{};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) {
    const auto b = part.find_first_not_of(' ');
    const auto e = part.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
  }
  return out;
}

std::string step_name(drain_planner::step s) {
  switch (s) {
    case drain_planner::step::in_order: return "in_order";
    case drain_planner::step::wait_for_acks: return "wait";
    case drain_planner::step::split: return "split";
  }
  return "?";
}

buffer::record row(const std::string& key, std::uint64_t seq) {
  buffer::record r;
  r.seq = seq;
  r.key = key;
  r.value = "v" + std::to_string(seq);
  return r;
}

void run(const planner_case& c) {
  core::manual_clock mono(1'000'000);
  drain_planner p(c.limits, mono);
  std::int64_t last_ack_ms = -1;  // none yet
  for (const auto& step : split(c.script, ';')) {
    CAPTURE(step);
    const auto sides = split(step, '=');
    const auto words = split(sides.at(0), ' ');
    const std::string expect = sides.size() > 1 ? sides[1] : "";
    const std::string& cmd = words.at(0);
    auto num = [&](std::size_t i) { return std::stoull(words.at(i)); };
    if (cmd == "start" || cmd == "start_after") {
      const std::size_t first = cmd == "start" ? 1 : 2;
      buffer::outbox::backlog_split s;
      s.newest = num(first);
      for (std::size_t i = first + 1; i < words.size(); ++i) {
        const auto kv = split(words[i], ':');
        s.last_per_key.emplace_back(kv.at(0), std::stoull(kv.at(1)));
      }
      p.start(std::move(s), cmd == "start" ? 0 : num(1));
    } else if (cmd == "step") {
      CHECK(step_name(p.next_step(num(1), num(2), num(3), last_ack_ms)) == expect);
    } else if (cmd == "acked") {
      last_ack_ms = mono.now_ms();
    } else if (cmd == "live") {
      const bool hold = p.must_hold(words.at(1));
      CHECK((hold ? "hold" : "go") == expect);
      if (hold) {
        p.hold(row(words.at(1), num(2)));
      } else {
        p.live_passed(num(2));
      }
    } else if (cmd == "backlog") {
      p.backlog_produced(words.at(1), num(2), words.at(3) == "kafka");
    } else if (cmd == "report") {
      p.reported(num(1));
    } else if (cmd == "done") {
      p.backlog_done();
    } else if (cmd == "allowance") {
      CHECK(std::to_string(p.allowance(num(1), words.size() > 2 ? num(2) : 0)) == expect);
    } else if (cmd == "advance") {
      mono.advance(static_cast<std::int64_t>(num(1)));
    } else if (cmd == "release") {
      std::string got;
      while (const auto* r = p.next_release()) {
        got += (got.empty() ? "" : ",") + std::to_string(r->seq);
        p.release_produced();
      }
      CHECK((got.empty() ? "none" : got) == expect);
    } else if (cmd == "peek") {
      const auto* r = p.next_release();
      CHECK((r == nullptr ? "none" : std::to_string(r->seq)) == expect);
    } else if (cmd == "held") {
      CHECK(std::to_string(p.held()) == expect);
    } else if (cmd == "room") {
      CHECK(std::to_string(p.hold_room()) == expect);
    } else if (cmd == "live_cursor") {
      CHECK(std::to_string(p.live_cursor()) == expect);
    } else if (cmd == "draining") {
      CHECK(std::to_string(p.draining() ? 1 : 0) == expect);
    } else if (cmd == "reset") {
      p.reset();
    } else {
      FAIL("unknown step " << cmd);
    }
  }
}

const planner_case planner_cases[] = {
    {"no backlog up to the threshold, a split above it",
     limits(2000, 500, 2000, 0, 2000, 20000),
     "step 2000 0 0 = in_order; step 2001 0 0 = split; step 2500 600 0 = in_order; step 5 10 0 = in_order"},
    {"02a56f5: no split while produced events are unreported (the outage would count as live)",
     limits(2000, 500, 2000, 0, 2000, 20000), "step 9000 0 1 = wait; step 9000 0 0 = split"},
    {"issue 15 goal 4: a report after the backlog was seen means Kafka is back: split with events in flight",
     limits(2000, 500, 2000, 0, 2000, 20000),
     "acked; advance 1; step 9000 0 5 = wait; step 9000 0 5 = wait; advance 1; acked; step 9000 0 5 = split"},
    {"issue 15 goal 4: a backlog that went away is seen anew (an older report does not split it)",
     limits(2000, 500, 2000, 0, 2000, 20000),
     "step 9000 0 5 = wait; advance 2; acked; step 100 0 5 = in_order; advance 1; step 9000 0 5 = wait;"
     "advance 1; acked; step 9000 0 5 = split"},
    {"issue 15 goal 4: a report of an event produced before the split frees no backlog slot",
     limits(2000, 500, 2000, 0, 1, 20000),
     "start_after 5 100 a:100; backlog a 6 kafka; allowance 0 = 0; report 5; allowance 0 = 0; report 6; allowance 0 = 1"},
    {"issue 15 goal 4: backlog events stalled beyond their partition's share take no backlog slot",
     limits(2000, 500, 2000, 0, 2, 20000),
     "start 100 a:100; backlog a 1 kafka; backlog a 2 kafka; allowance 0 = 0; allowance 0 1 = 1; allowance 0 5 = 2;"
     "allowance 1999 5 = 1"},
    {"a live event of an animal with backlog waits for that animal's last backlog event, then goes in order",
     defaults,
     "start 10 a:9 b:10; draining = 1; live a 11 = hold; live c 12 = go; live a 13 = hold; live b 14 = hold;"
     "live_cursor = 14; held = 3; backlog a 5 kafka; release = none; backlog b 6 kafka; release = none;"
     "backlog a 9 kafka; release = 11,13; held = 1; backlog b 10 kafka; release = 14; held = 0"},
    {"an animal with held events stays held after its backlog is produced, until they are released",
     defaults,
     "start 10 a:5; live a 11 = hold; backlog a 5 kafka; live a 12 = hold; release = 11,12; live a 13 = go"},
    {"99bba36/deda9d7: an animal not in the split (all its events acknowledged) is never held",
     defaults, "start 10 a:10; live b 11 = go; live_cursor = 11; held = 0"},
    {"deda9d7: a dead-lettered backlog row is not queued (it stalled the drain once drain_max_queued of them were seen)",
     limits(2000, 500, 2000, 0, 2, 20000),
     "start 100 a:100; allowance 0 = 2; backlog a 1 dl; backlog a 2 dl; backlog a 3 dl; allowance 0 = 2;"
     "backlog a 4 kafka; backlog a 5 kafka; allowance 0 = 0; report 4; allowance 0 = 1; report 5; allowance 0 = 2"},
    {"only a report of a backlog event frees a backlog slot", limits(2000, 500, 2000, 0, 1, 20000),
     "start 10 a:10; backlog a 1 kafka; allowance 0 = 0; report 11; allowance 0 = 0; report 1; allowance 0 = 1"},
    {"the backlog lane is bounded by the window and the batch", limits(10, 4, 2000, 0, 100, 20000),
     "start 100 a:100; allowance 0 = 4; allowance 8 = 2; allowance 10 = 0; allowance 12 = 0"},
    {"rate tokens: none at the start, 100 ms of rate at most, no time lost between calls",
     limits(2000, 500, 2000, 100, 2000, 20000),
     "start 100 a:100; allowance 0 = 0; advance 10; allowance 0 = 1; advance 5000; allowance 0 = 10;"
     "backlog a 1 kafka; backlog a 2 kafka; backlog a 3 kafka; backlog a 4 kafka; backlog a 5 kafka;"
     "backlog a 6 kafka; backlog a 7 kafka; backlog a 8 kafka; backlog a 9 kafka; backlog a 10 kafka;"
     "allowance 0 = 0; advance 5; allowance 0 = 0; advance 5; allowance 0 = 1"},
    {"a dead-lettered backlog row takes no rate token", limits(2000, 500, 2000, 10, 2000, 20000),
     "start 100 a:100; advance 100; allowance 0 = 1; backlog a 1 dl; allowance 0 = 1; backlog a 2 kafka; allowance 0 = 0"},
    {"a slow rate still gets one token at a time", limits(2000, 500, 2000, 5, 2000, 20000),
     "start 100 a:100; advance 100; allowance 0 = 0; advance 100; allowance 0 = 1; advance 10000; allowance 0 = 1"},
    {"at most max_deferred live events are held", limits(2000, 500, 2000, 0, 2000, 2),
     "start 10 a:10; room = 2; live a 11 = hold; live a 12 = hold; room = 0; held = 2"},
    {"backlog done (an animal's last backlog events were evicted or dead-lettered): everything held goes",
     defaults, "start 10 a:10; live a 11 = hold; live a 12 = hold; backlog a 3 kafka; release = none; done; release = 11,12"},
    {"deda9d7: a release that could not be produced (producer being rebuilt) stays first",
     defaults, "start 10 a:10; live a 11 = hold; live a 12 = hold; backlog a 10 kafka; peek = 11; peek = 11; release = 11,12; peek = none"},
    {"a reset (producer rebuilt: everything is resent from the oldest) forgets the drain",
     defaults,
     "start 10 a:10; live a 11 = hold; reset; draining = 0; held = 0; release = none; live a 12 = go; live_cursor = 12"},
    {"a report after the drain ended frees nothing and breaks nothing", limits(2000, 500, 2000, 0, 1, 20000),
     "start 10 a:10; backlog a 1 kafka; reset; report 1; start 20 a:20; allowance 0 = 1"},
};

}  // namespace

TEST_CASE("drain planner: table of drain behaviours and past drain bugs") {
  for (const auto& c : planner_cases) {
    const std::string name = c.name;  // a std::string, so a failure prints the case, not a pointer
    CAPTURE(name);
    run(c);
  }
}
