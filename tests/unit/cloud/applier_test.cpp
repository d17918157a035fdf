// The projector's core without Kafka: dedup, routing, poison pills, offsets in the transaction,
// and rebuild == incremental (canonical digest) with duplicates, out-of-order uploads and any
// batch boundaries.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "envelopes.hpp"
#include "herd/core/time_format.hpp"
#include "herd/projector/applier.hpp"
#include "herd/projector/rebuild.hpp"
#include "herd/read_model/digest.hpp"
#include "herd/read_model/sqlite_store.hpp"
#include "herd/events/v1/alert.pb.h"
#include "herd/events/v1/envelope.pb.h"
#include "herd/rules/animal_state.hpp"
#include "herd/test_support/temp_dir.hpp"

namespace {

using herd::projector::applier;
using herd::projector::record;
using namespace herd::test_envelopes;

std::unique_ptr<herd::read_model::store> open(const herd::test_support::temp_dir& d, const std::string& name) {
  auto s = herd::read_model::open_sqlite_store({.path = (d / name).string()});
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  return std::move(*s);
}

// Feeds records in batches of `batch` (records of all partitions interleaved as given).
void feed(applier& app, const std::vector<record>& records, std::size_t batch) {
  for (std::size_t i = 0; i < records.size(); i += batch) {
    std::vector<record> b(records.begin() + static_cast<std::ptrdiff_t>(i),
                          records.begin() + static_cast<std::ptrdiff_t>(std::min(records.size(), i + batch)));
    auto r = app.prepare(b);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
    REQUIRE(*r == applier::outcome::ready);
    auto c = app.commit();
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  }
}

std::string digest_of(herd::read_model::store& s) {
  auto d = herd::read_model::digest(s);
  REQUIRE(d.ok());
  return d->hex;
}

// Re-offsets records per partition in the given order (what Kafka would assign).
std::vector<record> renumber(std::vector<record> v) {
  std::map<std::int32_t, std::int64_t> next;
  for (auto& r : v) r.offset = next[r.partition]++;
  return v;
}

// Two animals of one partition ("DE1", "DE2"), a reading each every 10 min for 4 h from t0, in
// time order (DE1 first at each time); event ids "<animal>-<i>".
std::vector<reading> two_animals_four_hours(std::int64_t t0) {
  std::vector<reading> out;
  for (int i = 0; i < 24; ++i) {
    for (const char* animal : {"DE1", "DE2"}) {
      reading r;
      r.animal = animal;
      r.collar = std::string("C") + animal;
      r.event_id = r.animal + "-" + std::to_string(i);
      r.seq = static_cast<std::uint32_t>(i + 1);
      r.occurred_ms = t0 + i * 600'000LL;
      out.push_back(r);
    }
  }
  return out;
}

// Checks that no collar of the read model's one partition was raised offline and that the
// partition's time stayed at or before `max_watermark_ms`; returns the partition's progress row.
herd::read_model::partition_progress partition_time_kept(herd::read_model::store& s, std::int64_t max_watermark_ms) {
  auto alerts = s.read_alerts("", 100);
  REQUIRE(alerts.ok());
  for (const auto& a : *alerts) CHECK_MESSAGE(a.kind != "device_offline", a.alert_id);
  auto progress = s.load_progress();
  REQUIRE(progress.ok());
  REQUIRE(progress->size() == 1);
  CHECK((*progress)[0].watermark_us <= max_watermark_ms * 1000);
  return (*progress)[0];
}

std::vector<record> partition_zero(const std::vector<reading>& readings) {
  std::vector<record> out;
  for (const auto& r : readings) out.push_back(record{"herd.events", 0, 0, r.animal, collar_envelope(r)});
  return renumber(out);
}

}  // namespace

