#include "wal_guard.hpp"

#include <filesystem>

namespace herd::buffer::detail {

std::uint64_t wal_guard::measure() {
  std::error_code ec;  // no WAL file (a rollback journal, or just truncated away) counts as 0
  const auto n = std::filesystem::file_size(wal_path_, ec);
  const std::uint64_t bytes = ec ? 0 : static_cast<std::uint64_t>(n);
  wal_bytes_.store(bytes, std::memory_order_relaxed);
  return bytes;
}

void wal_guard::after_checkpoint(sqlite3* db, int busy_ms) {
  const std::uint64_t before = measure();
  if (before <= limit_) {
    if (const auto since = pinned_since_ms(); since != 0) {
      log_->info("the WAL is back to {} bytes (pinned for {} s)", before, (wall_.now_ms() - since) / 1000);
      pinned_since_ms_.store(0, std::memory_order_relaxed);
    }
    return;
  }
  // RESTART/TRUNCATE wait in the busy handler for readers to leave the WAL: not here, where the
  // outbox lock is held and ingest would wait with us. Without a busy handler it tries once.
  sqlite3_busy_timeout(db, 0);
  int log_frames = 0, done_frames = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &done_frames);
  sqlite3_busy_timeout(db, busy_ms);
  const std::uint64_t after = measure();
  if (rc == SQLITE_OK && after <= limit_) {
    if (const auto since = pinned_since_ms(); since != 0) {
      log_->info("WAL reset from {} bytes: the reader that pinned it let go after {} s", before,
                 (wall_.now_ms() - since) / 1000);
      pinned_since_ms_.store(0, std::memory_order_relaxed);
    }
    return;
  }
  if (pinned_since_ms() == 0) {
    pinned_since_ms_.store(wall_.now_ms(), std::memory_order_relaxed);
    log_->warn("the WAL ({}) is {} bytes, over its {} byte limit, and cannot be reset: another "
               "connection holds a read transaction (a backup tool, an sqlite3 shell left in a "
               "transaction?); {} of {} frames copied; it now counts in max_bytes until the reader "
               "lets go (ingest is refused with outbox.wal_pinned when the quota is reached)",
               wal_path_, after, limit_, done_frames, log_frames);
  }
}

}  // namespace herd::buffer::detail
