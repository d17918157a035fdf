#pragma once
// The forwarder's drain planner: what to produce next while a backlog drains (see forwarder.hpp for
// the policy). Pure: no Kafka, no SQLite, no threads; time comes from an injected monotonic clock
// (ms). The loop (forwarder.cpp) reads the outbox, produces, and tells the planner what happened;
// the planner keeps the backlog split, the live events held per animal, the order in which held
// events are released, and the backlog lane's rate tokens.
//
// Thread: one (the forwarder thread); not thread-safe. Errors: none (all inputs are valid states;
// a seq or key the planner does not know is ignored).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "herd/buffer/outbox.hpp"
#include "herd/core/clock.hpp"

namespace herd::forwarder {

struct drain_limits {
  std::size_t max_in_flight = 2000;      // events produced, not yet reported (the whole window)
  std::size_t batch = 500;               // outbox rows read at once
  std::size_t backlog_threshold = 2000;  // more unproduced events than this is a backlog
  std::uint32_t drain_rate = 0;          // backlog events per second; 0 = unlimited
  std::size_t drain_max_queued = 2000;   // backlog events produced and not yet reported, at most
  std::size_t max_deferred = 20000;      // live events held in memory, at most
};

class drain_planner {
 public:
  // `mono` is a monotonic clock in ms (core::boot_clock in the daemon, core::manual_clock in
  // tests); it must outlive the planner.
  drain_planner(drain_limits limits, const core::clock& mono);

  // Not draining: what to do with the outbox whose newest seq is `newest`, the loop having
  // produced up to `cursor` with `in_flight` events not yet reported.
  enum class step {
    in_order,        // no backlog: produce in outbox order
    wait_for_acks,   // a backlog, but wait until Kafka is back before splitting (while Kafka is
                     // away the window stays full: a split then would call most of the outage
                     // "live")
    split,           // split now: call start()
  };
  // Kafka is back when everything produced is reported, or when a delivery report succeeded
  // after the backlog was first seen (`last_ack_ms`: the planner's clock at the latest successful
  // report, -1 for none): a broker that is slow to come back, or stays down, then holds only its
  // own partitions' events in flight (partition_window), not the split of every other partition
  // (issue 15, goal 4). Notes when the backlog was first seen; any other answer forgets it.
  step next_step(std::uint64_t newest, std::uint64_t cursor, std::size_t in_flight, std::int64_t last_ack_ms = -1);

  // Starts a drain of the backlog (after, split.newest]: `after` is the loop's cursor (events up
  // to it are produced; some may still be in flight). `split.last_per_key` names each animal's
  // last backlog seq (exact: keys whose events were all acknowledged must not be listed).
  void start(buffer::outbox::backlog_split split, std::uint64_t after = 0);
  // Whether `seq` is one of the drain's backlog events: (after, backlog_end] while draining.
  bool in_backlog(std::uint64_t seq) const { return draining_ && seq > backlog_start_ && seq <= backlog_end_; }
  bool draining() const { return draining_; }
  std::uint64_t backlog_end() const { return backlog_end_; }  // seq; 0 when not draining
  std::size_t backlog_animals() const { return backlog_last_.size(); }

  // --- the live lane: events after backlog_end, produced first ---
  std::uint64_t live_cursor() const { return live_cursor_; }  // last live seq handed on (seq)
  void live_passed(std::uint64_t seq) { live_cursor_ = seq; }
  // Whether a live event of `key` must wait: its animal has backlog events not yet produced, or
  // live events of its own already held.
  bool must_hold(const std::string& key) const;
  // Live events that may still be held (max_deferred minus those held).
  std::size_t hold_room() const;
  void hold(buffer::record r);
  std::size_t held() const { return held_count_; }

  // --- the backlog lane ---
  // Backlog events that may be produced now: bounded by drain_max_queued (minus those queued,
  // except `stalled` of them: backlog events beyond their partition's share, partition_window,
  // which wait for their own broker and delay nothing else), the window (max_in_flight minus
  // `in_flight`: what counts against it), the rate tokens and the batch. Refills the token
  // bucket (holding at most 100 ms of rate, at least 1 token) from the clock.
  std::size_t allowance(std::size_t in_flight, std::size_t stalled = 0);
  // A backlog event was handed on: to Kafka (`to_kafka`: it is queued, takes a token, and a
  // delivery report will come) or to the dead-letter table (no report will come: not queued).
  // When it was its animal's last backlog event, that animal's held events are released.
  void backlog_produced(const std::string& key, std::uint64_t seq, bool to_kafka);
  // Every backlog event was handed on (those of animals still listed were evicted or
  // dead-lettered): release every held event.
  void backlog_done();
  // A delivery report (success or failure) for the event `seq`: frees a backlog slot when it is
  // one of the drain's backlog events (in_backlog).
  void reported(std::uint64_t seq);

  // --- releases: held events go right after their animal's last backlog event, in order ---
  // The next released event to produce, or nullptr when none waits. Stays valid until
  // release_produced() or reset().
  const buffer::record* next_release();
  void release_produced();  // the event next_release() gave was handed on

  // Backlog events handed on since start() and ms since start() (for the "drained" log line).
  std::uint64_t produced_since_start() const { return produced_; }
  std::int64_t ms_since_start() const { return mono_.now_ms() - started_ms_; }
  // Forgets the drain (after it finished, or when the producer is rebuilt and everything is
  // resent from the oldest event).
  void reset();

 private:
  drain_limits limits_;
  const core::clock& mono_;
  bool draining_ = false;
  std::uint64_t backlog_start_ = 0, backlog_end_ = 0;  // the backlog is (backlog_start_, backlog_end_]
  std::int64_t backlog_seen_ms_ = -1;  // next_step: when a backlog was first seen waiting; -1 none
  std::uint64_t live_cursor_ = 0;
  std::unordered_map<std::string, std::uint64_t> backlog_last_;  // animal -> last backlog seq not produced
  std::unordered_map<std::string, std::deque<buffer::record>> held_;  // live events per animal
  std::vector<std::string> released_;  // animals whose backlog is produced; some held events are not
  std::size_t held_count_ = 0;
  std::size_t queued_ = 0;  // backlog events produced to Kafka, not yet reported
  double tokens_ = 0;
  std::int64_t refilled_ms_ = 0, started_ms_ = 0;
  std::uint64_t produced_ = 0;
};

}  // namespace herd::forwarder