TEST_CASE("applier: each distinct event counts once: offsets and counters commit with the state") {
  herd::test_support::temp_dir dir;
  auto s = open(dir, "rm.db");
  applier app(*s);
  REQUIRE(app.load_positions().ok());
  auto stream = make_stream(3, 4, 1, 1'780'000'000'000);
  auto records = stream.records;                                     // 12 records, partition 0
  records.push_back(records[2]);                                     // a resend, same event_id
  records.push_back({"herd.events", 0, 0, "x", "not a protobuf \xff"});  // undecodable
  records.push_back({"herd.events", 0, 0, "DE01000", unknown_type_envelope("u-1", "DE01000", 1'780'000'100'000)});
  records = renumber(records);
  feed(app, records, 5);
  auto p = s->load_progress();
  REQUIRE(p.ok());
  REQUIRE(p->size() == 1);
  CHECK((*p)[0].next_offset == 15);
  CHECK((*p)[0].applied == 12);
  CHECK((*p)[0].duplicates == 1);
  CHECK((*p)[0].unknown_type == 1);
  CHECK((*p)[0].dead_lettered == 1);
  CHECK(app.position("herd.events", 0) == 15);
  auto st = s->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 13);  // 12 readings + the unknown type, kept for a newer projector
  CHECK(st->animals == 3);
  auto animals = s->read_animals("", 10);
  REQUIRE(animals.ok());
  for (const auto& a : *animals) {
    CHECK(a.events_applied == 4);
    auto state = herd::rules::decode(a.state);
    REQUIRE(state.ok());
    CHECK(state->events == 4);
    REQUIRE(a.collars.size() == 1);
    CHECK(a.collars[0].last_seq == 4);
    CHECK(a.body_temp_c.has_value());
  }
}

TEST_CASE("applier: undecodable and rejected records become dead letters with their position") {
  herd::test_support::temp_dir dir;
  auto s = open(dir, "rm.db");
  applier app(*s);
  REQUIRE(app.load_positions().ok());
  reading bad;
  bad.event_id = "bad-1";
  bad.animal = "DE01000";
  bad.collar = "C1";
  bad.seq = 1;
  bad.occurred_ms = 1'780'000'000'000;
  bad.temp_c = 99.0;  // outside the collar format's range: the fold rejects it
  herd::events::v1::EventEnvelope far;  // a time protobuf's Timestamp cannot hold (year > 9999)
  REQUIRE(far.ParseFromString(collar_envelope(bad)));
  far.set_event_id("bad-2");
  far.mutable_ingested_at()->set_seconds(std::numeric_limits<std::int64_t>::max());
  std::vector<record> b = {{"herd.events", 3, 40, "k", "garbage"},
                           {"herd.events", 3, 41, "DE01000", collar_envelope(bad)},
                           {"herd.events", 3, 42, "DE01000", far.SerializeAsString()}};
  // The stored position is -1: claim it by making the first batch start there.
  auto r = app.prepare(b);
  REQUIRE(r.ok());
  REQUIRE(app.dead_letters().size() == 3);
  CHECK(app.dead_letters()[0].original.offset == 40);
  CHECK(app.dead_letters()[0].reason.find("EventEnvelope") != std::string::npos);
  // Undecodable records are dead-lettered as they are decoded, rejected ones when folded.
  CHECK(app.dead_letters()[1].original.offset == 42);
  CHECK(app.dead_letters()[1].reason.find("ingested_at is not a valid Timestamp") != std::string::npos);
  CHECK(app.dead_letters()[2].original.offset == 41);
  CHECK(app.dead_letters()[2].reason.find("rejected") != std::string::npos);
  REQUIRE(app.commit().ok());
  auto p = s->load_progress();
  REQUIRE(p.ok());
  CHECK((*p)[0].next_offset == 43);
  CHECK((*p)[0].rejected == 1);
  CHECK((*p)[0].dead_lettered == 3);
  auto st = s->stats();
  REQUIRE(st.ok());
  CHECK(st->animals == 0);  // a rejected event changes no state
  CHECK(st->events == 1);   // but it is a distinct event: kept in the event store
}

TEST_CASE("applier: an abandoned batch changes nothing, not even the cache") {
  herd::test_support::temp_dir dir;
  auto s = open(dir, "rm.db");
  applier app(*s);
  REQUIRE(app.load_positions().ok());
  auto stream = make_stream(2, 6, 1, 1'780'000'000'000);
  std::vector<record> first(stream.records.begin(), stream.records.begin() + 4);
  std::vector<record> second(stream.records.begin() + 4, stream.records.end());
  feed(app, first, 10);
  const auto before = digest_of(*s);
  auto r = app.prepare(second);
  REQUIRE(r.ok());
  app.abandon();  // e.g. the DLQ could not be written
  CHECK(digest_of(*s) == before);
  CHECK(app.position("herd.events", 0) == 4);
  feed(app, second, 10);  // the retry
  herd::test_support::temp_dir dir2;
  auto ref = open(dir2, "ref.db");
  applier ref_app(*ref);
  REQUIRE(ref_app.load_positions().ok());
  feed(ref_app, stream.records, 100);
  CHECK(digest_of(*s) == digest_of(*ref));
}

