#include "herd/buffer/outbox.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "herd/core/logging.hpp"

#include "herd/sqlite/sqlite_db.hpp"
#include "recovery.hpp"
#include "wal_guard.hpp"
#include "schema.hpp"
#include "dead_letter_space.hpp"

namespace herd::buffer {

using detail::k_schema;
using sqlite::exec;
namespace {
// Outbox failures carry outbox.* codes (README, "Failure handling").
core::error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  return sqlite::sqlite_error(db, rc, what, "outbox");
}
}  // namespace
using sqlite::statement;

namespace {


// Each eviction frees at least one batch; more than this many in one append means the space
// goes elsewhere (dedup keys, dead letters, another file on the disk): report full instead.
constexpr int k_max_evictions_per_append = 16;

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

// With synchronous = normal (or off) a commit is not on disk until the next fsync: a power cut, or
// a file system that fails and discards its page cache (ext4 remounted read-only after an error),
// takes the last commits back, and the sequence with them, while the forwarder may already have
// sent those events to Kafka. Seqs are therefore claimed in blocks of this many, each claim a
// commit of its own fsynced (sqlite_sequence set to the block's end): after such a loss the
// sequence goes on after the block, so no gateway_seq is ever used twice (README, "Event
// contract"). A clean close gives the unused part back; after a crash the rest is a gap. One
// extra fsync per block (~1 s of ingest at ~13,000 readings/s).
constexpr std::uint64_t k_seq_reservation = 10000;

// The WAL size past which the checkpointer forces a reset (README: "up to ~4 MiB between
// checkpoints"); with a max_bytes quota, a quarter of it (at least 64 KiB) when that is smaller.
constexpr std::uint64_t k_wal_limit = std::uint64_t{4} << 20;
constexpr int k_busy_timeout_ms = 5000;  // sqlite3_busy_timeout of both connections

// Closes the connection last: declared first in impl, so destroyed after every statement.
struct connection {
  sqlite3* db = nullptr;
  ~connection() { sqlite3_close_v2(db); }
};

struct outbox::impl {
  connection conn;
  sqlite3*& db = conn.db;
  connection reader;  // read-only, for backlog(); its statements are declared after it
  std::mutex mu;
  const core::clock* clock = nullptr;
  core::system_clock default_clock;
  std::uint64_t next_seq = 1;
  std::uint64_t dedup_window = 0;
  // Sequence reservation (synchronous != full; see k_seq_reservation): seqs up to `reserved` are
  // durably claimed in sqlite_sequence; 0 step: off.
  std::uint64_t reserve_step = 0;
  std::uint64_t reserved = 0;
  const char* sync_default = nullptr;  // the configured PRAGMA synchronous statement
  std::string path;
  statement begin, commit, rollback;
  statement insert, select_after, remove, count;
  statement dedup_find, dedup_insert, dedup_prune;
  statement dl_insert, dl_select_all, dl_select_unforwarded, dl_mark;
  std::mutex reader_mu;
  statement reader_count, reader_oldest, reader_last_per_key;
  statement evict_range, evict;
  statement reserve_seq;  // only with a reservation (synchronous != full)
  open_report report;
  std::unique_ptr<detail::dead_letter_space> dls;  // after conn: its statements close first
  full_policy when_full = full_policy::backpressure;
  std::atomic<std::uint64_t> evicted{0};
  std::shared_ptr<spdlog::logger> log = core::module_logger("outbox");
  int last_rc = SQLITE_OK;  // the SQLite code of the last failure in a transaction (SQLITE_FULL?)

  // Each key's last appended seq (under mu), for split_backlog(). Complete for seqs after
  // open_last_seq; the records up to it are scanned in once, at the first split.
  std::unordered_map<std::string, std::uint64_t> key_last;
  std::uint64_t open_last_seq = 0;
  bool open_keys_scanned = false;

  // The timed checkpointer (WAL only); see outbox_options::checkpoint_interval_ms.
  std::atomic<bool> committed_since_checkpoint{false};
  std::atomic<std::uint64_t> checkpoints{0};
  std::mutex ckpt_mu;
  std::condition_variable ckpt_cv;
  bool ckpt_stop = false;
  std::thread checkpointer;  // joined in ~impl, before the connections close
  std::unique_ptr<detail::wal_guard> wal;  // with the timed checkpointer (WAL only)
  std::uint64_t max_bytes = 0;
  int appends_since_wal_look = 0;

