// What only the PostgreSQL store has to prove: several projector instances (connections) writing
// one read model at once - claim fencing between an owner and a zombie, counters without lost
// updates, one copy of an event two instances append together.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <herd/test_support/wait_until.hpp>

#include "herd/pg/connection.hpp"
#include "pg_fixture.hpp"

using namespace herd;
using read_model::partition_progress;
using read_model::stored_event;

namespace {

std::unique_ptr<read_model::store_txn> begin(read_model::store& s) {
  auto t = s.begin();
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.err().message));
  return std::move(*t);
}

stored_event event(const std::string& id, std::int64_t offset) {
  stored_event e;
  e.event_id = id;
  e.animal_id = "276000000000001";
  e.event_type = "collar.reading.v1";
  e.occurred_at_us = 1'795'000'000'000'000 + offset;
  e.gateway_id = "gw-1";
  e.gateway_seq = static_cast<std::uint64_t>(offset);
  e.envelope = std::string("env\0", 4) + id;
  e.topic = "herd.events";
  e.partition = 0;
  e.offset = offset;
  return e;
}

partition_progress progress(std::int32_t partition, std::int64_t next, std::uint64_t applied) {
  partition_progress p;
  p.topic = "herd.events";
  p.partition = partition;
  p.next_offset = next;
  p.applied = applied;
  p.duplicates = 1;
  return p;
}

// Backends of `db` waiting for a lock (an advisory lock, another transaction's row or index
// entry): how a test knows a second instance is blocked, without sleeping.
int lock_waiters(const std::string& db) {
  auto c = pg::connection::open(db);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  auto r = (*c)->query(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
      "wait_event_type = 'Lock'");
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  return static_cast<int>(r->int64(0, 0));
}

bool wait_for_lock_waiter(const std::string& db) {
  return test_support::wait_until([&] { return lock_waiters(db) > 0; },
                                  std::chrono::milliseconds(10000), std::chrono::milliseconds(20));
}

}  // namespace

TEST_CASE("pg store: a zombie's claim waits for the owner's transaction, then sees the offset moved") {
  const std::string db = pg_test::fresh_database();
  auto owner = pg_test::open_store(pg_test::options_for(db));
  auto zombie_options = pg_test::options_for(db);
  zombie_options.lock_timeout_ms = 300;
  auto zombie = pg_test::open_store(zombie_options);

  auto t = begin(*owner);
  auto claimed = t->claim("herd.events", 3, -1);
  REQUIRE(claimed.ok());
  CHECK(*claimed);
  const partition_progress moved = progress(3, 500, 499);
  REQUIRE(t->add_progress({&moved, 1}).ok());

  {  // While the owner holds the partition, the zombie's claim fails retriably (lock_timeout).
    auto z = begin(*zombie);
    auto blocked = z->claim("herd.events", 3, -1);
    REQUIRE_FALSE(blocked.ok());
    CHECK(blocked.err().kind == core::error_kind::retriable);
  }
  {  // Another partition is not blocked.
    auto z = begin(*zombie);
    auto other = z->claim("herd.events", 4, -1);
    REQUIRE(other.ok());
    CHECK(*other);
  }

  // A zombie waiting (without a timeout) is let in when the owner commits and sees the move.
  auto patient_options = pg_test::options_for(db);
  patient_options.lock_timeout_ms = 0;
  auto patient = pg_test::open_store(patient_options);
  std::atomic<int> outcome{-1};  // -1 waiting, 0 claim false, 1 claim true, 2 error
  std::thread waiter([&] {
    auto z = patient->begin();
    if (!z.ok()) {
      outcome = 2;
      return;
    }
    auto c = (*z)->claim("herd.events", 3, -1);  // what it read before the rebalance
    outcome = !c.ok() ? 2 : (*c ? 1 : 0);
  });
  // The waiter is blocked on the partition's lock until the owner commits.
  CHECK(wait_for_lock_waiter(db));
  CHECK(outcome.load() == -1);
  REQUIRE(t->commit().ok());
  waiter.join();
  CHECK(outcome.load() == 0);  // fenced: the stored offset is 500, not -1

  auto after = begin(*zombie);
  auto ok = after->claim("herd.events", 3, 500);
  REQUIRE(ok.ok());
  CHECK(*ok);
}