TEST_CASE("applier: a second writer that moved the partition on makes the batch stale") {
  herd::test_support::temp_dir dir;
  auto s1 = open(dir, "rm.db");
  auto s2 = open(dir, "rm.db");
  applier a(*s1), b(*s2);
  REQUIRE(a.load_positions().ok());
  REQUIRE(b.load_positions().ok());
  auto stream = make_stream(1, 4, 1, 1'780'000'000'000);
  std::vector<record> first(stream.records.begin(), stream.records.begin() + 2);
  feed(a, first, 10);
  auto r = b.prepare(first);  // b still believes nothing is stored
  REQUIRE(r.ok());
  CHECK(*r == applier::outcome::stale);
  REQUIRE(b.load_positions().ok());
  CHECK(b.position("herd.events", 0) == 2);
}

TEST_CASE("rebuild == incremental: duplicates, late uploads, batch sizes, restarts, from the event store") {
  const std::int64_t start = 1'780'000'000'000;
  auto stream = make_stream(6, 40, 3, start);  // 240 readings, 6.5 h of event time: advance rounds
  // The reference: every event once, in time order, one batch per call of 7.
  herd::test_support::temp_dir dir;
  auto ref = open(dir, "ref.db");
  {
    applier app(*ref);
    REQUIRE(app.load_positions().ok());
    feed(app, stream.records, 7);
  }
  const std::string want = digest_of(*ref);

  // The same events as a gateway would deliver them after an outage: resends and a late batch
  // upload (one animal's first hour arrives after everything else), in other batch sizes, with the
  // projector restarted (cache gone) in the middle.
  std::mt19937 rng(42);
  std::vector<record> messy;
  std::vector<record> late;
  for (const auto& r : stream.records) {
    if (r.key == "DE01004" && late.size() < 6) {
      late.push_back(r);
      continue;
    }
    messy.push_back(r);
    if (rng() % 5 == 0) messy.push_back(r);  // a resend
  }
  // The late upload: in the same partition (same key), after the rest.
  messy.insert(messy.end(), late.begin(), late.end());
  messy.insert(messy.end(), late.begin(), late.begin() + 2);  // and resent
  messy = renumber(messy);

  // Incremental with a different arrival order needs its own reference (the fold sees a
  // different order per animal); what must hold: rebuild from the topic (same records, other
  // batches) and rebuild from the event store equal the incremental read model.
  auto inc = open(dir, "inc.db");
  {
    applier app(*inc);
    REQUIRE(app.load_positions().ok());
    const std::size_t half = messy.size() / 2;
    feed(app, std::vector<record>(messy.begin(), messy.begin() + static_cast<std::ptrdiff_t>(half)), 13);
  }
  {
    applier app(*inc);  // a restart: positions from the store, no cache
    REQUIRE(app.load_positions().ok());
    feed(app, std::vector<record>(messy.begin() + static_cast<std::ptrdiff_t>(messy.size() / 2), messy.end()), 29);
  }
  const std::string incremental = digest_of(*inc);

  auto from_topic = open(dir, "topic.db");
  {
    applier app(*from_topic);
    REQUIRE(app.load_positions().ok());
    feed(app, messy, 1000);
  }
  CHECK(digest_of(*from_topic) == incremental);

  auto from_store = open(dir, "store.db");
  auto rb = herd::projector::rebuild_from_store(*inc, *from_store, 17);
  REQUIRE(rb.ok());
  CHECK(rb->applied == 240);
  CHECK(rb->duplicates == 0);
  CHECK(digest_of(*from_store) == incremental);

  // Every event counted exactly once, whatever the duplicates.
  auto p = inc->load_progress();
  REQUIRE(p.ok());
  std::uint64_t applied = 0, dups = 0;
  for (const auto& pp : *p) {
    applied += pp.applied;
    dups += pp.duplicates;
  }
  CHECK(applied == 240);
  CHECK(dups == messy.size() - 240);

  // Without the late upload and resends, incremental equals the time-ordered reference.
  auto clean = open(dir, "clean.db");
  {
    applier app(*clean);
    REQUIRE(app.load_positions().ok());
    std::vector<record> dup_only;
    for (const auto& r : stream.records) {
      dup_only.push_back(r);
      if (rng() % 4 == 0) dup_only.push_back(r);
    }
    feed(app, renumber(dup_only), 11);
  }
  // Same distinct events in the same order per animal, only offsets differ: states are equal.
  auto a1 = ref->read_animals("", 100);
  auto a2 = clean->read_animals("", 100);
  REQUIRE(a1.ok());
  REQUIRE(a2.ok());
  REQUIRE(a1->size() == a2->size());
  for (std::size_t i = 0; i < a1->size(); ++i) CHECK((*a1)[i].state == (*a2)[i].state);
}

