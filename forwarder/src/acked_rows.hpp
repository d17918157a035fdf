#pragma once
// The storage steps after a Kafka ack (issue 13, case 1): events Kafka acknowledged are deleted
// from the outbox, dead letters it acknowledged are marked forwarded. A step that fails (disk
// full, I/O error) keeps its rows here and is retried with backoff until it succeeds; meanwhile
// has_event()/has_dead_letter() tell the loop never to produce them again, so neither a producer
// rebuild nor a rate-limited drain resends an acknowledged event. An acknowledged event left in
// the outbox would be produced again after a restart, behind newer ones.
//
// Deletes are gathered (issue 15, goal 1): one transaction for the acks of up to
// k_gather_delay, or as soon as k_gather_max_events wait, instead of one per delivery-report
// batch. At a farm's pace (a few readings a second, each acknowledged alone) that halved the
// synced transactions per reading, and still saves the pages each transaction rewrites (since
// 2026-12-03 the outbox does not fsync a delete itself: outbox::ack); at a drain's pace batches
// are full long before the delay. The
// price is a crash window: events acknowledged in the last k_gather_delay before a crash (at most
// k_gather_max_events of them) are produced again after the restart, with their event_id, which
// consumers drop as duplicates (DESIGN.md: at least once, deduplicated by event_id). A stop
// (destroying the producer) deletes what waits at once.
//
// Thread: everything on the forwarder thread, except added(), deleted() and dead_letters_marked() (any).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <unordered_set>
#include <vector>

#include <spdlog/logger.h>

#include "herd/buffer/outbox.hpp"
#include "herd/forwarder/forwarder.hpp"

namespace herd::forwarder {

class acked_rows {
 public:
  using steady = std::chrono::steady_clock;
  // Backoff between failed attempts: 50 ms, doubling up to 2 s (a full disk frees slowly; a
  // retry a few times a second costs nothing while it does not).
  static constexpr std::chrono::milliseconds k_backoff_min{50};
  static constexpr std::chrono::milliseconds k_backoff_max{2000};
  // Gathering (above): the longest an acknowledged event waits for its delete, and the number of
  // waiting events that starts it at once. Our choice, not a spec's: 1 s bounds the resend after a
  // crash to what one second of a drain acknowledges (at most 1,000 events); 1,000 rows make a
  // delete transaction of ~25 WAL pages, small beside the inserts it follows.
  static constexpr std::chrono::milliseconds k_gather_delay{1000};
  static constexpr std::size_t k_gather_max_events = 1000;

  // `outbox` and `reporter` must outlive this; the reporter hears every attempt's result.
  acked_rows(buffer::outbox& outbox, const storage_reporter& reporter, std::shared_ptr<spdlog::logger> log);

  // An outbox event acknowledged by Kafka (or moved to the dead-letter table): to be deleted.
  // Adding one twice (a duplicate report) keeps one.
  void add_event(std::uint64_t seq);
  // A dead letter acknowledged by Kafka: to be marked forwarded.
  void add_dead_letter(std::int64_t id);
  bool has_event(std::uint64_t seq) const { return event_set_.count(seq) > 0; }
  bool has_dead_letter(std::int64_t id) const { return dead_letter_set_.count(id) > 0; }
  // Nothing waits for a storage step.
  bool empty() const { return events_.empty() && dead_letters_.empty(); }
  std::size_t events_waiting() const { return events_.size(); }

  // Runs the storage steps if any wait and they are due (due_at(); `force`: now, at a stop or a
  // producer rebuild): deletes the events, then marks the dead letters. Logs the first failure
  // and the recovery (one line each, not one per attempt).
  void apply(steady::time_point now, bool force);
  // When the waiting steps are due: after a failure, its backoff; otherwise k_gather_delay after
  // the oldest waiting ack, or at once when k_gather_max_events wait or a dead letter does (dead
  // letters are rare: not gathered). Meaningful while !empty().
  steady::time_point due_at() const;
  // The wait before the next attempt after another failure.
  std::chrono::milliseconds backoff() const { return backoff_; }

  // Events added (acknowledged by Kafka or dead-lettered, each once) / deleted / dead letters
  // marked forwarded, since construction. Any thread.
  std::uint64_t added() const { return added_.load(); }
  std::uint64_t deleted() const { return deleted_.load(); }
  std::uint64_t dead_letters_marked() const { return dead_letters_marked_.load(); }

 private:
  buffer::outbox& outbox_;
  const storage_reporter& reporter_;
  std::shared_ptr<spdlog::logger> log_;
  // `event_set_` mirrors `events_` for the lookup; `events_` keeps the order for the delete.
  std::vector<std::uint64_t> events_;
  std::unordered_set<std::uint64_t> event_set_;
  std::vector<std::int64_t> dead_letters_;
  std::set<std::int64_t> dead_letter_set_;
  std::chrono::milliseconds backoff_ = k_backoff_min;
  steady::time_point retry_at_{};     // while failing_: the next attempt
  steady::time_point waiting_since_{};  // when the oldest waiting step was added
  bool failing_ = false;
  std::atomic<std::uint64_t> added_{0}, deleted_{0}, dead_letters_marked_{0};
};

}  // namespace herd::forwarder
