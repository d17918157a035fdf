#pragma once
// The forwarder's state and loop (private to herd::forwarder). forwarder.cpp: the loop, the
// adapter's reports, the producer's lifecycle, plain in-order produce; forwarder_drain.cpp: the
// backlog drain (drain_planner decides, this runs it); acked_rows: the storage steps after an ack;
// kafka_error_log: the Kafka errors shown in stats.
//
// Thread: everything below "Owned by the forwarder thread" is touched only by it (start() creates
// the first producer before the thread exists, stop() destroys the last one after joining it).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

#include "acked_rows.hpp"
#include "herd/core/clock.hpp"
#include "herd/core/logging.hpp"
#include "herd/forwarder/cloudevents.hpp"
#include "herd/forwarder/drain_planner.hpp"
#include "herd/forwarder/forwarder.hpp"
#include "herd/forwarder/kafka_producer.hpp"
#include "herd/forwarder/partition_window.hpp"
#include "kafka_error_log.hpp"

namespace herd::forwarder {

struct forwarder::impl {
  using steady = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds k_rebuild_backoff_min{100};
  static constexpr std::chrono::milliseconds k_rebuild_backoff_max{30000};
  static constexpr std::chrono::milliseconds k_max_wait{1000};  // the loop wakes at least this often

  forwarder_options opts;
  buffer::outbox& outbox;
  storage_reporter reporter;
  kafka_decider decider;
  std::shared_ptr<spdlog::logger> log = core::module_logger("forwarder");
  core::system_clock wall;  // stamps Kafka errors (last_kafka_error_ms)

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool dirty = true;  // the outbox may have rows we have not produced yet
  // fill_in_order's lane (true: the live lane of a drain) and its cursor where its last read found
  // the outbox read to the end with `dirty` false: until notify() sets `dirty`, a read there finds
  // nothing. Spares a read per loop turn (every 5 ms) while events wait in flight, e.g. for a
  // broker that stays down. Reset whenever `dirty` is cleared.
  std::optional<std::pair<bool, std::uint64_t>> read_to_end_at;
  void forget_read_to_end() {
    std::lock_guard lock(mu);
    read_to_end_at.reset();
  }
  std::chrono::milliseconds drain{0};
  std::thread thread;

  // Owned by the forwarder thread.
  std::unique_ptr<kafka_producer> producer;
  std::uint64_t cursor = 0;  // highest outbox seq handed to the producer
  std::set<std::int64_t> dl_in_flight;
  struct flight {
    std::int64_t created_ms = 0;  // the outbox row's created_ms (ack latency)
    std::int32_t partition = -1;  // where librdkafka sends it (partition_window); -1 unknown yet
    bool backlog = false;         // a drain's backlog event (drain_planner::in_backlog)
    std::string key;              // while partition is -1: to place it once the count is known
  };
  std::unordered_map<std::uint64_t, flight> flights;  // in flight: seq -> what it counts in
  std::size_t in_flight() const { return flights.size(); }  // produced, report not yet served
  partition_window window;  // the in-flight events per partition (issue 15, goal 4), on `mono`
  acked_rows acks;  // acknowledged, to be deleted / marked forwarded
  // Reused from one event (or outbox read) to the next, so that producing one allocates little of
  // ours (issue 15, goal 6: malloc and free were ~a fifth of the forwarder thread's CPU in a drain,
  // ~24 calls per event): each event's headers, and the rows each lane reads. live_rows is kept
  // (at most `batch` rows: ~150 KB at the default 500); backlog_rows is freed when a drain ends
  // (forwarder_drain.cpp) or the producer is rebuilt.
  cloudevents_builder headers;
  std::vector<buffer::record> live_rows, backlog_rows;
  bool rebuild = false;
  bool halted = false;  // the decider said stop: nothing more is produced
  bool kafka_down_logged = false;

  // Backlog drain (see the header): the planner keeps the split, the held events, the release
  // order and the rate. While draining, `cursor` walks the backlog (..., backlog_end] and the
  // planner's live cursor the live events after it.
  core::boot_clock mono;  // the planner's clock (monotonic ms)
  drain_planner planner;
  std::uint64_t produced = 0;  // events handed to librdkafka (not dead-lettered ones)
  std::chrono::milliseconds rebuild_backoff = k_rebuild_backoff_min;
  steady::time_point next_rebuild_at{};    // a failing producer is rebuilt no sooner than this
  steady::time_point fill_paused_until{};  // after an outbox error, read again no sooner than this
  steady::time_point next_dead_letter_scan{};