TEST_CASE("applier: every alert change is an outbox message of herd.alerts in the same transaction") {
  herd::test_support::temp_dir dir;
  auto s = open(dir, "rm.db");
  applier app(*s);
  REQUIRE(app.load_positions().ok());
  // One animal: battery 15 % (low_battery raised), then 60 % (resolved); readings 10 min apart.
  std::vector<record> recs;
  for (int i = 0; i < 12; ++i) {
    reading r;
    r.event_id = "ev-" + std::to_string(i);
    r.animal = "DE1";
    r.collar = "C1";
    r.seq = static_cast<std::uint32_t>(i + 1);
    r.occurred_ms = 1'780'000'000'000 + i * 600'000LL;
    r.battery = i < 6 ? 15 : 60;
    recs.push_back(record{"herd.events", 0, i, "DE1", collar_envelope(r)});
  }
  feed(app, recs, 5);
  auto alerts = s->read_alerts("", 10);
  REQUIRE(alerts.ok());
  REQUIRE(alerts->size() == 1);
  auto ob = s->read_outbox(0, 100);
  REQUIRE(ob.ok());
  REQUIRE(ob->size() == 2);
  const auto header = [](const herd::read_model::outbox_message& m, const std::string& k) {
    for (const auto& [n, v] : m.headers) {
      if (n == k) return v;
    }
    return std::string();
  };
  CHECK((*ob)[0].topic == "herd.alerts");
  CHECK((*ob)[0].key == "DE1");
  CHECK(header((*ob)[0], "ce_type") == "alert.raised.v1");
  CHECK(header((*ob)[1], "ce_type") == "alert.resolved.v1");
  CHECK(header((*ob)[0], "ce_specversion") == "1.0");
  CHECK(header((*ob)[0], "ce_subject") == "DE1");
  CHECK(header((*ob)[0], "ce_source") == "/herd-projector/rules/low_battery");
  CHECK(header((*ob)[0], "content-type") == "application/x-protobuf");
  CHECK(header((*ob)[0], "ce_id").rfind((*alerts)[0].alert_id + "/raised/", 0) == 0);
  herd::events::v1::EventEnvelope env;
  REQUIRE(env.ParseFromString((*ob)[0].value));
  CHECK(env.event_id() == header((*ob)[0], "ce_id"));
  CHECK(env.aggregate_id() == "DE1");

  // A rebuild writes the same alert rows but no outbox (published when first projected), unless asked.
  auto quiet = open(dir, "quiet.db");
  REQUIRE(herd::projector::rebuild_from_store(*s, *quiet).ok());
  auto none = quiet->read_outbox(0, 100);
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK(digest_of(*quiet) == digest_of(*s));
  auto loud = open(dir, "loud.db");
  REQUIRE(herd::projector::rebuild_from_store(*s, *loud, 5000, true).ok());
  auto again = loud->read_outbox(0, 100);
  REQUIRE(again.ok());
  REQUIRE(again->size() == 2);
  CHECK(header((*again)[0], "ce_id") == header((*ob)[0], "ce_id"));
  CHECK(header((*again)[1], "ce_id") == header((*ob)[1], "ce_id"));
}

