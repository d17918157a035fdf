#pragma once
// The durable outbox: an ordered, crash-safe queue of opaque records in one SQLite file (WAL),
// plus the dead-letter table. It stores bytes and knows nothing of MQTT, Kafka or the schema.
//
// Threading: every method is safe to call from any thread (one connection behind a mutex).
// Durability: a method returns only after its transaction has committed with the configured
// `synchronous` level, so a caller may acknowledge its source once append() returned a seq.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "herd/core/clock.hpp"
#include "herd/core/result.hpp"

namespace herd::buffer {

enum class sync_mode { off, normal, full };

// PRAGMA journal_mode. WAL (the default) lets the forwarder and the monitoring reader run while
// ingest writes; the rollback modes suit file systems without shared memory (no -shm file).
enum class journal_mode { wal, truncate, del };

// What append() does when the quota (max_bytes) or the disk is full.
enum class full_policy {
  backpressure,  // fail with a retriable error: the caller holds its reading unacknowledged
  evict_oldest,  // delete the oldest events (in seq order) until the new one fits
};

// When open() runs PRAGMA quick_check over the whole file (issue 15, goal 7: it reads every page,
// ~1.7 GB for 72 h of a 1,000-head herd, minutes on an SD card).
enum class start_check {
  after_unclean_stop,  // unless the last close was clean (see outbox::mark_clean_stop) and the
                       // file is unchanged since; corruption at rest is then found at the first
                       // read of a damaged page (a fatal outbox.corrupt: the restart checks)
  always,
};

struct outbox_options {
  std::string path;                   // the SQLite file; created if missing
  sync_mode synchronous = sync_mode::full;  // PRAGMA synchronous
  const core::clock* clock = nullptr;       // stamps created_ms; nullptr = system clock
  // Dedup keys remembered (at least), counted in seqs; with synchronous != full at least 10,000 (a
  // crash skips up to that many seqs). A changed window refiles the keys at open.
  std::uint64_t dedup_window = 1'000'000;
  // Largest size of the database file, bytes (PRAGMA max_page_count; the WAL comes on top,
  // up to ~4 MiB between checkpoints, and counts in it while a reader pins it: see wal()).
  // 0 = no limit.
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
  full_policy when_full = full_policy::backpressure;
  journal_mode journal = journal_mode::wal;
  // WAL only. Every checkpoint_interval_ms a background thread looks at what was committed since
  // its last tick:
  // - synchronous = normal: it fsyncs the WAL, which bounds the power-loss window to about this
  //   interval (commits are not fsynced one by one). It copies the WAL into the database file only
  //   at the size triggers below: a copy on every tick wrote twice the bytes per reading (16.5
  //   against 8.4 KB at 2 readings/s with 1 KiB pages, bench/outbox_bench.cpp section 1).
  // - full: every commit is synced already, so the tick only looks (a timed copy after every
  //   reading or two rewrote the same pages: 18.5 against 11.7 KB per reading).
  // - off: it copies (a PASSIVE checkpoint), which keeps the WAL short; nothing is fsynced.
  // Whatever the mode, the WAL is copied when it holds half of wal_autocheckpoint_pages, or, looked
  // at every interval, half of its byte limit. 0 = no thread: only SQLite's automatic checkpoints
  // (every wal_autocheckpoint_pages pages), and then the normal window is unbounded.
  // Both checkpoints run on the checkpointer thread's own connection (issue 15): appends go on
  // committing to the WAL while it copies and fsyncs; only the remainder that came in meanwhile
  // is copied (and fsynced) under the outbox lock. A commit checkpoints itself only when the WAL
  // reaches wal_autocheckpoint_pages before the checkpointer reset it.
  std::uint32_t checkpoint_interval_ms = 1000;
  // The WAL's bound in pages. With the timed checkpointer, a WAL half this size asks it for a
  // checkpoint at once, and a commit that finds it still this size runs one itself; without it,
  // SQLite's PRAGMA wal_autocheckpoint (inside the commit). 0 = off.
  std::uint32_t wal_autocheckpoint_pages = 1000;
  // PRAGMA page_size for a new file (an existing outbox keeps its own); 0 = SQLite's (4096). Each
  // reading's transaction writes a few whole pages to the WAL, so smaller pages mean fewer bytes
  // written per reading: 1 KiB pages write half of what 4 KiB ones do (SD-card wear; bench/
  // outbox_bench.cpp, docs/deployment.md), for a slower drain of a backlog (57,000 against 93,000
  // events/s here, far above a farm's uplink) and a slower start-up check after a crash.
  std::uint32_t page_size = 1024;
  // The dead-letter table's own space (issue 14, case 2): at most this many dead letters and this
  // many bytes of them (payload + reason + source; with max_bytes set, at most max_bytes / 4).
  // Beyond, the oldest go, forwarded ones first; one not yet forwarded is counted as dropped.
  // Forwarded ones beyond the newest dead_letter_keep_forwarded are pruned. When the file is
  // full, dead letters make room for events, never the reverse.
  std::uint64_t dead_letter_max_count = 10'000;
  std::uint64_t dead_letter_max_bytes = std::uint64_t{16} << 20;
  std::uint64_t dead_letter_keep_forwarded = 1'000;
  start_check check_at_start = start_check::after_unclean_stop;  // see start_check
};

// What open() found. A file that is not a database or fails PRAGMA quick_check is quarantined:
// renamed (with its -wal and -shm) to `<path>.corrupt-<UTC timestamp>` and never deleted; the
// rows still readable from it are copied into a fresh outbox at `<path>`.
struct open_report {
  bool checked = false;         // PRAGMA quick_check ran over the file (false: new file, or clean stop)
  double check_seconds = 0;     // how long it took
  bool quarantined = false;
  std::string quarantine_path;  // where the corrupt file now is
  std::string problem;          // why it was quarantined (SQLite's error or quick_check's first line)
  std::uint64_t salvaged_events = 0;
  std::uint64_t salvaged_dead_letters = 0;
  std::uint64_t salvaged_dedup_keys = 0;
  // The highest seq the corrupt file shows; the sequence goes on after it and a gap of 10,000 (rows
  // on damaged pages may be newer, and sent already), so no seq is ever reused.
  std::uint64_t highest_seq = 0;
};

struct record {
  std::uint64_t seq = 0;       // strictly increasing, never reused, even after deletes
  std::string key;             // e.g. the animal id
  std::string value;           // opaque bytes
  std::int64_t created_ms = 0; // wall time at append, ms since epoch
};

struct dead_letter {
  std::int64_t id = 0;
  std::int64_t received_ms = 0;  // wall time at ingest, ms since epoch
  std::string source;            // where it came from, e.g. the MQTT topic
  std::string reason;            // why it was rejected, human readable
  std::string payload;           // the original bytes, unchanged
  bool forwarded = false;        // copied to the dead-letter Kafka topic
};

struct outbox_test_access;  // defined by the tests that read private counters

class outbox {
 public:
  static core::result<std::unique_ptr<outbox>> open(const outbox_options& options);
  ~outbox();
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;

