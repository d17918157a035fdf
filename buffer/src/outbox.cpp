#include "herd/buffer/outbox.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "outbox_impl.hpp"
#include "clean_stop.hpp"
#include "recovery.hpp"
#include "schema.hpp"

namespace herd::buffer {

using detail::k_schema;
using sqlite::exec;
using sqlite::statement;

namespace {

// The quota is SQLite's own page limit, so a full quota is a real SQLITE_FULL from the statement
// that would grow the file, handled exactly like a full disk. Pages freed by deletes are reused,
// so ingest resumes by itself once the forwarder has deleted what Kafka acknowledged.
core::status apply_quota(sqlite3* db, std::uint64_t max_bytes) {
  if (max_bytes == 0) return core::ok_v;
  try {
    statement ps(db, "PRAGMA page_size");
    if (ps.step() != SQLITE_ROW) return sqlite_error(db, SQLITE_ERROR, "page_size");
    const auto page = static_cast<std::uint64_t>(ps.column_int(0));
    const std::uint64_t pages = std::max<std::uint64_t>(max_bytes / page, 1);
    // SQLite never sets the limit below the file's current size: an outbox already over a lowered
    // quota takes nothing new until deletes free pages.
    statement mpc(db, "PRAGMA max_page_count = " + std::to_string(pages));
    if (mpc.step() != SQLITE_ROW) return sqlite_error(db, SQLITE_ERROR, "max_page_count");
  } catch (const std::exception& e) {
    return core::error::fatal(e.what());
  }
  return core::ok_v;
}

// Opens one of the outbox's connections (writer, reader, checkpointer) to `path`: extended
// result codes, the common busy timeout. `what` names it in the error ("open (reader)").
core::status open_connection(const std::string& path, int flags, sqlite3*& db, const std::string& what) {
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, what + " " + path);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, k_busy_timeout_ms);
  return core::ok_v;
}

const char* sync_pragma(sync_mode m) {
  switch (m) {
    case sync_mode::off: return "PRAGMA synchronous=OFF";
    case sync_mode::normal: return "PRAGMA synchronous=NORMAL";
    case sync_mode::full: break;
  }
  return "PRAGMA synchronous=FULL";
}

const char* journal_pragma(journal_mode m) {
  switch (m) {
    case journal_mode::truncate: return "PRAGMA journal_mode=TRUNCATE";
    case journal_mode::del: return "PRAGMA journal_mode=DELETE";
    case journal_mode::wal: break;
  }
  return "PRAGMA journal_mode=WAL";
}

}  // namespace

