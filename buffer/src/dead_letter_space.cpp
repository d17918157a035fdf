#include "dead_letter_space.hpp"

#include <algorithm>
#include <vector>

namespace herd::buffer::detail {

namespace {
constexpr const char* k_size = "(length(payload) + length(reason) + length(source))";
}  // namespace

dead_letter_space::dead_letter_space(sqlite3* db, dead_letter_limits limits)
    : db_(db),
      limits_(limits),
      totals_(db, std::string("SELECT count(*), coalesce(sum(") + k_size + "), 0) FROM dead_letter"),
      // The forwarded ones (already in Kafka) go before any that are not; both by the
      // (forwarded, id) index, without a sort.
      oldest_(db, std::string("SELECT id, forwarded, ") + k_size +
                      " FROM dead_letter WHERE forwarded = ? ORDER BY id LIMIT ?"),
      remove_(db, "DELETE FROM dead_letter WHERE id = ?"),
      prune_(db, "DELETE FROM dead_letter WHERE forwarded = 1 AND id < (SELECT id FROM dead_letter "
                 "WHERE forwarded = 1 ORDER BY id DESC LIMIT 1 OFFSET ?)") {}

core::status dead_letter_space::refresh() {
  const int rc = totals_.step();
  if (rc == SQLITE_ROW) {
    count_ = static_cast<std::uint64_t>(totals_.column_int(0));
    bytes_ = static_cast<std::uint64_t>(totals_.column_int(1));
  }
  totals_.reset();
  if (rc != SQLITE_ROW) return sqlite_error(db_, rc, "dead letter totals");
  return core::ok_v;
}

core::result<std::uint64_t> dead_letter_space::delete_oldest(std::uint64_t n) {
  struct victim {
    std::int64_t id;
    bool forwarded;
    std::uint64_t bytes;
  };
  std::vector<victim> victims;
  int rc = SQLITE_DONE;
  for (const std::int64_t forwarded : {1, 0}) {
    if (victims.size() >= n) break;
    oldest_.bind(1, forwarded);
    oldest_.bind(2, static_cast<std::int64_t>(n - victims.size()));
    while ((rc = oldest_.step()) == SQLITE_ROW) {
      victims.push_back({oldest_.column_int(0), oldest_.column_int(1) != 0,
                         static_cast<std::uint64_t>(oldest_.column_int(2))});
    }
    oldest_.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db_, rc, "dead letter space: oldest");
  }
  std::uint64_t unforwarded = 0;
  for (const auto& v : victims) {
    remove_.bind(1, v.id);
    rc = remove_.step();
    remove_.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db_, rc, "dead letter space: delete");
    count_ -= std::min<std::uint64_t>(count_, 1);
    bytes_ -= std::min(bytes_, v.bytes);
    if (!v.forwarded) ++unforwarded;
  }
  // Counted here, although the transaction may still roll back: a rollback re-reads the totals
  // (refresh), and a drop that did not happen is then over-counted at most by one batch.
  dropped_.fetch_add(unforwarded, std::memory_order_relaxed);
  return static_cast<std::uint64_t>(victims.size());
}

core::result<bool> dead_letter_space::make_room(std::uint64_t bytes) {
  if (bytes > limits_.max_bytes || limits_.max_count == 0) return false;
  while (count_ > 0 && (count_ + 1 > limits_.max_count || bytes_ + bytes > limits_.max_bytes)) {
    // One at a time while few are over, so a steady stream of junk replaces the oldest one by one.
    auto n = delete_oldest(1);
    if (!n) return n.err();
    if (*n == 0) break;
  }
  return true;
}

core::result<std::uint64_t> dead_letter_space::free_batch() {
  // 1/16 of the count cap (at least 16): a full quota frees space in coarse steps.
  return delete_oldest(std::max<std::uint64_t>(16, limits_.max_count / 16));
}

core::status dead_letter_space::prune_forwarded() {
  prune_.bind(1, static_cast<std::int64_t>(limits_.keep_forwarded > 0 ? limits_.keep_forwarded - 1 : 0));
  const int rc = prune_.step();
  prune_.reset();
  if (rc != SQLITE_DONE) return sqlite_error(db_, rc, "dead letter space: prune forwarded");
  if (limits_.keep_forwarded == 0) {
    if (const int e = exec(db_, "DELETE FROM dead_letter WHERE forwarded = 1"); e != SQLITE_OK) {
      return sqlite_error(db_, e, "dead letter space: prune forwarded");
    }
  }
  return core::ok_v;
}

}  // namespace herd::buffer::detail