  // A pinned WAL counts in max_bytes (issue 13, case 3): past the quota, appends are refused (a
  // retriable error: the caller holds its reading) until the reader lets go and the WAL resets.
  // Under mu. Every 32 appends it also looks itself (two stats) rather than wait for the next timed
  // checkpoint, so a WAL growing at full ingest speed passes the quota by at most 32 commits.
  core::status wal_quota() {
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
      wal->after_checkpoint(db, k_busy_timeout_ms);  // reset now if nobody pins it (no waiting)
      if (wal->pinned_since_ms() == 0) return core::ok_v;
    }
    return core::error::retriable(
        "outbox full: the WAL cannot be reset (another connection holds a read transaction) and the "
        "database with its WAL is " + std::to_string(total) + " bytes, over max_bytes " +
            std::to_string(max_bytes), "outbox.wal_pinned");
  }

  ~impl() {
    {
      std::lock_guard lock(ckpt_mu);
      ckpt_stop = true;
    }
    ckpt_cv.notify_one();
    if (checkpointer.joinable()) checkpointer.join();
    release_reservation();
  }

  // A clean close gives the unused reservation back, so a clean restart leaves no gap. When this
  // fails (storage already gone) the next start goes on after the reservation: a gap, no reuse.
  void release_reservation() {
    if (reserve_step == 0 || db == nullptr || reserved < next_seq) return;
    const std::string sql = "UPDATE sqlite_sequence SET seq = " + std::to_string(next_seq - 1) +
                            " WHERE name = 'outbox'";
    if (exec(db, "PRAGMA synchronous=FULL") == SQLITE_OK && exec(db, sql.c_str()) == SQLITE_OK) {
      reserved = next_seq - 1;
    }
  }