  struct appended {
    std::uint64_t seq = 0;   // the committed record's seq, or the original's for a duplicate
    bool duplicate = false;  // dedup_key was seen before: nothing was stored
  };
  enum class dedup_mode {
    skip_seen,  // a key seen within the window means "already stored": store nothing
    refresh,    // store anyway and remember the key from now on (the key is known to be ambiguous)
  };
  // Appends one record. `build(seq)` makes the value inside the transaction that stores it, so a
  // sequence number embedded in the value always equals the row's. A non-empty `dedup_key` that
  // was appended within the last `dedup_window` appends is not stored again (an MQTT redelivery
  // of a reading we stored but whose PUBACK was lost), unless `mode` is refresh. Keys live in two
  // generations of dedup_window appends (src/schema.hpp): one is forgotten between one and two
  // windows later, or sooner when when_full = evict_oldest evicts (the older generation goes).
  core::result<appended> append(const std::string& key, const std::string& dedup_key,
                                const std::function<std::string(std::uint64_t seq)>& build,
                                dedup_mode mode = dedup_mode::skip_seen);

  // Up to `limit` records with seq > after_seq, in seq order.
  core::result<std::vector<record>> peek(std::uint64_t after_seq, std::size_t limit);
  // The same into `rows` (resized to what was read; its records' strings reused, so a caller that
  // keeps `rows` from one read to the next allocates nothing once they are long enough: the
  // forwarder's drain reads ~1 M rows this way). On error `rows` holds what was read before it.
  core::status peek(std::uint64_t after_seq, std::size_t limit, std::vector<record>& rows);

  // Deletes the given records (those the downstream acknowledged), in one transaction. With
  // synchronous = full, journal_mode = wal and checkpoint_interval_ms > 0 (the defaults) this
  // commit is not fsynced on the caller's thread (it runs at PRAGMA synchronous = NORMAL, which
  // still fsyncs a reused WAL's header and any checkpoint): the next append that stores a record
  // covers it with its fsync, or, when none comes, the checkpointer's next tick
  // (checkpoint_interval_ms). A power cut before then brings the rows back, to be sent again with
  // their event_id (at least once, as after a crash); it never loses a stored record, and the
  // sequence never goes back (the rows come back with their seqs). During a drain the fsync per
  // ack transaction halved the forwarder's rate (82,000 against 110,000-125,000 events/s,
  // bench/outbox_bench.cpp section 2). Thread: any; errors: outbox.io (fatal) and the like.
  core::status ack(std::span<const std::uint64_t> seqs);

