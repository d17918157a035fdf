// Clock faults: a gateway without RTC whose wall clock jumps back and forth, and loses its NTP sync,
// under load. The wall clock of the real herdgate process alone is moved, with Debian's
// libfaketime (LD_PRELOAD on the child only; FAKETIME_DONT_FAKE_MONOTONIC keeps CLOCK_MONOTONIC and
// CLOCK_BOOTTIME real, as an NTP step would). Order per animal and exact counts hold; the events
// after each jump carry CLOCK_QUALITY_STEPPED, those stored while the sync marker was missing
// CLOCK_QUALITY_UNSYNCED, the rest SYNCED; a forward step does not age the backlog in /health.
//
// The faked clock only ever runs behind the real one (offsets <= 0). libfaketime fakes
// timespec_get, from which librdkafka computes the absolute deadlines of its condition-variable
// waits, but not glibc's internal cnd_timedwait, so the kernel waits on the real clock: with the
// fake clock ahead by X, every librdkafka wait nobody signals lasts X longer (the forwarder stalled
// for the whole offset), with it behind such waits end at once. That is libfaketime's artefact,
// not what a real step does, so the jumps here go back 2 h, then forward 1 h.
#include <doctest/doctest.h>

#include <google/protobuf/util/time_util.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/wait_until.hpp>

#include "../integration/event_checks.hpp"
#include "../integration/http_probe.hpp"
#include "../integration/rig.hpp"

using namespace herd;
using namespace std::chrono_literals;
using google::protobuf::util::TimeUtil;

namespace {

using steady = std::chrono::steady_clock;

// The gateway's metrics, scraped until `pred` holds for `name` or the deadline passes.
struct metrics_probe {
  std::string address;
  std::string last;

  double value(const std::string& name) {
    auto r = test::http_get(address, "/metrics");
    if (!r || r->status != 200) return -1;
    last = r->body;
    return test::sample(last, name).value_or(-1);
  }
  bool wait(const std::string& name, const std::function<bool(double)>& pred,
            std::chrono::milliseconds deadline = 30s) {
    return test_support::wait_until([&] { return pred(value(name)); }, deadline, 10ms);
  }
};

// libfaketime reads its offset from this file again once a second (FAKETIME_CACHE_DURATION=1;
// not on every clock read, which herdgate does several times per reading), so a new offset takes
// effect within 1 s: written whole and renamed into place, so it never sees half a line.
void set_wall_offset(const std::filesystem::path& file, const std::string& offset) {
  const auto tmp = file.string() + ".tmp";
  std::ofstream(tmp) << offset << "\n";
  std::filesystem::rename(tmp, file);
}

std::int64_t ms_of(const google::protobuf::Timestamp& t) { return TimeUtil::TimestampToMilliseconds(t); }

const char* name_of(events::v1::ClockQuality q) {
  switch (q) {
    case events::v1::CLOCK_QUALITY_SYNCED: return "synced";
    case events::v1::CLOCK_QUALITY_UNSYNCED: return "unsynced";
    case events::v1::CLOCK_QUALITY_STEPPED: return "stepped";
    default: return "unspecified";
  }
}

}  // namespace

