#pragma once
// The outbox's private state and its transaction, eviction and checkpoint machinery, shared by
// outbox.cpp (open, append, read, ack), outbox_impl.cpp (these methods) and
// outbox_dead_letters.cpp. Not installed: herd/buffer/outbox.hpp is the public surface.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "herd/buffer/outbox.hpp"
#include "herd/core/logging.hpp"
#include "herd/sqlite/sqlite_db.hpp"
#include "dead_letter_space.hpp"
#include "key_rows.hpp"
#include "outbox_errors.hpp"
#include "wal_guard.hpp"

namespace herd::buffer {

using sqlite::statement;

// With synchronous = normal (or off) a commit is not on disk until the next fsync: a power cut, or
// a file system that fails and discards its page cache (ext4 remounted read-only after an error),
// takes the last commits back, and the sequence with them, while the forwarder may already have
// sent those events to Kafka. Seqs are therefore claimed in blocks of this many, each claim a
// commit of its own fsynced (outbox_seq.high set to the block's end): after such a loss the
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
  // The checkpointer's own connection (WAL with the timed checkpointer): its checkpoints copy and
  // fsync without the outbox lock, so appends commit meanwhile. Closed before the writer.
  connection checkpoint_conn;
  std::mutex mu;
  const core::clock* clock = nullptr;
  core::system_clock default_clock;
  std::uint64_t next_seq = 1;
  std::uint64_t dedup_window = 0;
  // Sequence reservation (synchronous != full; see k_seq_reservation): seqs up to `reserved` are
  // durably claimed in outbox_seq.high; 0 step: off.
  std::uint64_t reserve_step = 0;
  std::uint64_t reserved = 0;
  std::uint64_t high_stored = 0;  // outbox_seq.high as last committed (schema.hpp)
  const char* sync_default = nullptr;  // the configured PRAGMA synchronous statement
  std::string path;
  statement begin, commit, rollback;
  statement insert, select_after, key_of, remove;
  statement keys_between, remove_between;  // ack() of a run of consecutive seqs (outbox.cpp)
  statement dedup_find, dedup_insert[2], dedup_clear[2], dedup_state_set;  // outbox_dedup.cpp
  // The dedup generation appends write into (schema.hpp); nullopt: none yet. Under mu.
  std::optional<std::uint64_t> dedup_gen;
  statement dl_insert, dl_select_all, dl_select_unforwarded, dl_mark;
  std::mutex reader_mu;
  statement reader_oldest;
  statement evict_range, evict;
  statement set_high;  // outbox_seq.high = ?
  open_report report;
  std::atomic<bool> clean_stop{false};  // mark_clean_stop() was called: ~outbox writes the marker
  std::unique_ptr<detail::dead_letter_space> dls;  // after conn: its statements close first
  full_policy when_full = full_policy::backpressure;
  std::atomic<std::uint64_t> evicted{0};
  std::shared_ptr<spdlog::logger> log = core::module_logger("outbox");
  int last_rc = SQLITE_OK;  // the SQLite code of the last failure in a transaction (SQLITE_FULL?)

  // Each key's rows in the outbox table (under mu), so that split_backlog() needs no scan: their
  // number, exact from open on (a scan of the file at open, or the clean-stop marker's copy of
  // the map at the last close), and the newest seq appended. A key's `last` can stay above its
  // newest row when that row went before older ones (a dead-lettered event): a split then holds
  // the key's live events until the whole backlog is out, later than needed but never too early.
  detail::key_rows_map keys;
  // The outbox table's rows: the sum of the keys' counts (depth(), backlog(), eviction). Under mu.
  std::uint64_t row_count() const;
  // Counts out the keys of rows a committed transaction deleted (DELETE ... RETURNING key).
  // Under mu.
  void forget_rows(const std::vector<std::string>& deleted);
  // Fills `keys` from the table (one pass over it, on the writer connection). At open.
  core::status scan_keys();
  // Whether a map taken from the clean-stop marker agrees with the table's ends: its oldest and
  // newest rows' keys are in it (the newest with that seq or a later one), no key's newest seq is
  // at or past next_seq, and an empty table goes with an empty map. Two primary-key lookups, not
  // a proof: it catches a marker that outlived a change its size and mtime did not show (a coarse
  // time stamp, a tool writing the file in place). At open, after next_seq is known.
  core::result<bool> key_rows_plausible(const detail::key_rows_map& taken);