outbox::outbox(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
outbox::~outbox() {
  if (!impl_ || !impl_->clean_stop.load()) return;
  const std::string path = impl_->path;
  const auto log = impl_->log;
  std::string keys;
  {
    std::lock_guard lock(impl_->mu);
    keys = detail::encode_key_rows(impl_->keys);
  }
  impl_.reset();  // joins the checkpointer, gives the reservation back, closes both connections
  if (auto st = detail::write_clean_stop_marker(path, keys); !st) {
    log->warn("{}; the next start checks the whole outbox", st.err().message);
  }
}

void outbox::mark_clean_stop() { impl_->clean_stop.store(true); }

// Debian builds SQLite with SQLITE_SECURE_DELETE: every page a delete frees is zeroed and
// written. FAST zeroes deleted content only in pages written anyway. Clearing a generation of a
// million dedup keys: 57 MB of WAL and 0.83 s with it on, 0.23 MB and 0.12 s with FAST (Python
// sqlite3 model, 1 KiB pages); every freed leaf of the outbox table cost a page as well. What the
// outbox deletes (acknowledged readings) is no secret kept from someone holding the file.
constexpr const char* k_secure_delete = "PRAGMA secure_delete=FAST";

core::result<std::unique_ptr<outbox>> outbox::open(const outbox_options& options) {
  auto p = std::make_unique<impl>();
  p->clock = options.clock != nullptr ? options.clock : &p->default_clock;
  // Generations count seqs; with synchronous != full a crash skips up to a claimed block of them
  // (k_seq_reservation), which must not empty both generations at the next append.
  p->dedup_window = std::max<std::uint64_t>(
      options.dedup_window, options.synchronous == sync_mode::full ? 1 : k_seq_reservation);
  p->path = options.path;
  p->when_full = options.when_full;
  // Before anything writes to the file: a corrupt outbox is moved aside and salvaged, so the
  // gateway starts (instead of failing on every start) and loses only rows on damaged pages.
  // After a clean stop (the marker matches the file), that check would read the whole file for
  // nothing: skipped, unless the config says always. The marker is taken in every case.
  std::string marker_payload;
  const bool clean_stop = detail::take_clean_stop_marker(options.path, &marker_payload);
  const bool check = options.check_at_start == start_check::always || !clean_stop;
  std::error_code exists_ec;
  p->report.checked = check && std::filesystem::exists(options.path, exists_ec);
  const auto check_started = std::chrono::steady_clock::now();
  core::result<std::optional<std::string>> corruption = std::optional<std::string>();
  if (check) corruption = detail::find_corruption(options.path);
  if (!corruption) return corruption.err();
  p->report.check_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - check_started).count();
  if (*corruption) {
    p->report.problem = **corruption;
    p->log->error("outbox {} is corrupt ({}); moving it aside and salvaging what is readable",
                  options.path, p->report.problem);
    if (auto st = detail::quarantine_and_salvage(options.path, p->clock->now_ms(), options.page_size, p->report); !st) {
      return st.err();
    }
    p->log->warn("outbox {} quarantined as {}; salvaged {} events, {} dead letters, {} dedup keys "
                 "into a fresh outbox; the highest seq it shows is {}, the sequence goes on 10,000 after it",
                 options.path, p->report.quarantine_path, p->report.salvaged_events,
                 p->report.salvaged_dead_letters, p->report.salvaged_dedup_keys,
                 p->report.highest_seq);
  }
  if (auto st = open_connection(options.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, p->db, "open"); !st) {
    return st.err();
  }
  int rc = SQLITE_OK;
  // WAL: appends do not block the forwarder's reads, and a crash never tears a committed row.
  if (options.page_size != 0) {  // before the journal mode: a WAL file's page size is fixed
    rc = exec(p->db, ("PRAGMA page_size=" + std::to_string(options.page_size)).c_str());
    if (rc != SQLITE_OK) return sqlite_error(p->db, rc, "init: page_size");
  }
  const std::string autockpt = "PRAGMA wal_autocheckpoint=" + std::to_string(options.wal_autocheckpoint_pages);
  for (const char* sql : {journal_pragma(options.journal), sync_pragma(options.synchronous),
                          autockpt.c_str(), "PRAGMA foreign_keys=OFF", k_secure_delete, k_schema}) {
    rc = exec(p->db, sql);
    if (rc != SQLITE_OK) return sqlite_error(p->db, rc, std::string("init: ") + sql);
  }
  try {
    // Before the quota: moving a former dedup table needs room for its keys until it is dropped.
    if (auto st = p->open_dedup(); !st) return st.err();
  } catch (const std::exception& e) {
    return core::error::fatal(e.what());
  }
  if (auto st = apply_quota(p->db, options.max_bytes); !st) return st.err();
  try {
    p->begin = statement(p->db, "BEGIN IMMEDIATE");
    p->commit = statement(p->db, "COMMIT");
    p->rollback = statement(p->db, "ROLLBACK");
    p->insert = statement(p->db, "INSERT INTO outbox(seq, key, value, created_ms) VALUES(?,?,?,?)");
    p->select_after = statement(
        p->db, "SELECT seq, key, value, created_ms FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?");
    // Not DELETE ... RETURNING: SQLite buffers RETURNING rows in an ephemeral table it opens and
    // closes per execution (a pager and a B-tree), which was ~45 % of the forwarder thread's time
    // in a drain. A lookup by primary key, then the delete, costs a fraction of that.
    p->key_of = statement(p->db, "SELECT key FROM outbox WHERE seq = ?");
    p->remove = statement(p->db, "DELETE FROM outbox WHERE seq = ?");
    p->keys_between = statement(p->db, "SELECT seq, key FROM outbox WHERE seq BETWEEN ? AND ?");
    p->remove_between = statement(p->db, "DELETE FROM outbox WHERE seq BETWEEN ? AND ?");
    p->dl_insert = statement(
        p->db, "INSERT INTO dead_letter(received_ms, source, reason, payload) VALUES(?,?,?,?)");
    p->dl_select_all = statement(p->db,
                                 "SELECT id, received_ms, source, reason, payload, forwarded "
                                 "FROM dead_letter ORDER BY id LIMIT ?");
    p->dl_select_unforwarded = statement(p->db,
                                         "SELECT id, received_ms, source, reason, payload, forwarded "
                                         "FROM dead_letter WHERE forwarded = 0 ORDER BY id LIMIT ?");
    p->dl_mark = statement(p->db, "UPDATE dead_letter SET forwarded = 1 WHERE id = ?");
    p->evict_range = statement(
        p->db, "SELECT min(seq), max(seq), count(*) FROM "
               "(SELECT seq FROM outbox ORDER BY seq LIMIT ?)");
    p->evict = statement(p->db, "DELETE FROM outbox WHERE seq <= ? RETURNING key");
    detail::dead_letter_limits dl{options.dead_letter_max_count, options.dead_letter_max_bytes,
                                  options.dead_letter_keep_forwarded};
    if (options.max_bytes != 0) dl.max_bytes = std::min(dl.max_bytes, options.max_bytes / 4);
    p->dls = std::make_unique<detail::dead_letter_space>(p->db, dl);
    // The first read of table pages at open: a damaged page fails here as outbox.corrupt.
    if (auto st = p->dls->refresh(); !st) return st.err();
    if (auto st = open_connection(options.path, SQLITE_OPEN_READONLY, p->reader.db, "open (reader)"); !st) {
      return st.err();
    }
    p->reader_oldest = statement(p->reader.db, "SELECT created_ms FROM outbox ORDER BY seq LIMIT 1");
    // sqlite_sequence: an outbox table created with AUTOINCREMENT (before 2026-12-03).
    statement last(p->db,
                   "SELECT coalesce((SELECT high FROM outbox_seq), 0),"
                   " max(coalesce((SELECT seq FROM sqlite_sequence WHERE name='outbox'), 0),"
                   " coalesce((SELECT max(seq) FROM outbox), 0))");
    // An error here (a damaged page) must not start the sequence again at 1.
    if (const int last_rc = last.step(); last_rc != SQLITE_ROW) return sqlite_error(p->db, last_rc, "read the last seq");
    p->high_stored = static_cast<std::uint64_t>(last.column_int(0));
    p->next_seq = std::max(p->high_stored, static_cast<std::uint64_t>(last.column_int(1))) + 1;
    p->set_high = statement(p->db, "INSERT INTO outbox_seq(one, high) VALUES(1, ?) "
                                   "ON CONFLICT(one) DO UPDATE SET high = max(high, excluded.high)");
    // Each key's rows: as the last orderly close left them (the marker matched the file, and no
    // salvage replaced it), or counted now.
    std::optional<detail::key_rows_map> keys;
    if (clean_stop && !*corruption) keys = detail::decode_key_rows(marker_payload);
    if (keys) {
      auto plausible = p->key_rows_plausible(*keys);
      if (!plausible) return plausible.err();
      if (!*plausible) {
        p->log->warn("the clean-stop marker's counts of {} disagree with its rows; counting them again", options.path);
        keys.reset();
      }
    }
    if (keys) {
      p->keys = std::move(*keys);
    } else if (auto st = p->scan_keys(); !st) {
      return st.err();
    }
    p->sync_default = sync_pragma(options.synchronous);
    if (options.synchronous != sync_mode::full) {
      p->reserve_step = k_seq_reservation;
      p->reserved = p->next_seq - 1;  // the first append claims the next block
    }
  } catch (const std::exception& e) {
    return core::error::fatal(e.what());
  }
  p->max_bytes = options.max_bytes;
  if (options.journal == journal_mode::wal && options.checkpoint_interval_ms > 0) {
    const std::uint64_t limit =
        options.max_bytes == 0 ? k_wal_limit : std::min(k_wal_limit, std::max<std::uint64_t>(options.max_bytes / 4, 64 * 1024));
    // A WAL reset truncates the file to the limit (SQLite otherwise keeps its largest size).
    const std::string jsl = "PRAGMA journal_size_limit=" + std::to_string(limit);
    if (exec(p->db, jsl.c_str()) != SQLITE_OK) return sqlite_error(p->db, SQLITE_ERROR, "init: journal_size_limit");
    p->wal = std::make_unique<detail::wal_guard>(options.path + "-wal", limit, p->log, *p->clock);
    // The checkpointer's connection: same file, same synchronous (a checkpoint fsyncs by it).
    if (auto st = open_connection(options.path, SQLITE_OPEN_READWRITE, p->checkpoint_conn.db, "open (checkpointer)"); !st) {
      return st.err();
    }
    // The read opens its handle of the WAL, which the timed sync fsyncs (outbox_impl.cpp sync_wal).
    for (const char* sql : {sync_pragma(options.synchronous), "PRAGMA wal_autocheckpoint=0",
                            "SELECT 1 FROM sqlite_master LIMIT 1"}) {
      rc = exec(p->checkpoint_conn.db, sql);
      if (rc != SQLITE_OK) return sqlite_error(p->checkpoint_conn.db, rc, std::string("init (checkpointer): ") + sql);
    }
    // The writer's automatic checkpoint moves to the checkpointer (replaces PRAGMA wal_autocheckpoint).
    p->autocheckpoint_pages = options.wal_autocheckpoint_pages;
    sqlite3_wal_hook(p->db, &outbox::impl::on_wal_commit, p.get());
    auto* self = p.get();
    const std::chrono::milliseconds every(options.checkpoint_interval_ms);
    using tick = outbox::impl::tick_action;
    const tick on_tick = options.synchronous == sync_mode::full     ? tick::look
                         : options.synchronous == sync_mode::normal ? tick::sync
                                                                    : tick::copy;
    p->unsynced_acks = options.synchronous == sync_mode::full;  // normal: no commit fsyncs anyway
    p->checkpointer = std::thread([self, every, on_tick] { self->run_checkpointer(every, on_tick); });
  }
  return std::unique_ptr<outbox>(new outbox(std::move(p)));
}