  core::result<std::uint64_t> depth();  // records not yet acknowledged (counted in memory: no query)
  // The seq of the newest committed record (0 when none was ever appended). Cheap: no query.
  std::uint64_t last_seq();
  struct backlog_split {
    std::uint64_t newest = 0;  // last_seq() at the split
    // Each key with records in the outbox whose newest appended seq is after after_seq, with
    // that seq: its newest record, or above it when the key's newest record went before older
    // ones (acknowledged or dead-lettered out of order): never below a record still there.
    std::vector<std::pair<std::string, std::uint64_t>> last_per_key;
  };
  // Splits the outbox at its newest record, without a scan: the outbox keeps each key's number
  // of records and newest seq in memory (counted at open in one pass over the table, or read from
  // the clean-stop marker after an orderly stop), so this also answers from the start of the
  // outbox (after_seq = 0), where acknowledged records are gone from among the rest. Any thread;
  // takes the outbox lock for a pass over the keys (1,000 keys: ~50 µs). Cannot fail.
  backlog_split split_backlog(std::uint64_t after_seq);

  const open_report& report() const;  // what open() found; fixed after open
  // Declares the stop orderly: the owner calls it once nothing more will be written and no
  // storage error is outstanding (gateway::app::stop()). The destructor then, after closing the
  // file, writes the clean-stop marker `<path>.clean-stop` (the file's size and modification
  // time, and each key's records for split_backlog), with which the next open() skips the
  // whole-file quick_check (start_check) and the count of each key's records. Never call
  // it after a fatal storage error: that stop must leave the next start to check. Any thread.
  void mark_clean_stop();
  // Events deleted unacknowledged by full_policy::evict_oldest since open.
  std::uint64_t evicted_events() const;
  struct backlog_summary {
    std::uint64_t events = 0;                       // records not yet acknowledged
    std::optional<std::int64_t> oldest_created_ms;  // the oldest one's; nullopt when none
  };
  // For monitoring. The count is the outbox's own (split_backlog's per-key counts): a count(*)
  // read the whole table at every scrape (~0.25 s per million events on a PC, the whole file from
  // an SD card on a Pi). The oldest record is read on a connection of its own (one row by primary
  // key): a WAL reader never blocks the writer. Any thread.
  core::result<backlog_summary> backlog();
  // Bytes on disk: the database file plus its WAL (which holds recent commits until a checkpoint).
  // Read from the file system; takes no lock and never blocks an append.
  std::uint64_t file_bytes() const;

  // The WAL as the timed checkpointer last saw it (WAL mode with checkpoint_interval_ms > 0; else
  // all 0). Past `limit_bytes` (4 MiB, or max_bytes / 4 when smaller, at least 64 KiB) each
  // checkpoint tries to reset it without waiting for readers; when another connection's read
  // transaction prevents that, the WAL is pinned: logged, and it then counts in max_bytes (appends
  // past the quota fail with the retriable code outbox.wal_pinned) until the reader lets go.
  // Lock-free; any thread.
  struct wal_status {
    std::uint64_t bytes = 0;
    std::uint64_t limit_bytes = 0;
    std::int64_t pinned_since_ms = 0;  // wall time of the first failed reset of this episode; 0: not pinned
    // Checkpoints a commit ran itself since open (count): the WAL reached wal_autocheckpoint_pages
    // before the checkpointer reset it (ingest outran the checkpointer: a flood, a slow card).
    std::uint64_t checkpoints_in_commit = 0;
    // fsyncs of the WAL on the checkpointer's timer since open (count; synchronous = normal, and
    // with full after acknowledgement deletes no append covered): each one makes the commits
    // before it durable.
    std::uint64_t timed_wal_syncs = 0;
  };
  wal_status wal() const;

  // Stores a dead letter within its own space (outbox_options::dead_letter_*): never evicts an
  // event and never waits for space. Its id; 0 when it was dropped (it alone exceeds the
  // dead-letter space, or the file is full of events): counted in dead_letters_dropped().
  core::result<std::int64_t> add_dead_letter(const std::string& source, const std::string& reason,
                                             const std::string& payload, std::int64_t received_ms);
  // Dead letters deleted, or refused, before Kafka had them, since open.
  std::uint64_t dead_letters_dropped() const;
  // Oldest first; only those not yet forwarded when `unforwarded_only`.
  core::result<std::vector<dead_letter>> dead_letters(bool unforwarded_only, std::size_t limit);
  core::status mark_dead_letters_forwarded(std::span<const std::int64_t> ids);

 private:
  struct impl;
  explicit outbox(std::unique_ptr<impl> p);
  // Checkpoints the checkpointer thread completed since open (on its timer, or asked by the WAL's
  // size): what the durability test observes
  // (tests/unit/buffer/outbox_durability_test.cpp, through outbox_test_access). Any thread.
  std::uint64_t timed_checkpoints() const;
  // Whether acknowledgement deletes wait for an fsync (see ack()). For the same tests. Any thread.
  bool acks_awaiting_sync() const;
  friend struct outbox_test_access;
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::buffer