  // The timed checkpointer (WAL only); see outbox_options::checkpoint_interval_ms. It also runs
  // the automatic checkpoints (wal_autocheckpoint_pages): the writer's WAL hook asks for one.
  std::atomic<bool> committed_since_checkpoint{false};
  std::atomic<bool> checkpoint_asked{false};
  std::atomic<std::uint64_t> checkpoints_in_commit{0};  // outbox::wal_status
  std::atomic<std::uint64_t> wal_commits{0};  // commits of the writer (its WAL hook)
  std::atomic<bool> checkpoint_unlocked{false};  // the checkpointer is in its step without mu
  std::uint32_t autocheckpoint_pages = 0;
  std::atomic<std::uint64_t> checkpoints{0};
  std::atomic<std::uint64_t> timed_wal_syncs{0};  // outbox::wal_status
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
  core::status wal_quota();
  ~impl();
  // A clean close gives the unused reservation back, so a clean restart leaves no gap. When this
  // fails (storage already gone) the next start goes on after the reservation: a gap, no reuse.
  void release_reservation();
  // What the checkpointer does on its timer after commits; why, per synchronous mode: the comment
  // of outbox_options::checkpoint_interval_ms. Whatever the mode it copies when asked (the WAL
  // reached half of wal_autocheckpoint_pages), when its tick finds the WAL at half its byte limit,
  // or when the WAL guard needs it.
  enum class tick_action { look, sync, copy };  // full, normal, off
  // Every `every`, until stopped (on the checkpointer thread).
  void run_checkpointer(std::chrono::milliseconds every, tick_action on_tick);
  // fsyncs the WAL through the checkpointer connection's handle (on the checkpointer thread,
  // without ckpt_mu). unavailable: the handle is not open, and the tick copies instead (which
  // fsyncs the WAL too). failed: an I/O error, recorded in wal_sync_failed / wal_sync_failure.
  enum class wal_sync { done, unavailable, failed };
  wal_sync sync_wal();
  // Set once when a timed fsync failed (after wal_sync_failure is written, which stays unchanged
  // from then on): every append from then on fails with it (fatal, outbox.io).
  std::atomic<bool> wal_sync_failed{false};
  std::string wal_sync_failure;
  std::atomic<bool> wal_failure_claimed{false};  // durability_lost() has written wal_sync_failure
  // Records why appends can no longer be durable (the first reason only) and sets wal_sync_failed.
  // Any thread.
  void durability_lost(std::string why);
  // Acknowledgement deletes without their own fsync (outbox::ack, at PRAGMA synchronous = NORMAL):
  // with synchronous = full, WAL and the timed checkpointer (set at open). While such a commit
  // runs (under mu) the WAL hook does not copy (the forwarder does not wait for a checkpoint).
  // acks_to_sync: deletes committed since the WAL's last fsync (a synced commit that wrote frames,
  // or the timer's sync, clears it).
  bool unsynced_acks = false;
  bool in_unsynced_commit = false;
  class unsynced_ack_scope;  // outbox.cpp: one acknowledgement transaction at NORMAL
  std::atomic<bool> acks_to_sync{false};
  // One checkpoint in two steps: the copy and its fsyncs without the outbox lock, then, only if
  // commits came in meanwhile, the remainder under it (a short copy and its fsyncs of the WAL and
  // the database file), so the WAL is copied whole and reset.
  void checkpoint_twice();
  // sqlite3_wal_hook of the writer connection, after each commit (under mu, on the committing
  // thread); replaces SQLite's automatic checkpoint inside the commit. A WAL of `frames` pages past
  // half of wal_autocheckpoint_pages wakes the checkpointer; one still at wal_autocheckpoint_pages
  // (the checkpointer did not catch up) is checkpointed here. Returns SQLITE_OK.
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);
  core::error fail(int rc, std::string_view what);
  // Deletes a batch of the oldest events (and the older generation of dedup keys, which would
  // otherwise keep the quota full) in its own transaction; returns how many. A batch is 1/64 of the backlog, at
  // least 32 rows, so a steadily full quota evicts (and logs) in coarse steps, not per reading.
  core::result<std::uint64_t> evict_oldest();
  // run_in_tx, and when the quota or the disk is full, the policy: backpressure (a retriable
  // error) or evict_oldest (make room, try again). A full quota or disk is SQLITE_FULL from the
  // statement that would grow the file; run_in_tx rolls the whole transaction back, so nothing is
  // half-stored and no transaction stays open.
  core::status run_making_room(const std::function<core::status()>& body);
  // Deletes a batch of the oldest dead letters in a transaction of its own; how many.
  core::result<std::uint64_t> free_dead_letters();
  core::status run_in_tx(const std::function<core::status()>& body);
  // Inside a transaction that deletes rows up to `top` (their highest seq) or claims seqs up to
  // it: raises outbox_seq.high to `top` when it is below (no write otherwise). The caller sets
  // high_stored = max(high_stored, top) once the transaction committed.
  core::status keep_high(std::uint64_t top);
  // Inside ack()'s transaction: delete the row `seq`, or every row with a seq in [first, last];
  // the keys of the rows deleted are appended to `deleted` and `top` raised to the highest seq
  // deleted. A seq with no row (evicted, or acknowledged twice) is skipped.
  core::status ack_one(std::uint64_t seq, std::vector<std::string>& deleted, std::uint64_t& top);
  core::status ack_range(std::uint64_t first, std::uint64_t last, std::vector<std::string>& deleted,
                         std::uint64_t& top);

  // Dedup keys (outbox_dedup.cpp; the generations: schema.hpp). Under mu; the writes inside the
  // caller's transaction.
  std::uint64_t dedup_generation(std::uint64_t seq) const;  // (seq - 1) / dedup_window
  // At open, before any statement is stepped (dropping a table needs none open): moves a former
  // single dedup table into the generations (a file made before 2026-12-03; on a full disk its
  // keys are dropped with a warning rather than failing every start), refiles the keys when
  // dedup_window changed, sets dedup_gen, prepares the statements.
  core::status open_dedup();
  // The newest seq stored with `key` in either generation; nullopt when it is in neither.
  core::result<std::optional<std::uint64_t>> dedup_lookup(const std::string& key);
  // Remembers `key` for `seq` in its generation's table, after emptying that table (and
  // recording the generation) when `seq` starts one. The caller sets dedup_gen =
  // dedup_generation(seq) once committed.
  core::status dedup_remember(const std::string& key, std::uint64_t seq);
  // Empties the older generation (an eviction: its keys would keep the quota full).
  core::status dedup_forget_older();
  core::status clear_dedup_table(int t);
  core::status migrate_legacy_dedup();
  core::status refile_dedup(std::uint64_t old_window);
  // Runs `sql` in order; on the first failure rolls back and returns it.
  core::status run_script(const std::vector<std::string>& sql, std::string_view what);
};

}  // namespace herd::buffer