core::result<outbox::appended> outbox::append(
    const std::string& key, const std::string& dedup_key,
    const std::function<std::string(std::uint64_t seq)>& build, dedup_mode mode) {
  std::lock_guard lock(impl_->mu);
  auto& p = *impl_;
  if (p.wal_sync_failed.load(std::memory_order_acquire)) return core::error::fatal(p.wal_sync_failure, "outbox.io");
  const std::uint64_t seq = p.next_seq;
  appended out{seq, false};
  const bool reserve = p.reserve_step > 0 && seq > p.reserved;
  const auto store = [&]() -> core::status {
    if (!dedup_key.empty()) {
      auto seen = p.dedup_lookup(dedup_key);
      if (!seen) return seen.err();
      if (*seen && mode == dedup_mode::skip_seen) {
        out = {**seen, true};
        return core::ok_v;
      }
      if (auto st = p.dedup_remember(dedup_key, seq); !st) return st;
    }
    const std::string value = build(seq);
    auto& ins = p.insert;
    ins.bind(1, static_cast<std::int64_t>(seq));
    ins.bind_blob(2, key);
    ins.bind_blob(3, value);
    ins.bind(4, p.clock->now_ms());
    int rc = ins.step();
    ins.reset();
    if (rc != SQLITE_DONE) return p.fail(rc, "append");
    return reserve ? p.keep_high(seq + p.reserve_step) : core::ok_v;
  };
  if (auto st = p.wal_quota(); !st) return st.err();
  // The commit that claims a block is fsynced whatever `synchronous` says.
  if (reserve && exec(p.db, "PRAGMA synchronous=FULL") != SQLITE_OK) return sqlite_error(p.db, SQLITE_ERROR, "reserve seqs");
  auto st = p.run_making_room(store);
  if (reserve) (void)exec(p.db, p.sync_default);
  if (!st) return st.err();
  if (!out.duplicate) {
    if (reserve) p.reserved = p.high_stored = seq + p.reserve_step;
    if (!dedup_key.empty()) p.dedup_gen = p.dedup_generation(seq);
    p.next_seq = seq + 1;
    auto& kr = p.keys[key];
    ++kr.rows;
    kr.last = seq;
  }
  return out;
}