TEST_CASE("the wall clock jumps back and forth and loses sync under load: order and counts intact, events marked") {
  REQUIRE_MESSAGE(std::string(HERD_LIBFAKETIME) != "",
                  "libfaketime not found at configure time: install Debian's faketime (scripts/setup.sh)");
  constexpr int collars = 40;
  constexpr int total = 24000;  // 24 s of load at 1,000 readings/s: every phase below runs under it
  constexpr std::int64_t hold_ms = 2000;
  test::rig rig(collars, {"farm/+/collar/+/telemetry"}, {}, "normal");
  const auto offset_file = rig.dir / "faketime.rc";
  const auto synced_file = rig.dir / "synchronized";
  set_wall_offset(offset_file, "+0");
  std::ofstream(synced_file) << "\n";

  auto s = rig.gateway->settings();
  // The kernel's NTP state is the host's (not synchronized on many CI machines): the marker file
  // alone says "synced" here, as systemd-timesyncd's /run/systemd/timesync/synchronized would.
  s.extra_sections = "[clock]\nkernel_sync = false\nsynced_file = \"" + synced_file.string() +
                     "\"\nstep_threshold_ms = 1000\nstepped_hold_s = " + std::to_string(hold_ms / 1000) +
                     "\n[health]\nmax_oldest_unsent_s = 600\n";
  const char* asan = std::getenv("ASAN_OPTIONS");
  s.env = {{"LD_PRELOAD", HERD_LIBFAKETIME},
           {"FAKETIME_TIMESTAMP_FILE", offset_file.string()},
           {"FAKETIME_CACHE_DURATION", "1"},
           {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
           // An ASan build wants its runtime first in the library list; libfaketime is preloaded
           // before it. Its interposition of clock_gettime works either way.
           {"ASAN_OPTIONS", std::string(asan != nullptr ? asan : "") + ":verify_asan_link_order=0"}};
  rig.gateway = std::make_unique<test::gateway_process>(s);
  rig.gateway->start();
  metrics_probe m{rig.gateway->metrics_address(), {}};
  INFO("metrics at " << m.address);

  auto sim = rig.start_sim({"--collars", std::to_string(collars), "--count", std::to_string(total), "--rate",
                            "1000", "--seed", "17"});
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  REQUIRE(reader.read_until([](const auto& r) { return r.size() >= 1000; }, 60s));  // load is on
  CHECK(m.value("herdgate_clock_synced") == 1.0);
  CHECK(m.value("herdgate_clock_steps_total") == 0.0);

  // Waits until `n` more readings were stored: the current clock state has marked some events.
  const auto stored_more = [&](double n) {
    const double from = m.value("herdgate_ingested_total");
    return m.wait("herdgate_ingested_total", [&](double v) { return v >= from + n; });
  };
  const auto wait_synced_again = [&] {
    return test_support::wait_until(
        [&] {
          auto h = test::http_get(m.address, "/health");
          return h && h->body.find("\"clock\":\"synced\"") != std::string::npos;
        },
        30s, 20ms);
  };

  // 1. Two hours back.
  auto t0 = steady::now();
  set_wall_offset(offset_file, "-7200");
  REQUIRE(m.wait("herdgate_clock_steps_total", [](double v) { return v >= 1; }));
  const auto detect_back = steady::now() - t0;
  CHECK(m.value("herdgate_clock_last_step_seconds") == doctest::Approx(-7200).epsilon(0.001));
  REQUIRE(stored_more(500));
  REQUIRE(wait_synced_again());

  // 2. Kafka unreachable, a backlog builds up, then the clock jumps an hour forward: a backlog
  // age read off the wall clock would now exceed the 600 s health limit by far.
  auto* mc = rig.kafka->mock();
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(mc, b);
  REQUIRE(m.wait("herdgate_outbox_depth", [](double v) { return v >= 500; }));
  t0 = steady::now();
  set_wall_offset(offset_file, "-3600");
  REQUIRE(m.wait("herdgate_clock_steps_total", [](double v) { return v >= 2; }));
  const auto detect_forward = steady::now() - t0;
  CHECK(m.value("herdgate_clock_last_step_seconds") == doctest::Approx(3600).epsilon(0.001));
  REQUIRE(stored_more(300));
  const auto health = test::http_get(m.address, "/health");
  REQUIRE(health);
  INFO("health after the forward step: " << health->body);
  const auto hj = nlohmann::json::parse(health->body);
  CHECK(health->status == 200);
  CHECK(hj["oldest_unsent_age_seconds"].get<double>() < 120.0);
  CHECK(hj["outbox_depth"].get<double>() > 0);
  const double backlog_age = hj["oldest_unsent_age_seconds"].get<double>();
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_up(mc, b);
  REQUIRE(wait_synced_again());

  // 3. NTP sync lost (the marker file disappears) for a while, then back.
  t0 = steady::now();
  std::filesystem::remove(synced_file);
  REQUIRE(m.wait("herdgate_clock_synced", [](double v) { return v == 0.0; }));
  const auto detect_unsynced = steady::now() - t0;
  REQUIRE(m.wait("herdgate_ingested_clock_unsynced_total", [](double v) { return v >= 300; }));
  std::ofstream(synced_file) << "\n";
  REQUIRE(m.wait("herdgate_clock_synced", [](double v) { return v == 1.0; }));

  REQUIRE(sim->wait_exit(120s) == 0);
  // Under ASan, with libfaketime in every clock read, herdgate ingests this load at only ~130-300
  // readings/s on a 2-core machine (measured with its /metrics), slower than the sim publishes:
  // mosquitto queues the rest for herdgate's session. So wait while the ingest makes progress
  // (500 readings per 30 s at least), not for a fixed time: a stall fails, a slow machine does not.
  for (double ingested = m.value("herdgate_ingested_total"); ingested < total;
       ingested = m.value("herdgate_ingested_total")) {
    REQUIRE_MESSAGE(m.wait("herdgate_ingested_total", [&](double v) { return v >= std::min<double>(total, ingested + 500); }),
                    "herdgate's ingest stalled at " << ingested << " of " << total << " readings");
  }
  const bool all = test::read_distinct(reader, total, 120s);
  INFO(rig.gateway->log_text());
  REQUIRE(all);
  const auto events = test::decode_all(reader.records());
  CHECK(test::distinct_readings(events) == static_cast<std::size_t>(total));
  CHECK(test::order_violations(events) == 0);
  const auto dups = test::duplicates_checked(events);

  // Each event once, in gateway_seq order: the order the gateway accepted them.
  std::map<std::uint64_t, const test::decoded_event*> by_seq;
  for (const auto& e : events) by_seq.emplace(e.envelope.gateway_seq(), &e);
  CHECK(by_seq.size() == static_cast<std::size_t>(total));
  std::map<std::string, std::size_t> marked;
  std::vector<std::uint64_t> jumps;      // first seq after each wall jump (> 30 min) of ingested_at
  std::vector<std::string> runs;         // quality of each run of equal marks, in seq order
  const test::decoded_event* prev = nullptr;
  std::int64_t run_start_ms = 0;
  std::int64_t longest_stepped_run_ms = 0;
  for (const auto& [seq, e] : by_seq) {
    const auto q = e->envelope.gateway_clock_quality();
    ++marked[name_of(q)];
    CHECK(e->record.header("ce_clockquality") == std::string(name_of(q)));
    const std::int64_t at = ms_of(e->envelope.ingested_at());
    if (prev != nullptr && std::llabs(at - ms_of(prev->envelope.ingested_at())) > 1'800'000) {
      jumps.push_back(seq);
      CHECK_MESSAGE(q == events::v1::CLOCK_QUALITY_STEPPED, "first event after a jump, seq " << seq);
      CHECK(prev->envelope.gateway_clock_quality() == events::v1::CLOCK_QUALITY_SYNCED);
    }
    if (prev == nullptr || prev->envelope.gateway_clock_quality() != q) {
      runs.push_back(name_of(q));
      run_start_ms = at;
    } else if (q == events::v1::CLOCK_QUALITY_STEPPED) {
      longest_stepped_run_ms = std::max(longest_stepped_run_ms, at - run_start_ms);
    }
    prev = e;
  }
  // Synced, stepped after the jump back, synced, stepped after the jump forward, synced, unsynced
  // while the marker was missing, synced: nothing else, and each mark where it belongs.
  CHECK(jumps.size() == 2);
  CHECK(runs == std::vector<std::string>{"synced", "stepped", "synced", "stepped", "synced", "unsynced", "synced"});
  CHECK(longest_stepped_run_ms <= hold_ms + 100);
  CHECK(marked["stepped"] == static_cast<std::size_t>(m.value("herdgate_ingested_clock_stepped_total")));
  CHECK(marked["unsynced"] == static_cast<std::size_t>(m.value("herdgate_ingested_clock_unsynced_total")));
  CHECK(marked["unspecified"] == 0);

  const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  MESSAGE("clock faults: " << total << " readings, " << events.size() << " records (duplicates " << dups
                           << "); marked synced " << marked["synced"] << ", stepped " << marked["stepped"]
                           << ", unsynced " << marked["unsynced"] << "; step seen on /metrics after "
                           << ms(detect_back) << " ms (back 2 h) and " << ms(detect_forward)
                           << " ms (forward 1 h), lost sync after " << ms(detect_unsynced)
                           << " ms; backlog age after the forward step " << backlog_age << " s");
  CHECK(rig.gateway->stop() == 0);
}