TEST_CASE("pg store: counters added by concurrent writers lose no update") {
  const std::string db = pg_test::fresh_database();
  constexpr int writers = 4;
  constexpr int batches = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      auto s = read_model::open_pg_store(pg_test::options_for(db));
      if (!s.ok()) {
        ++failures;
        return;
      }
      for (int b = 0; b < batches; ++b) {
        auto t = (*s)->begin();
        if (!t.ok()) {
          ++failures;
          continue;
        }
        // Every writer bumps the same partition 0 and its own partition 1 + w.
        const partition_progress deltas[] = {progress(0, b, 3), progress(1 + w, b + 1, 2)};
        if (!(*t)->add_progress(deltas).ok() || !(*t)->commit().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(failures.load() == 0);
  auto s = pg_test::open_store(pg_test::options_for(db));
  auto p = s->load_progress();
  REQUIRE(p.ok());
  REQUIRE(p->size() == 1 + writers);
  CHECK((*p)[0].partition == 0);
  CHECK((*p)[0].applied == 3u * writers * batches);
  CHECK((*p)[0].duplicates == 1u * writers * batches);
  for (int w = 0; w < writers; ++w) {
    CHECK((*p)[1 + w].applied == 2u * batches);
    CHECK((*p)[1 + w].next_offset == batches);
  }
}

TEST_CASE("pg store: an event appended by two instances at once is stored once") {
  const std::string db = pg_test::fresh_database();
  auto a = pg_test::open_store(pg_test::options_for(db));
  auto b = pg_test::open_store(pg_test::options_for(db));
  const stored_event e = event("3f1d2c4e-0000-4000-8000-000000000001", 7);

  auto ta = begin(*a);
  auto fa = ta->append_events({&e, 1});
  REQUIRE(fa.ok());
  CHECK((*fa)[0]);
  // b's insert of the same event_id waits for a's transaction (unique index), then skips it.
  std::atomic<int> b_flag{-1};
  std::thread other([&] {
    auto tb = b->begin();
    if (!tb.ok()) return;
    auto fb = (*tb)->append_events({&e, 1});
    if (fb.ok() && (*tb)->commit().ok()) b_flag = (*fb)[0] ? 1 : 0;
  });
  CHECK(wait_for_lock_waiter(db));  // b waits for a's transaction on the unique index
  CHECK(b_flag.load() == -1);
  REQUIRE(ta->commit().ok());
  other.join();
  CHECK(b_flag.load() == 0);  // duplicate
  auto st = a->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 1);
}

// append_events probes the ids first and COPYs the rest (pg_txn.cpp): an id another transaction
// appends after the probe makes the COPY fail on the unique index once that one commits; the
// savepoint undoes the COPY and INSERT ... ON CONFLICT DO NOTHING stores the others, in order.
TEST_CASE("pg store: a batch meeting an event another instance appended meanwhile stores the rest in order") {
  const std::string db = pg_test::fresh_database();
  auto a = pg_test::open_store(pg_test::options_for(db));
  auto b = pg_test::open_store(pg_test::options_for(db));
  const stored_event x = event("3f1d2c4e-0000-4000-8000-00000000000x", 1);
  const std::vector<stored_event> batch = {event("3f1d2c4e-0000-4000-8000-00000000000y", 2), x,
                                           event("3f1d2c4e-0000-4000-8000-00000000000z", 3)};
  auto ta = begin(*a);
  REQUIRE(ta->append_events({&x, 1}).ok());
  std::vector<bool> b_fresh;
  std::atomic<bool> b_done{false};
  std::thread other([&] {
    auto tb = b->begin();
    if (tb.ok()) {
      auto fb = (*tb)->append_events(batch);
      if (fb.ok() && (*tb)->commit().ok()) b_fresh = *fb;
    }
    b_done = true;
  });
  CHECK(wait_for_lock_waiter(db));  // b's COPY waits for a's transaction on x
  CHECK_FALSE(b_done.load());
  REQUIRE(ta->commit().ok());
  other.join();
  CHECK(b_fresh == std::vector<bool>{true, false, true});
  auto stored = a->read_events(0, 10);
  REQUIRE(stored.ok());
  REQUIRE(stored->size() == 3);
  CHECK((*stored)[0].event_id == x.event_id);
  CHECK((*stored)[1].event_id == batch[0].event_id);
  CHECK((*stored)[2].event_id == batch[2].event_id);
  CHECK((*stored)[2].envelope == batch[2].envelope);
}

TEST_CASE("pg store: a batch that waited on an event of a transaction rolled back stores it") {
  const std::string db = pg_test::fresh_database();
  auto a = pg_test::open_store(pg_test::options_for(db));
  auto b = pg_test::open_store(pg_test::options_for(db));
  const stored_event x = event("3f1d2c4e-0000-4000-8000-00000000000x", 1);
  const std::vector<stored_event> batch = {event("3f1d2c4e-0000-4000-8000-00000000000y", 2), x};
  auto ta = begin(*a);
  REQUIRE(ta->append_events({&x, 1}).ok());
  std::vector<bool> b_fresh;
  std::thread other([&] {
    auto tb = b->begin();
    if (!tb.ok()) return;
    auto fb = (*tb)->append_events(batch);
    if (fb.ok() && (*tb)->commit().ok()) b_fresh = *fb;
  });
  CHECK(wait_for_lock_waiter(db));
  ta.reset();  // rolled back: x is b's to store after all
  other.join();
  CHECK(b_fresh == std::vector<bool>{true, true});
  auto st = a->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 2);
}

TEST_CASE("pg store: one relay lease per read model, the next instance takes it when the holder session ends") {
  const auto o = pg_test::options_for(pg_test::fresh_database());
  auto a = pg_test::open_store(o);
  auto b = pg_test::open_store(o);
  auto la = a->relay_lease();
  REQUIRE(la.ok());
  CHECK(*la);
  auto lb = b->relay_lease();
  REQUIRE(lb.ok());
  CHECK_FALSE(*lb);  // a stand-by
  la = a->relay_lease();  // the holder keeps it, however often it asks
  REQUIRE(la.ok());
  CHECK(*la);
  a.reset();  // the holder's session ends (a crash closes it the same way)
  const bool taken = test_support::wait_until(
      [&] {
        auto l = b->relay_lease();
        return l.ok() && *l;
      },
      std::chrono::milliseconds(10000), std::chrono::milliseconds(50));
  CHECK(taken);
}