core::result<std::vector<record>> outbox::peek(std::uint64_t after_seq, std::size_t limit) {
  std::vector<record> out;
  out.reserve(std::min<std::size_t>(limit, 1024));  // no regrowth in a drain's full batches
  if (auto st = peek(after_seq, limit, out); !st) return st.err();
  return out;
}

core::status outbox::peek(std::uint64_t after_seq, std::size_t limit, std::vector<record>& rows) {
  std::lock_guard lock(impl_->mu);
  auto& sel = impl_->select_after;
  sel.bind(1, static_cast<std::int64_t>(after_seq));
  sel.bind(2, static_cast<std::int64_t>(limit));
  std::size_t n = 0;
  int rc;
  while ((rc = sel.step()) == SQLITE_ROW) {
    if (n == rows.size()) rows.emplace_back();
    record& r = rows[n++];
    r.seq = static_cast<std::uint64_t>(sel.column_int(0));
    r.key.assign(sel.column_blob_view(1));
    r.value.assign(sel.column_blob_view(2));
    r.created_ms = sel.column_int(3);
  }
  rows.resize(n);
  sel.reset();
  if (rc != SQLITE_DONE) return sqlite_error(impl_->db, rc, "peek");
  return core::ok_v;
}

// The writer connection at PRAGMA synchronous = NORMAL for one acknowledgement transaction
// (outbox::ack), back at the configured level on every exit, exceptions included. NORMAL, not
// OFF: in WAL mode a NORMAL commit is not fsynced, but the WAL header is when the WAL is reused
// after a checkpoint, and a checkpoint fsyncs; with OFF, a power cut keeping part of a commit that
// rewrote the header could leave old frames valid over newer database pages (a corrupt file).
class outbox::impl::unsynced_ack_scope {
 public:
  explicit unsynced_ack_scope(impl& p) : p_(p) {
    p_.in_unsynced_commit = p_.unsynced_acks && exec(p_.db, "PRAGMA synchronous=NORMAL") == SQLITE_OK;
  }
  ~unsynced_ack_scope() { (void)restore(); }
  unsynced_ack_scope(const unsynced_ack_scope&) = delete;
  unsynced_ack_scope& operator=(const unsynced_ack_scope&) = delete;
  // Sets the configured level back (once); false when that failed: appends would commit unsynced,
  // so every one fails from now on (durability_lost), as after a failed fsync.
  bool restore() {
    if (!p_.in_unsynced_commit) return true;
    p_.in_unsynced_commit = false;
    if (exec(p_.db, p_.sync_default) == SQLITE_OK) return true;
    const std::string why = "cannot set PRAGMA synchronous back after an acknowledgement: " +
                            std::string(sqlite3_errmsg(p_.db));
    p_.durability_lost(why);
    p_.log->error("{}", why);
    return false;
  }
  bool active() const { return p_.in_unsynced_commit; }