  // Read by stats() on any thread.
  std::atomic<std::uint64_t> rebuilds{0}, in_flight_gauge{0};
  std::atomic<std::int64_t> heartbeat{0};
  std::atomic<bool> draining_gauge{false};
  std::atomic<std::uint64_t> held_gauge{0}, drains{0}, pending_gauge{0};
  std::atomic<std::uint64_t> stalled_gauge{0}, beyond_share_gauge{0};  // forwarder_stats
  std::atomic<std::uint64_t> acked_through_gauge{0};  // forwarder_stats::acked_through
  std::atomic<std::uint64_t> outbox_reads{0};         // forwarder_stats::outbox_reads
  kafka_error_log errors;  // Kafka errors (delivery reports, error callback, produce calls)
  std::array<std::atomic<std::uint64_t>, k_ack_latency_buckets_ms.size()> ack_le{};  // forwarder_stats
  std::atomic<std::uint64_t> ack_count{0}, ack_sum_ms{0};

  impl(forwarder_options o, buffer::outbox& ob, storage_reporter r, kafka_decider d);
  static drain_limits limits_of(const forwarder_options& o);

  void kafka_error(const std::string& name, const std::string& message) {
    errors.error(name, message, wall.now_ms(), steady::now());
  }
  void beat() {
    heartbeat.store(std::chrono::duration_cast<std::chrono::milliseconds>(steady::now().time_since_epoch()).count());
  }
  void observe_ack_latency(std::int64_t ms) {
    ms = std::max<std::int64_t>(ms, 0);
    // The count first, then the buckets widest first; stats() reads the buckets narrowest first and
    // the count last, so it never sees a bucket ahead of a wider one or of the count (+Inf).
    ack_count.fetch_add(1);
    ack_sum_ms.fetch_add(static_cast<std::uint64_t>(ms));
    for (std::size_t b = k_ack_latency_buckets_ms.size(); b-- > 0 && ms <= k_ack_latency_buckets_ms[b];) {
      ack_le[b].fetch_add(1);
    }
  }
  // Events that may be produced now: the window (max_in_flight) minus what counts against it
  // (partition_window: a stalled partition's events beyond its share do not, while the cluster
  // answers); none once more than max_beyond_share such events wait.
  std::size_t window_room();
  // Takes the topic's partition count from the producer; places the events produced before it
  // was known.
  void update_partitions();
  // A full window whose events all wait without any acknowledgement: asks the cluster whether it
  // answers (partition_window.hpp), at most every second, blocking up to k_probe_timeout.
  void probe_cluster();
  static constexpr std::chrono::milliseconds k_probe_timeout{500};
  bool beyond_cap_logged = false;
  void storage_failed(const core::error& e) {
    if (reporter.failed) reporter.failed(e);
  }

  // forwarder.cpp: asks the decider, fitting its answer to the origin (forwarder.hpp, kafka_decider).
  kafka_action decide(kafka_origin where, const kafka_outcome& o);
  void halt(kafka_origin where, const kafka_outcome& o);

  // forwarder.cpp: the adapter's reports (inside producer->poll(), on this thread), the producer.
  void delivered_cb(record_tag tag, const kafka_outcome& o);
  void error_cb(const kafka_outcome& o);
  core::status create_producer();
  void destroy_producer();
  void rebuild_producer();
  // Runs the storage steps that are due (`force`: now) and refreshes the gauges.
  void apply_acks(bool force = false);

  // forwarder.cpp: producing.
  bool move_to_dead_letters(const buffer::record& r, const std::string& reason);
  bool produce_event(const buffer::record& r);
  // Reads up to `limit` rows after seq `after` into `rows` (outbox::peek, counted in
  // outbox_reads); false after an outbox error: logged, reported, reads paused for 1 s.
  bool read_outbox(std::uint64_t after, std::size_t limit, std::vector<buffer::record>& rows);
  void fill_in_order(bool gate);
  void forward_dead_letters();
  void run();

  // forwarder_drain.cpp: the backlog drain.
  void start_drain();
  bool release_held();
  void fill_backlog();
  void fill_window();
};

}  // namespace herd::forwarder