  void run_checkpointer(std::chrono::milliseconds every) {
    std::unique_lock lock(ckpt_mu);
    while (!ckpt_cv.wait_for(lock, every, [&] { return ckpt_stop; })) {
      // A WAL over its limit is looked at again even when idle: a pinned one until it resets.
      if (!committed_since_checkpoint.exchange(false) && !(wal && wal->needs_attention())) continue;
      std::lock_guard db_lock(mu);
      // PASSIVE never waits for readers; whatever it cannot copy now is copied next time. It
      // fsyncs the WAL before copying, which is what makes synchronous = normal commits durable.
      int log_frames = 0, done_frames = 0;
      const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames);
      if (rc != SQLITE_OK) {
        committed_since_checkpoint = true;  // try again next time
        log->warn("timed checkpoint: {}", sqlite3_errmsg(db));
      } else {
        if (done_frames < log_frames) committed_since_checkpoint = true;  // a reader held some back
        checkpoints.fetch_add(1, std::memory_order_relaxed);
      }
      if (wal) wal->after_checkpoint(db, k_busy_timeout_ms);
    }
  }

  core::error fail(int rc, std::string_view what) {
    last_rc = rc;
    return sqlite_error(db, rc, what);
  }

  // Deletes a batch of the oldest events (and their dedup keys, which would otherwise keep the
  // quota full) in its own transaction; returns how many. A batch is 1/64 of the backlog, at
  // least 32 rows, so a steadily full quota evicts (and logs) in coarse steps, not per reading.
  core::result<std::uint64_t> evict_oldest() {
    std::int64_t lo = 0, hi = 0, n = 0;
    auto st = run_in_tx([&]() -> core::status {
      std::int64_t depth = 0;
      int rc = count.step();
      if (rc == SQLITE_ROW) depth = count.column_int(0);
      count.reset();
      if (rc != SQLITE_ROW) return fail(rc, "evict: count");
      evict_range.bind(1, std::max<std::int64_t>(32, depth / 64));
      rc = evict_range.step();
      if (rc == SQLITE_ROW) {
        lo = evict_range.column_int(0);
        hi = evict_range.column_int(1);
        n = evict_range.column_int(2);
      }
      evict_range.reset();
      if (rc != SQLITE_ROW) return fail(rc, "evict: range");
      if (n == 0) return core::ok_v;
      for (auto* del : {&evict, &dedup_prune}) {
        del->bind(1, hi);
        rc = del->step();
        del->reset();
        if (rc != SQLITE_DONE) return fail(rc, "evict");
      }
      return core::ok_v;
    });
    if (!st) return st.err();
    if (n > 0) {
      evicted.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      log->warn("outbox full: evicted the {} oldest events unsent, seq {}..{} (when_full = "
                "evict_oldest); {} evicted since start",
                n, lo, hi, evicted.load(std::memory_order_relaxed));
    }
    return static_cast<std::uint64_t>(n);
  }

  // run_in_tx, and when the quota or the disk is full, the policy: backpressure (a retriable
  // error) or evict_oldest (make room, try again). A full quota or disk is SQLITE_FULL from the
  // statement that would grow the file; run_in_tx rolls the whole transaction back, so nothing is
  // half-stored and no transaction stays open.
  core::status run_making_room(const std::function<core::status()>& body) {
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

  // Deletes a batch of the oldest dead letters in a transaction of its own; how many.
  core::result<std::uint64_t> free_dead_letters() {
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

  core::status run_in_tx(const std::function<core::status()>& body) {
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
};

outbox::outbox(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
outbox::~outbox() = default;

core::result<std::unique_ptr<outbox>> outbox::open(const outbox_options& options) {
  auto p = std::make_unique<impl>();
  p->clock = options.clock != nullptr ? options.clock : &p->default_clock;
  p->dedup_window = options.dedup_window;
  p->path = options.path;
  p->when_full = options.when_full;
  // Before anything writes to the file: a corrupt outbox is moved aside and salvaged, so the
  // gateway starts (instead of failing on every start) and loses only rows on damaged pages.
  auto corruption = detail::find_corruption(options.path);
  if (!corruption) return corruption.err();
  if (*corruption) {
    p->report.problem = **corruption;
    p->log->error("outbox {} is corrupt ({}); moving it aside and salvaging what is readable",
                  options.path, p->report.problem);
    if (auto st = detail::quarantine_and_salvage(options.path, p->clock->now_ms(), p->report); !st) {
      return st.err();
    }
    p->log->warn("outbox {} quarantined as {}; salvaged {} events, {} dead letters, {} dedup keys "
                 "into a fresh outbox; the sequence goes on after {}",
                 options.path, p->report.quarantine_path, p->report.salvaged_events,
                 p->report.salvaged_dead_letters, p->report.salvaged_dedup_keys,
                 p->report.highest_seq);
  }
  int rc = sqlite3_open_v2(options.path.c_str(), &p->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) return sqlite_error(p->db, rc, "open " + options.path);
  sqlite3_extended_result_codes(p->db, 1);
  sqlite3_busy_timeout(p->db, k_busy_timeout_ms);
  // WAL: appends do not block the forwarder's reads, and a crash never tears a committed row.
  if (options.page_size != 0) {  // before the journal mode: a WAL file's page size is fixed
    rc = exec(p->db, ("PRAGMA page_size=" + std::to_string(options.page_size)).c_str());
    if (rc != SQLITE_OK) return sqlite_error(p->db, rc, "init: page_size");
  }
  const std::string autockpt = "PRAGMA wal_autocheckpoint=" + std::to_string(options.wal_autocheckpoint_pages);
  for (const char* sql : {journal_pragma(options.journal), sync_pragma(options.synchronous),
                          autockpt.c_str(), "PRAGMA foreign_keys=OFF", k_schema}) {
    rc = exec(p->db, sql);
    if (rc != SQLITE_OK) return sqlite_error(p->db, rc, std::string("init: ") + sql);
  }
  if (auto st = apply_quota(p->db, options.max_bytes); !st) return st.err();
  try {
    p->begin = statement(p->db, "BEGIN IMMEDIATE");
    p->commit = statement(p->db, "COMMIT");
    p->rollback = statement(p->db, "ROLLBACK");
    p->insert = statement(p->db, "INSERT INTO outbox(seq, key, value, created_ms) VALUES(?,?,?,?)");
    p->select_after = statement(
        p->db, "SELECT seq, key, value, created_ms FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?");
    p->remove = statement(p->db, "DELETE FROM outbox WHERE seq = ?");
    p->count = statement(p->db, "SELECT count(*) FROM outbox");
    p->dedup_find = statement(p->db, "SELECT seq FROM dedup WHERE key = ?");
    p->dedup_insert = statement(p->db, "INSERT OR REPLACE INTO dedup(key, seq) VALUES(?,?)");
    p->dedup_prune = statement(p->db, "DELETE FROM dedup WHERE seq <= ?");
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
    p->evict = statement(p->db, "DELETE FROM outbox WHERE seq <= ?");
    detail::dead_letter_limits dl{options.dead_letter_max_count, options.dead_letter_max_bytes,
                                  options.dead_letter_keep_forwarded};
    if (options.max_bytes != 0) dl.max_bytes = std::min(dl.max_bytes, options.max_bytes / 4);
    p->dls = std::make_unique<detail::dead_letter_space>(p->db, dl);
    rc = sqlite3_open_v2(options.path.c_str(), &p->reader.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                         nullptr);
    if (rc != SQLITE_OK) return sqlite_error(p->reader.db, rc, "open (reader) " + options.path);
    sqlite3_extended_result_codes(p->reader.db, 1);
    sqlite3_busy_timeout(p->reader.db, k_busy_timeout_ms);
    p->reader_count = statement(p->reader.db, "SELECT count(*) FROM outbox");
    p->reader_oldest = statement(p->reader.db, "SELECT created_ms FROM outbox ORDER BY seq LIMIT 1");
    p->reader_last_per_key = statement(
        p->reader.db, "SELECT key, max(seq) FROM outbox WHERE seq > ? AND seq <= ? GROUP BY key");
    statement last(p->db,
                   "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name='outbox'), 0),"
                   " coalesce((SELECT max(seq) FROM outbox), 0))");
    if (last.step() == SQLITE_ROW) p->next_seq = static_cast<std::uint64_t>(last.column_int(0)) + 1;
    p->open_last_seq = p->next_seq - 1;
    p->sync_default = sync_pragma(options.synchronous);
    if (options.synchronous != sync_mode::full) {
      p->reserve_step = k_seq_reservation;
      p->reserved = p->next_seq - 1;  // the first append claims the next block
      p->reserve_seq = statement(p->db, "UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox'");
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
    auto* self = p.get();
    const std::chrono::milliseconds every(options.checkpoint_interval_ms);
    p->checkpointer = std::thread([self, every] { self->run_checkpointer(every); });
  }
  return std::unique_ptr<outbox>(new outbox(std::move(p)));
}

core::result<outbox::appended> outbox::append(
    const std::string& key, const std::string& dedup_key,
    const std::function<std::string(std::uint64_t seq)>& build, dedup_mode mode) {
  std::lock_guard lock(impl_->mu);
  auto& p = *impl_;
  const std::uint64_t seq = p.next_seq;
  appended out{seq, false};
  const bool reserve = p.reserve_step > 0 && seq > p.reserved;
  const auto store = [&]() -> core::status {
    if (!dedup_key.empty()) {
      p.dedup_find.bind_blob(1, dedup_key);
      int rc = p.dedup_find.step();
      if (rc == SQLITE_ROW && mode == dedup_mode::skip_seen) {
        out = {static_cast<std::uint64_t>(p.dedup_find.column_int(0)), true};
        p.dedup_find.reset();
        return core::ok_v;
      }
      p.dedup_find.reset();
      if (rc != SQLITE_DONE && rc != SQLITE_ROW) return p.fail(rc, "dedup lookup");
      p.dedup_insert.bind_blob(1, dedup_key);
      p.dedup_insert.bind(2, static_cast<std::int64_t>(seq));
      rc = p.dedup_insert.step();
      p.dedup_insert.reset();
      if (rc != SQLITE_DONE) return p.fail(rc, "dedup insert");
      // Forget keys older than the window, in amortised steps of 1/16 of it.
      const std::uint64_t step = std::max<std::uint64_t>(p.dedup_window / 16, 1);
      if (seq % step == 0 && seq > p.dedup_window) {
        p.dedup_prune.bind(1, static_cast<std::int64_t>(seq - p.dedup_window));
        rc = p.dedup_prune.step();
        p.dedup_prune.reset();
        if (rc != SQLITE_DONE) return p.fail(rc, "dedup prune");
      }
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
    if (reserve) {  // after the insert, which set sqlite_sequence to seq
      p.reserve_seq.bind(1, static_cast<std::int64_t>(seq + p.reserve_step));
      rc = p.reserve_seq.step();
      p.reserve_seq.reset();
      if (rc != SQLITE_DONE) return p.fail(rc, "reserve seqs");
    }
    return core::ok_v;
  };
  if (auto st = p.wal_quota(); !st) return st.err();
  // The commit that claims a block is fsynced whatever `synchronous` says.
  if (reserve && exec(p.db, "PRAGMA synchronous=FULL") != SQLITE_OK) return sqlite_error(p.db, SQLITE_ERROR, "reserve seqs");
  auto st = p.run_making_room(store);
  if (reserve) (void)exec(p.db, p.sync_default);
  if (!st) return st.err();
  if (!out.duplicate) {
    if (reserve) p.reserved = seq + p.reserve_step;
    p.next_seq = seq + 1;
    p.key_last[key] = seq;
  }
  return out;
}

core::result<std::vector<record>> outbox::peek(std::uint64_t after_seq, std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  auto& sel = impl_->select_after;
  sel.bind(1, static_cast<std::int64_t>(after_seq));
  sel.bind(2, static_cast<std::int64_t>(limit));
  std::vector<record> out;
  int rc;
  while ((rc = sel.step()) == SQLITE_ROW) {
    out.push_back(record{static_cast<std::uint64_t>(sel.column_int(0)), sel.column_blob(1),
                         sel.column_blob(2), sel.column_int(3)});
  }
  sel.reset();
  if (rc != SQLITE_DONE) return sqlite_error(impl_->db, rc, "peek");
  return out;
}

core::status outbox::ack(std::span<const std::uint64_t> seqs) {
  if (seqs.empty()) return core::ok_v;
  std::lock_guard lock(impl_->mu);
  return impl_->run_in_tx([&]() -> core::status {
    auto& del = impl_->remove;
    for (const auto seq : seqs) {
      del.bind(1, static_cast<std::int64_t>(seq));
      const int rc = del.step();
      del.reset();
      if (rc != SQLITE_DONE) return sqlite_error(impl_->db, rc, "ack");
    }
    return core::ok_v;
  });
}

const open_report& outbox::report() const { return impl_->report; }

std::uint64_t outbox::evicted_events() const {
  return impl_->evicted.load(std::memory_order_relaxed);
}

core::result<std::uint64_t> outbox::depth() {
  std::lock_guard lock(impl_->mu);
  auto& c = impl_->count;
  const int rc = c.step();
  const auto n = rc == SQLITE_ROW ? c.column_int(0) : 0;
  c.reset();
  if (rc != SQLITE_ROW) return sqlite_error(impl_->db, rc, "depth");
  return static_cast<std::uint64_t>(n);
}

std::uint64_t outbox::last_seq() {
  std::lock_guard lock(impl_->mu);
  return impl_->next_seq - 1;
}

core::result<std::vector<std::pair<std::string, std::uint64_t>>> outbox::last_seq_per_key(
    std::uint64_t after_seq, std::uint64_t upto_seq) {
  std::lock_guard lock(impl_->reader_mu);
  auto& sel = impl_->reader_last_per_key;
  sel.bind(1, static_cast<std::int64_t>(after_seq));
  sel.bind(2, static_cast<std::int64_t>(upto_seq));
  std::vector<std::pair<std::string, std::uint64_t>> out;
  int rc;
  while ((rc = sel.step()) == SQLITE_ROW) {
    out.emplace_back(sel.column_blob(0), static_cast<std::uint64_t>(sel.column_int(1)));
  }
  sel.reset();
  if (rc != SQLITE_DONE) return sqlite_error(impl_->reader.db, rc, "last seq per key");
  return out;
}

core::result<outbox::backlog_split> outbox::split_backlog(std::uint64_t after_seq) {
  auto& p = *impl_;
  backlog_split out;
  bool scanned = false;
  std::uint64_t scan_upto = 0;
  {
    // The split point is now: what is appended while the first call scans comes after it.
    std::lock_guard lock(p.mu);
    out.newest = p.next_seq - 1;
    for (const auto& [key, seq] : p.key_last) {
      if (seq > after_seq) out.last_per_key.emplace_back(key, seq);
    }
    scanned = p.open_keys_scanned;
    scan_upto = p.open_last_seq;
  }
  if (scanned) return out;
  // Once per process: the records that were in the file at open (only this thread splits). From
  // the start: records before after_seq that are still there (in flight) are few, and a later
  // split from an earlier point (after a producer rebuild) needs their keys too.
  auto rows = last_seq_per_key(0, scan_upto);
  if (!rows) return rows.err();
  std::unordered_map<std::string, std::uint64_t> merged(out.last_per_key.begin(), out.last_per_key.end());
  {
    std::lock_guard lock(p.mu);
    for (const auto& [key, seq] : *rows) {
      auto& last = p.key_last[key];
      last = std::max(last, seq);
      if (seq <= after_seq) continue;
      auto& m = merged[key];
      m = std::max(m, seq);
    }
    p.open_keys_scanned = true;
  }
  out.last_per_key.assign(merged.begin(), merged.end());
  return out;
}

std::uint64_t outbox::timed_checkpoints() const {
  return impl_->checkpoints.load(std::memory_order_relaxed);
}

core::result<outbox::backlog_summary> outbox::backlog() {
  std::lock_guard lock(impl_->reader_mu);
  auto& count = impl_->reader_count;
  auto& oldest = impl_->reader_oldest;
  backlog_summary out;
  int rc = count.step();
  if (rc == SQLITE_ROW) out.events = static_cast<std::uint64_t>(count.column_int(0));
  count.reset();
  if (rc != SQLITE_ROW) return sqlite_error(impl_->reader.db, rc, "backlog");
  rc = oldest.step();
  if (rc == SQLITE_ROW) out.oldest_created_ms = oldest.column_int(0);
  oldest.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(impl_->reader.db, rc, "backlog");
  return out;
}

outbox::wal_status outbox::wal() const {
  const auto* w = impl_->wal.get();
  if (w == nullptr) return {};
  return {w->wal_bytes(), w->limit(), w->pinned_since_ms()};
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

core::result<std::int64_t> outbox::add_dead_letter(const std::string& source,
                                                   const std::string& reason,
                                                   const std::string& payload,
                                                   std::int64_t received_ms) {
  std::lock_guard lock(impl_->mu);
  auto& p = *impl_;
  const std::uint64_t bytes = source.size() + reason.size() + payload.size();
  // Never run_making_room: a dead letter must not evict events nor wait for space. When the file
  // is full, older dead letters make room; when none are left, this one is dropped (counted).
  for (;;) {
    std::int64_t id = 0;
    p.last_rc = SQLITE_OK;
    auto st = p.run_in_tx([&]() -> core::status {
      auto fits = p.dls->make_room(bytes);
      if (!fits) return fits.err();
      if (!*fits) return core::ok_v;  // larger than the whole dead-letter space: dropped below
      auto& ins = p.dl_insert;
      ins.bind(1, received_ms);
      ins.bind(2, std::string_view(source));
      ins.bind(3, std::string_view(reason));
      ins.bind_blob(4, payload);
      const int rc = ins.step();
      ins.reset();
      if (rc != SQLITE_DONE) return p.fail(rc, "dead letter");
      id = sqlite3_last_insert_rowid(p.db);
      p.dls->added(bytes);
      return core::ok_v;
    });
    if (!st) {  // rolled back: what make_room deleted is there again
      if (auto r = p.dls->refresh(); !r) return r.err();
    }
    if (st && id != 0) return id;
    if (st || (p.last_rc & 0xFF) == SQLITE_FULL) {
      auto freed = st ? core::result<std::uint64_t>(std::uint64_t{0}) : p.free_dead_letters();
      if (!freed) return freed.err();
      if (*freed > 0) continue;
      p.dls->count_dropped();
      p.log->warn("dead letter from {} dropped: no room for its {} bytes ({}); {} dropped since start",
                  source, bytes, reason, p.dls->dropped());
      return std::int64_t{0};
    }
    return st.err();
  }
}

core::result<std::vector<dead_letter>> outbox::dead_letters(bool unforwarded_only,
                                                            std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  auto& sel = unforwarded_only ? impl_->dl_select_unforwarded : impl_->dl_select_all;
  sel.bind(1, static_cast<std::int64_t>(limit));
  std::vector<dead_letter> out;
  int rc;
  while ((rc = sel.step()) == SQLITE_ROW) {
    out.push_back(dead_letter{sel.column_int(0), sel.column_int(1), sel.column_text(2),
                              sel.column_text(3), sel.column_blob(4), sel.column_int(5) != 0});
  }
  sel.reset();
  if (rc != SQLITE_DONE) return sqlite_error(impl_->db, rc, "dead letters");
  return out;
}

core::status outbox::mark_dead_letters_forwarded(std::span<const std::int64_t> ids) {
  if (ids.empty()) return core::ok_v;
  std::lock_guard lock(impl_->mu);
  auto st = impl_->run_in_tx([&]() -> core::status {
    auto& upd = impl_->dl_mark;
    for (const auto id : ids) {
      upd.bind(1, id);
      const int rc = upd.step();
      upd.reset();
      if (rc != SQLITE_DONE) return sqlite_error(impl_->db, rc, "mark forwarded");
    }
    return impl_->dls->prune_forwarded();  // retention: only the newest forwarded ones stay
  });
  (void)impl_->dls->refresh();
  return st;
}

std::uint64_t outbox::dead_letters_dropped() const { return impl_->dls->dropped(); }

}  // namespace herd::buffer