 private:
  impl& p_;
};

core::status outbox::ack(std::span<const std::uint64_t> seqs) {
  if (seqs.empty()) return core::ok_v;
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> deleted;
  std::uint64_t top = 0;  // the highest seq deleted
  auto& p = *impl_;
  // In seq order, in runs of consecutive seqs (a drain acknowledges its backlog in long runs): a
  // run of k_min_run or more is read and deleted by range, two statements for the whole run,
  // instead of a lookup and a delete per row (a third of the outbox's CPU per drained event).
  std::vector<std::uint64_t> sorted(seqs.begin(), seqs.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  constexpr std::size_t k_min_run = 8;
  impl::unsynced_ack_scope unsynced(p);  // not fsynced here (see the header)
  auto st = p.run_in_tx([&]() -> core::status {
    deleted.clear();
    top = 0;
    for (std::size_t i = 0; i < sorted.size();) {
      std::size_t end = i + 1;
      while (end < sorted.size() && sorted[end] == sorted[end - 1] + 1) ++end;
      if (end - i >= k_min_run) {
        if (auto ran = p.ack_range(sorted[i], sorted[end - 1], deleted, top); !ran) return ran;
        i = end;
        continue;
      }
      for (; i < end; ++i) {
        if (auto one = p.ack_one(sorted[i], deleted, top); !one) return one;
      }
    }
    return p.keep_high(top);  // the newest row may be among them: its seq must not come back
  });
  if (st) {  // committed: the rows are gone, whatever follows
    p.forget_rows(deleted);
    p.high_stored = std::max(p.high_stored, top);
    if (unsynced.active() && !deleted.empty()) p.acks_to_sync.store(true, std::memory_order_relaxed);
  }
  if (!unsynced.restore() && st) return core::error::fatal(p.wal_sync_failure, "outbox.io");
  return st;
}

const open_report& outbox::report() const { return impl_->report; }

std::uint64_t outbox::evicted_events() const {
  return impl_->evicted.load(std::memory_order_relaxed);
}

core::result<std::uint64_t> outbox::depth() {
  std::lock_guard lock(impl_->mu);
  return impl_->row_count();
}

std::uint64_t outbox::last_seq() {
  std::lock_guard lock(impl_->mu);
  return impl_->next_seq - 1;
}

outbox::backlog_split outbox::split_backlog(std::uint64_t after_seq) {
  std::lock_guard lock(impl_->mu);
  backlog_split out;
  out.newest = impl_->next_seq - 1;
  for (const auto& [key, kr] : impl_->keys) {
    if (kr.last > after_seq) out.last_per_key.emplace_back(key, kr.last);
  }
  return out;
}

std::uint64_t outbox::timed_checkpoints() const {
  return impl_->checkpoints.load(std::memory_order_relaxed);
}

bool outbox::acks_awaiting_sync() const { return impl_->acks_to_sync.load(std::memory_order_relaxed); }

core::result<outbox::backlog_summary> outbox::backlog() {
  backlog_summary out;
  {
    std::lock_guard lock(impl_->mu);
    out.events = impl_->row_count();
  }
  std::lock_guard lock(impl_->reader_mu);
  auto& oldest = impl_->reader_oldest;
  const int rc = oldest.step();
  if (rc == SQLITE_ROW) out.oldest_created_ms = oldest.column_int(0);
  oldest.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(impl_->reader.db, rc, "backlog");
  return out;
}

outbox::wal_status outbox::wal() const {
  const auto* w = impl_->wal.get();
  if (w == nullptr) return {};
  return {w->wal_bytes(), w->limit(), w->pinned_since_ms(),
          impl_->checkpoints_in_commit.load(std::memory_order_relaxed),
          impl_->timed_wal_syncs.load(std::memory_order_relaxed)};
}

std::uint64_t outbox::file_bytes() const {
  std::uint64_t total = 0;
  for (const auto& f : {impl_->path, impl_->path + "-wal"}) {
    std::error_code ec;  // a missing WAL (after a clean close) counts as 0
    const auto n = std::filesystem::file_size(f, ec);
    if (!ec) total += n;
  }
  return total;
}

}  // namespace herd::buffer
