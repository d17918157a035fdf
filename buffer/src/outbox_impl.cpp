#include "outbox_impl.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace herd::buffer {

using sqlite::exec;

// Each eviction frees at least one batch; more than this many in one append means the space
// goes elsewhere (dedup keys, dead letters, another file on the disk): report full instead.
constexpr int k_max_evictions_per_append = 16;

core::status outbox::impl::wal_quota() {
  if (!wal || max_bytes == 0) return core::ok_v;
  const bool look = wal->pinned_since_ms() != 0 || ++appends_since_wal_look >= 32;
  if (!look) return core::ok_v;
  appends_since_wal_look = 0;
  std::uint64_t total = 0;
  for (const auto& f : {path, path + "-wal"}) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(f, ec);
    if (!ec) total += n;
  }
  if (total <= max_bytes) return core::ok_v;
  if (wal->pinned_since_ms() == 0) {
    // While the checkpointer copies without the lock it holds SQLite's checkpoint lock, and a
    // reset here would fail as if a reader pinned the WAL: its own step under the lock follows.
    if (checkpoint_unlocked.load()) return core::ok_v;
    wal->after_checkpoint(db, k_busy_timeout_ms);  // reset now if nobody pins it (no waiting)
    if (wal->pinned_since_ms() == 0) return core::ok_v;
  }
  return core::error::retriable(
      "outbox full: the WAL cannot be reset (another connection holds a read transaction) and the "
      "database with its WAL is " + std::to_string(total) + " bytes, over max_bytes " +
          std::to_string(max_bytes), "outbox.wal_pinned");
}

outbox::impl::~impl() {
  {
    std::lock_guard lock(ckpt_mu);
    ckpt_stop = true;
  }
  ckpt_cv.notify_one();
  if (checkpointer.joinable()) checkpointer.join();
  release_reservation();
}

void outbox::impl::release_reservation() {
  if (reserve_step == 0 || db == nullptr || reserved < next_seq) return;
  const std::string sql = "UPDATE outbox_seq SET high = " + std::to_string(next_seq - 1);
  if (exec(db, "PRAGMA synchronous=FULL") == SQLITE_OK && exec(db, sql.c_str()) == SQLITE_OK) {
    reserved = next_seq - 1;
    high_stored = reserved;
  }
}

int outbox::impl::on_wal_commit(void* self, sqlite3* db, const char* name, int frames) {
  auto* p = static_cast<impl*>(self);
  p->wal_commits.fetch_add(1, std::memory_order_relaxed);
  // A synced commit that wrote frames (this hook runs only then; a commit that wrote nothing, e.g.
  // a duplicate append, fsyncs nothing) covers every frame before it, unsynced acks' included.
  if (p->unsynced_acks && !p->in_unsynced_commit) p->acks_to_sync.store(false, std::memory_order_relaxed);
  const auto pages = static_cast<int>(p->autocheckpoint_pages);
  if (pages == 0 || frames < pages / 2) return SQLITE_OK;
  // Half full: the checkpointer copies it while appends go on. An acknowledgement's commit
  // (outbox::ack) never copies here, whatever the size: the forwarder's thread does not wait for a
  // checkpoint's copy and fsyncs; the next append's commit or the checkpointer will.
  if (frames < pages || p->in_unsynced_commit) {
    if (!p->checkpoint_asked.exchange(true)) {  // once until the checkpointer takes it
      std::lock_guard lock(p->ckpt_mu);
      p->ckpt_cv.notify_one();
    }
    return SQLITE_OK;
  }
  // Full, and the checkpointer has not caught up (ingest outruns it, or it is slow): here, as
  // SQLite's own automatic checkpoint would, so the WAL stays within the bound. Busy when the
  // checkpointer is in the middle of one: the next commit tries again.
  int log_frames = 0, done_frames = 0;
  if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames) == SQLITE_OK &&
      done_frames > 0) {  // a pinned WAL copies nothing: not a checkpoint that delayed a reading
    p->checkpoints_in_commit.fetch_add(1, std::memory_order_relaxed);
  }
  return SQLITE_OK;
}