TEST_CASE("applier: a reading stamped days ahead of its gateway's clock does not move the partition's time") {
  herd::test_support::temp_dir dir;
  auto s = open(dir, "rm.db");
  applier app(*s);
  REQUIRE(app.load_positions().ok());
  // Two animals of one partition, a reading each every 10 min for 4 h; after 2 h, DE1's collar
  // sends one reading stamped 2 days ahead of the time the gateway took it (its clock gone wrong
  // behind a gateway without time sync).
  constexpr std::int64_t t0 = 1'780'000'000'000;
  auto readings = two_animals_four_hours(t0);
  reading& ahead = readings[2 * 12];  // DE1 at 2 h
  ahead.ingested_ms = ahead.occurred_ms + 1500;
  ahead.occurred_ms += 2 * 86'400'000LL;
  feed(app, partition_zero(readings), 7);
  // DE2 kept sending: no collar of the partition went offline (before, the partition's time
  // jumped 2 days and DE2's collar was raised offline, and resolved by its next reading).
  const auto progress = partition_time_kept(*s, t0 + 23 * 600'000LL + 5 * 60'000LL);
  CHECK(progress.applied == 48);  // the reading itself is applied to DE1
}

TEST_CASE("applier: an acknowledgement of an animal never seen writes no animal row") {
  herd::test_support::temp_dir dir;
  auto s = open(dir, "rm.db");
  applier app(*s);
  REQUIRE(app.load_positions().ok());
  herd::events::v1::EventEnvelope e;
  e.set_event_id("ack-1");
  e.set_event_type("alert.acknowledged.v1");
  e.mutable_occurred_at()->set_seconds(1'780'000'000);
  e.set_aggregate_id("DE-UNKNOWN");
  herd::events::v1::AlertAcknowledged a;
  a.set_alert_id("DE-UNKNOWN:fever:20260601T000000Z");
  a.set_acknowledged_by("vet");
  e.mutable_payload()->PackFrom(a);
  feed(app, {record{"herd.events", 0, 0, "DE-UNKNOWN", e.SerializeAsString()}}, 10);
  auto animals = s->read_animals("", 10);
  REQUIRE(animals.ok());
  CHECK(animals->empty());
  auto st = s->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 1);  // kept in the event store
}

TEST_CASE("applier: an envelope ingested ahead of the projector's clock is dead-lettered and moves no time") {
  herd::test_support::temp_dir dir;
  auto s = open(dir, "rm.db");
  applier app(*s);
  constexpr std::int64_t t0 = 1'780'000'000'000;
  herd::core::manual_clock wall(t0 + 4 * 3'600'000LL);  // the projector's clock: the herd's "now"
  app.set_clock(wall);
  REQUIRE(app.load_positions().ok());
  // Two animals of one partition, a reading each every 10 min for 4 h. After 2 h, DE1's events
  // come from a gateway whose own clock is wrong, so both its times are ahead: 2 days, then the
  // last second protobuf's Timestamp can hold (year 9999; any other producer can write that).
  auto readings = two_animals_four_hours(t0);
  const reading de1 = readings[2 * 12];  // DE1 at 2 h; the two follow it
  std::vector<reading> ahead;
  for (const std::int64_t ahead_ms : {2 * 86'400'000LL, 253'402'300'799'000LL - de1.occurred_ms}) {
    reading f = de1;
    f.event_id += "-ahead-" + std::to_string(ahead_ms);
    f.occurred_ms += ahead_ms;
    f.ingested_ms = f.occurred_ms;
    ahead.push_back(f);
  }
  readings.insert(readings.begin() + 2 * 12 + 1, ahead.begin(), ahead.end());
  const auto recs = partition_zero(readings);
  std::vector<std::string> reasons;
  for (std::size_t i = 0; i < recs.size(); i += 7) {
    std::vector<record> b(recs.begin() + static_cast<std::ptrdiff_t>(i),
                          recs.begin() + static_cast<std::ptrdiff_t>(std::min(recs.size(), i + 7)));
    auto r = app.prepare(b);
    REQUIRE(r.ok());
    for (const auto& d : app.dead_letters()) reasons.push_back(d.reason);
    REQUIRE(app.commit().ok());
  }
  REQUIRE(reasons.size() == 2);
  // Taken 2 h into the 4 h: 2 days minus 2 h ahead of the clock.
  CHECK_MESSAGE(reasons[0].find("is 165600 s ahead of the projector's clock") != std::string::npos, reasons[0]);
  CHECK_MESSAGE(reasons[1].find("ingested_at 9999-12-31T23:59:59") != std::string::npos, reasons[1]);
  // Before, the first moved the partition's time 2 days on: DE2's collar was raised offline. The
  // second made it advance the partition one 10-minute boundary at a time towards year 9999.
  const auto progress = partition_time_kept(*s, t0 + 23 * 600'000LL + 1500);
  CHECK(progress.applied == 48);
  CHECK(progress.dead_lettered == 2);
  CHECK(progress.next_offset == 50);
  auto st = s->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 48);  // not in the event store: a rebuild from it never meets them
}

