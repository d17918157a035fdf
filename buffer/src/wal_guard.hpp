#pragma once
// Keeps the outbox's WAL bounded when another connection pins it (issue 13, case 3).
//
// A reader that keeps a read transaction open (a backup tool, an operator's sqlite3 shell left in
// BEGIN) holds a snapshot that lives in the WAL: no checkpoint may then reset the WAL, and every
// commit makes it longer (19 MB after 939 readings with max_bytes = 1 MiB, never shrinking). After
// each timed checkpoint the guard measures the WAL; past `limit` it tries a TRUNCATE checkpoint
// without waiting for readers (it never blocks ingest), which resets the file to 0 bytes when
// nobody pins it. When that fails the WAL is pinned: logged once per episode with its size, shown
// by the outbox (wal_pinned_since_ms), and the outbox then counts the WAL in max_bytes.
//
// Threading: after_checkpoint() runs under the outbox lock (the checkpointer thread, or an append
// that finds the quota passed); the
// getters are lock-free, from any thread.
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "herd/core/clock.hpp"

namespace herd::buffer::detail {

class wal_guard {
 public:
  // limit: WAL bytes past which a reset is forced (README: "up to ~4 MiB between checkpoints").
  wal_guard(std::string wal_path, std::uint64_t limit, std::shared_ptr<spdlog::logger> log, const core::clock& wall)
      : wal_path_(std::move(wal_path)), limit_(limit), log_(std::move(log)), wall_(wall) {}

  // After a timed checkpoint on `db` (the writer connection; its busy timeout is `busy_ms`).
  void after_checkpoint(sqlite3* db, int busy_ms);
  // Whether the checkpointer must call again even when nothing was committed: the WAL is over the
  // limit (a pinned WAL must be retried until the reader lets go).
  bool needs_attention() const { return wal_bytes_.load(std::memory_order_relaxed) > limit_; }

  // Measures the WAL now (one stat) and returns its bytes. The checkpointer thread, on every tick,
  // so that needs_attention() and wal_bytes() stay current.
  std::uint64_t look() { return measure(); }
  std::uint64_t wal_bytes() const { return wal_bytes_.load(std::memory_order_relaxed); }  // at the last look
  std::int64_t pinned_since_ms() const { return pinned_since_ms_.load(std::memory_order_relaxed); }  // 0: not pinned
  std::uint64_t limit() const { return limit_; }

 private:
  std::uint64_t measure();

  std::string wal_path_;
  std::uint64_t limit_;
  std::shared_ptr<spdlog::logger> log_;
  const core::clock& wall_;
  std::atomic<std::uint64_t> wal_bytes_{0};
  std::atomic<std::int64_t> pinned_since_ms_{0};
};

}  // namespace herd::buffer::detail