outbox::impl::wal_sync outbox::impl::sync_wal() {
  // The checkpointer connection's own handle of the WAL (opened at open by a read; if it is not,
  // pMethods is null and the tick copies instead). An fsync through any descriptor of the file
  // flushes every write to it, the writer connection's included.
  sqlite3_file* f = nullptr;
  if (sqlite3_file_control(checkpoint_conn.db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || f == nullptr ||
      f->pMethods == nullptr) {
    return wal_sync::unavailable;
  }
  errno = 0;
  const int rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
  if (rc == SQLITE_OK) return wal_sync::done;
  const int sys = errno;
  durability_lost("timed fsync of the outbox's WAL failed (SQLite code " + std::to_string(rc) + ", " +
                  (sys != 0 ? std::strerror(sys) : "no errno") +
                  "): readings acknowledged since the last good fsync may not be on disk");
  return wal_sync::failed;
}

void outbox::impl::durability_lost(std::string why) {
  if (wal_failure_claimed.exchange(true)) return;  // the first reason stays
  wal_sync_failure = std::move(why);
  wal_sync_failed.store(true, std::memory_order_release);
}

void outbox::impl::run_checkpointer(std::chrono::milliseconds every, tick_action on_tick) {
  std::unique_lock lock(ckpt_mu);
  for (;;) {
    ckpt_cv.wait_for(lock, every, [&] { return ckpt_stop || checkpoint_asked.load(); });
    if (ckpt_stop) break;
    const bool asked = checkpoint_asked.exchange(false);
    const bool committed = committed_since_checkpoint.exchange(false);
    // Acknowledgement deletes no append has synced since (outbox::ack): one fsync, here, whatever
    // else the tick does.
    const bool acks = acks_to_sync.exchange(false);
    // Whatever the mode, a WAL at half its byte limit is copied (wal_autocheckpoint_pages may be
    // 0, and then nothing else asks).
    const bool big = wal && wal->look() >= wal->limit() / 2;
    const bool timed_sync = committed && on_tick == tick_action::sync && !big && !asked;
    bool acks_unsynced = false;
    if (timed_sync || acks) {
      lock.unlock();  // on_wal_commit takes ckpt_mu in a commit: no append waits for this fsync
      const wal_sync r = sync_wal();
      lock.lock();
      // No handle to fsync: the copy below fsyncs the WAL; if it cannot run, the next tick tries again.
      acks_unsynced = r == wal_sync::unavailable && acks;
      if (acks_unsynced) acks_to_sync.store(true, std::memory_order_relaxed);
      if (r == wal_sync::done) {
        timed_wal_syncs.fetch_add(1, std::memory_order_relaxed);
        if (timed_sync) continue;  // else the size or a request may still ask for a copy below
      }
      if (r == wal_sync::failed) {
        // After a failed fsync the kernel may have dropped the pages: a copy now would say
        // nothing about what is on disk. The next append fails (fatal), as a commit's would.
        if (wal_sync_failed.load(std::memory_order_acquire)) log->error("{}", wal_sync_failure);
        continue;
      }
    }
    const bool copy = (committed && (on_tick != tick_action::look || big)) || acks_unsynced;
    // A WAL over its limit is looked at again even when idle: a pinned one until it resets.
    if (!copy && !asked && !(wal && wal->needs_attention())) continue;
    lock.unlock();
    checkpoint_twice();
    lock.lock();
  }
}

void outbox::impl::checkpoint_twice() {
  sqlite3* c = checkpoint_conn.db;
  int log_frames = 0, done_frames = 0;
  // 1. Without the outbox lock: appends commit to the WAL meanwhile. PASSIVE never waits for
  // readers or the writer. It fsyncs the WAL before copying (what makes synchronous = normal
  // commits durable), copies, and fsyncs the database file only when it copied the whole WAL.
  const std::uint64_t commits_before = wal_commits.load();
  {
    std::lock_guard db_lock(mu);  // so that wal_quota (under mu) sees the flag before step 1 starts
    checkpoint_unlocked.store(true);
  }
  int rc = sqlite3_wal_checkpoint_v2(c, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames);
  const bool whole = rc == SQLITE_OK && done_frames == log_frames && wal_commits.load() == commits_before;
  if (rc == SQLITE_OK && !whole) {
    // What it copied is dirty in the page cache: write it out now, through SQLite's own handle of
    // the database file (closing a descriptor of our own would drop the process's locks on the
    // file), so that step 2's fsync of the database file has little left to do.
    sqlite3_file* f = nullptr;
    if (sqlite3_file_control(c, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f != nullptr &&
        f->pMethods != nullptr) {
      (void)f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
    }
  }
  checkpoint_unlocked.store(false);
  {
    std::lock_guard db_lock(mu);
    // 2. Under the lock, only when appends came in during step 1 (under steady ingest): no commit
    // can come in now, so this copies the rest, the whole WAL is in the database file, and the
    // next commit starts the WAL again from its beginning (a WAL is only reset after a checkpoint
    // that copied all of it: without this, steady ingest would grow it to its limit).
    if (rc == SQLITE_OK && !whole) {
      rc = sqlite3_wal_checkpoint_v2(c, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames);
    }
    if (rc != SQLITE_OK) {
      committed_since_checkpoint = true;  // try again next time
      // Busy: a commit was running its own checkpoint (on_wal_commit); nothing is wrong.
      if ((rc & 0xff) != SQLITE_BUSY) log->warn("timed checkpoint: {}", sqlite3_errmsg(c));
    } else {
      if (done_frames < log_frames) committed_since_checkpoint = true;  // a reader held some back
      checkpoints.fetch_add(1, std::memory_order_relaxed);
    }
    if (wal) wal->after_checkpoint(db, k_busy_timeout_ms);  // a forced reset runs on the writer
  }
}

core::status outbox::impl::keep_high(std::uint64_t top) {
  if (top <= high_stored) return core::ok_v;
  set_high.bind(1, static_cast<std::int64_t>(top));
  const int rc = set_high.step();
  set_high.reset();
  if (rc != SQLITE_DONE) return fail(rc, "keep the seq high-water mark");
  return core::ok_v;
}

core::status outbox::impl::ack_one(std::uint64_t seq, std::vector<std::string>& deleted, std::uint64_t& top) {
  key_of.bind(1, static_cast<std::int64_t>(seq));
  int rc = key_of.step();
  if (rc == SQLITE_ROW) deleted.push_back(key_of.column_blob(0));
  key_of.reset();
  if (rc == SQLITE_DONE) return core::ok_v;  // gone already (evicted, or acknowledged twice)
  if (rc != SQLITE_ROW) return sqlite_error(db, rc, "ack");
  remove.bind(1, static_cast<std::int64_t>(seq));
  rc = remove.step();
  remove.reset();
  if (rc != SQLITE_DONE) return sqlite_error(db, rc, "ack");
  top = std::max(top, seq);
  return core::ok_v;
}

core::status outbox::impl::ack_range(std::uint64_t first, std::uint64_t last, std::vector<std::string>& deleted,
                                     std::uint64_t& top) {
  keys_between.bind(1, static_cast<std::int64_t>(first));
  keys_between.bind(2, static_cast<std::int64_t>(last));
  int rc;
  bool any = false;
  while ((rc = keys_between.step()) == SQLITE_ROW) {
    top = std::max(top, static_cast<std::uint64_t>(keys_between.column_int(0)));
    deleted.push_back(keys_between.column_blob(1));
    any = true;
  }
  keys_between.reset();
  if (rc != SQLITE_DONE) return sqlite_error(db, rc, "ack");
  if (!any) return core::ok_v;
  remove_between.bind(1, static_cast<std::int64_t>(first));
  remove_between.bind(2, static_cast<std::int64_t>(last));
  rc = remove_between.step();
  remove_between.reset();
  if (rc != SQLITE_DONE) return sqlite_error(db, rc, "ack");
  return core::ok_v;
}

core::error outbox::impl::fail(int rc, std::string_view what) {
  last_rc = rc;
  return sqlite_error(db, rc, what);
}

void outbox::impl::forget_rows(const std::vector<std::string>& deleted) {
  for (const auto& key : deleted) {
    const auto it = keys.find(key);
    if (it == keys.end()) continue;  // cannot happen: every row was counted at open or append
    if (--it->second.rows == 0) keys.erase(it);
  }
}

std::uint64_t outbox::impl::row_count() const {
  std::uint64_t n = 0;
  for (const auto& [key, kr] : keys) n += kr.rows;
  return n;
}

core::status outbox::impl::scan_keys() {
  // One pass in seq order, counted here: SQLite's GROUP BY would sort a million rows first (0.5 s
  // against 0.2 s for the pass alone, 1,000,000 rows of 1,000 keys).
  keys.clear();
  try {
    statement all(db, "SELECT key, seq FROM outbox");
    int rc;
    while ((rc = all.step()) == SQLITE_ROW) {
      auto& kr = keys[all.column_blob(0)];
      ++kr.rows;
      kr.last = std::max(kr.last, static_cast<std::uint64_t>(all.column_int(1)));
    }
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, "count the rows per key");
  } catch (const std::exception& e) {
    return core::error::fatal(e.what());
  }
  return core::ok_v;
}

core::result<bool> outbox::impl::key_rows_plausible(const detail::key_rows_map& taken) {
  for (const auto& [key, kr] : taken) {
    if (kr.rows == 0 || kr.last >= next_seq) return false;
  }
  try {
    for (const char* sql : {"SELECT key, seq FROM outbox ORDER BY seq LIMIT 1",
                            "SELECT key, seq FROM outbox ORDER BY seq DESC LIMIT 1"}) {
      statement end(db, sql);
      const int rc = end.step();
      if (rc == SQLITE_DONE) return taken.empty();
      if (rc != SQLITE_ROW) return sqlite_error(db, rc, "read the outbox's ends");
      const auto it = taken.find(end.column_blob(0));
      if (it == taken.end() || it->second.last < static_cast<std::uint64_t>(end.column_int(1))) return false;
    }
  } catch (const std::exception& e) {
    return core::error::fatal(e.what());
  }
  return true;
}

core::result<std::uint64_t> outbox::impl::evict_oldest() {
  std::int64_t lo = 0, hi = 0, n = 0;
  std::vector<std::string> deleted;
  auto st = run_in_tx([&]() -> core::status {
    deleted.clear();
    evict_range.bind(1, std::max<std::int64_t>(32, static_cast<std::int64_t>(row_count() / 64)));
    int rc = evict_range.step();
    if (rc == SQLITE_ROW) {
      lo = evict_range.column_int(0);
      hi = evict_range.column_int(1);
      n = evict_range.column_int(2);
    }
    evict_range.reset();
    if (rc != SQLITE_ROW) return fail(rc, "evict: range");
    if (n == 0) return core::ok_v;
    evict.bind(1, hi);
    while ((rc = evict.step()) == SQLITE_ROW) deleted.push_back(evict.column_blob(0));
    evict.reset();
    if (rc != SQLITE_DONE) return fail(rc, "evict");
    if (auto forgot = dedup_forget_older(); !forgot) return forgot;
    return keep_high(static_cast<std::uint64_t>(hi));  // it may have taken the newest row
  });
  if (!st) return st.err();
  high_stored = std::max(high_stored, static_cast<std::uint64_t>(hi));
  forget_rows(deleted);
  if (n > 0) {
    evicted.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    log->warn("outbox full: evicted the {} oldest events unsent, seq {}..{} (when_full = "
              "evict_oldest); {} evicted since start",
              n, lo, hi, evicted.load(std::memory_order_relaxed));
  }
  return static_cast<std::uint64_t>(n);
}

core::status outbox::impl::run_making_room(const std::function<core::status()>& body) {
  for (int evictions = 0;; ++evictions) {
    last_rc = SQLITE_OK;
    auto st = run_in_tx(body);
    if (st) return st;
    if (st.err().code != "outbox.full") return st;
    // Junk never blocks or displaces a reading: dead letters make room before any policy.
    if (auto freed = free_dead_letters(); !freed) {
      return freed.err();
    } else if (*freed > 0) {
      --evictions;
      continue;
    }
    const std::string why = "outbox full (max_bytes or disk): " + st.err().message;
    if (when_full != full_policy::evict_oldest || evictions == k_max_evictions_per_append) {
      return core::error::retriable(why, "outbox.full");
    }
    auto freed = evict_oldest();
    if (!freed) return freed.err();
    if (*freed == 0) return core::error::retriable(why + " (nothing left to evict)", "outbox.full");
  }
}

core::result<std::uint64_t> outbox::impl::free_dead_letters() {
  if (dls->count() == 0) return std::uint64_t{0};
  std::uint64_t n = 0;
  auto st = run_in_tx([&]() -> core::status {
    auto freed = dls->free_batch();
    if (!freed) return freed.err();
    n = *freed;
    return core::ok_v;
  });
  if (!st) (void)dls->refresh();  // rolled back: the rows are there again
  if (!st) return st.err();
  if (n > 0) {
    log->warn("outbox full: dropped the {} oldest dead letters to make room ({} dropped unforwarded "
              "since start)", n, dls->dropped());
  }
  return n;
}

core::status outbox::impl::run_in_tx(const std::function<core::status()>& body) {
  int rc = begin.step();
  begin.reset();
  if (rc != SQLITE_DONE) return fail(rc, "BEGIN");
  core::status st = core::ok_v;
  try {
    st = body();
  } catch (...) {
    rollback.step();  // a throwing caller (e.g. build()) must not leave the transaction open
    rollback.reset();
    throw;
  }
  if (st) {
    rc = commit.step();
    commit.reset();
    if (rc == SQLITE_DONE) {
      committed_since_checkpoint.store(true, std::memory_order_relaxed);
      return st;
    }
    st = fail(rc, "COMMIT");
  }
  rollback.step();  // no-op error if SQLite already rolled back by itself
  rollback.reset();
  return st;
}

}  // namespace herd::buffer