TEST_CASE("applier: what judges a future-dated envelope: Kafka's log-append time, the poll time, the clock") {
  herd::test_support::temp_dir dir;
  auto s = open(dir, "rm.db");
  applier app(*s);
  constexpr std::int64_t w = 1'780'000'000'000;
  constexpr std::int64_t lead = herd::core::k_max_clock_lead_ms;
  herd::core::manual_clock wall(w + 3'600'000);  // an hour after the records were polled
  app.set_clock(wall);
  REQUIRE(app.load_positions().ok());
  struct probe {
    std::int64_t ingested_ms, log_append_ms, polled_ms;
    bool refused;
  };
  const std::vector<probe> probes = {
      {w + lead, 0, w, false},                         // exactly the tolerance past the poll time
      {w + lead + 1, 0, w, true},                      // 1 ms more; the clock has moved on since
      {w + 3'600'000, w + 3'600'000, w, false},        // the broker's time says it is not ahead
      {w, w - 3'600'000, w + 7'200'000, true},         // the broker's time wins over the poll time
      {w + 3'600'000 + lead, 0, 0, false},             // nothing else known: the clock
      {w + 3'600'000 + lead + 1, 0, 0, true}};
  std::vector<record> recs;
  for (std::size_t i = 0; i < probes.size(); ++i) {
    reading r;
    r.animal = "DE" + std::to_string(i);
    r.collar = "C" + std::to_string(i);
    r.event_id = "probe-" + std::to_string(i);
    r.seq = 1;
    r.occurred_ms = r.ingested_ms = probes[i].ingested_ms;
    record rec{"herd.events", static_cast<std::int32_t>(i), 0, r.animal, collar_envelope(r)};
    rec.log_append_ms = probes[i].log_append_ms;
    rec.polled_ms = probes[i].polled_ms;
    recs.push_back(rec);  // one partition each: no probe moves another's time
  }
  auto prepared = app.prepare(recs);
  REQUIRE(prepared.ok());
  std::vector<std::int64_t> refused;
  for (const auto& d : app.dead_letters()) refused.push_back(d.original.partition);
  CHECK(refused == std::vector<std::int64_t>{1, 3, 5});
  REQUIRE(app.dead_letters().size() == 3);
  CHECK(app.dead_letters()[0].reason.find("s ahead of the projector's clock") != std::string::npos);
  CHECK(app.dead_letters()[1].reason.find("ahead of Kafka's log-append time") != std::string::npos);
  CHECK(app.counts().future_dated == 3);
  REQUIRE(app.commit().ok());
}

TEST_CASE("applier: a rebuild from an event store that kept a far-future event refuses it") {
  herd::test_support::temp_dir dir;
  auto old_store = open(dir, "old.db");
  {
    // A projector from before the check (its clock at the end of protobuf's time takes anything)
    // stored a year-9999 reading, the first of its partition (so it crossed no boundary).
    applier before(*old_store);
    herd::core::manual_clock end_of_time(253'402'300'799'000);
    before.set_clock(end_of_time);
    REQUIRE(before.load_positions().ok());
    const reading r{.event_id = "far", .animal = "DE1", .collar = "C1", .seq = 1,
                    .occurred_ms = 253'402'300'000'000, .ingested_ms = 253'402'300'000'000};
    feed(before, {record{"herd.events", 0, 0, "DE1", collar_envelope(r)}}, 1);
  }
  auto rebuilt = open(dir, "rebuilt.db");
  auto counts = herd::projector::rebuild_from_store(*old_store, *rebuilt);
  REQUIRE(counts.ok());
  CHECK(counts->future_dated == 1);
  CHECK(counts->applied == 0);
  auto progress = rebuilt->load_progress();
  REQUIRE(progress.ok());
  for (const auto& p : *progress) CHECK(p.watermark_us == 0);
}
