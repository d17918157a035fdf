#pragma once
// The dead-letter table's own bounded space inside the outbox file (issue 14, case 2).
//
// Junk must never displace or block a valid reading. So dead letters are capped by count and by
// bytes (payload + reason + source), forwarded ones are pruned beyond a few kept for inspection,
// and when space runs out it is the oldest dead letters (forwarded first) that go, never events:
//  - make_room() before an insert: drops the oldest until the new one fits the caps;
//  - free_batch() when the file's quota is full: the outbox calls it before it applies its own
//    policy to an event append (backpressure or evict_oldest), and for a dead letter that still
//    does not fit, so neither waits on or evicts for junk.
// A dead letter dropped before Kafka had it is counted (dropped()).
//
// Thread: every method runs under the outbox's lock, inside or outside a transaction as noted.
#include <atomic>
#include <cstdint>
#include <string_view>

#include "herd/core/result.hpp"
#include "herd/sqlite/sqlite_db.hpp"
#include "outbox_errors.hpp"

namespace herd::buffer::detail {

using sqlite::exec;
using sqlite::statement;

struct dead_letter_limits {
  std::uint64_t max_count = 10'000;
  std::uint64_t max_bytes = 16u << 20;
  std::uint64_t keep_forwarded = 1'000;
};

class dead_letter_space {
 public:
  dead_letter_space() = default;
  // Prepares its statements. Throws std::runtime_error (statement). Call refresh() before use:
  // it reads the current totals, and its error keeps SQLite's classification (outbox.corrupt).
  dead_letter_space(sqlite3* db, dead_letter_limits limits);

  // Inside the insert's transaction: deletes the oldest dead letters (forwarded first) until one
  // more of `bytes` fits both caps. False when it can never fit (bytes > max_bytes).
  core::result<bool> make_room(std::uint64_t bytes);
  // In a transaction of its own: deletes a batch of the oldest dead letters (forwarded first).
  // Returns how many (0: none left).
  core::result<std::uint64_t> free_batch();
  // After forwarded ones were marked, inside that transaction: deletes the forwarded beyond the
  // newest keep_forwarded.
  core::status prune_forwarded();
  // Re-reads count and bytes from the table (after a rollback, or a prune).
  core::status refresh();
  // A dead letter of `bytes` was inserted (in the transaction that called make_room).
  void added(std::uint64_t bytes) {
    ++count_;
    bytes_ += bytes;
  }
  // Counts a new dead letter that was dropped because it could not be stored at all.
  void count_dropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }

  std::uint64_t count() const { return count_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  const dead_letter_limits& limits() const { return limits_; }

 private:
  // Deletes up to `n` of the oldest (forwarded first); adds unforwarded ones to dropped.
  core::result<std::uint64_t> delete_oldest(std::uint64_t n);

  sqlite3* db_ = nullptr;
  dead_letter_limits limits_;
  statement totals_, oldest_, remove_, prune_;
  std::uint64_t count_ = 0;
  std::uint64_t bytes_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace herd::buffer::detail
