#include "herd/forwarder/forwarder.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>
#include <vector>

#include "herd/core/clock.hpp"
#include "herd/core/logging.hpp"
#include "herd/core/time_format.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/forwarder/cloudevents.hpp"
#include "herd/forwarder/drain_planner.hpp"
#include "herd/forwarder/kafka_producer.hpp"

namespace herd::forwarder {

struct forwarder::impl {
  forwarder_options opts;
  buffer::outbox& outbox;
  storage_reporter reporter;
  std::shared_ptr<spdlog::logger> log = core::module_logger("forwarder");
  core::system_clock wall;  // stamps dead letters of records Kafka refused

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool dirty = true;  // the outbox may have rows we have not produced yet
  std::chrono::milliseconds drain{0};
  std::thread thread;

  // Owned by the forwarder thread.
  std::unique_ptr<kafka_producer> producer;
  std::uint64_t cursor = 0;  // highest outbox seq handed to the producer
  std::size_t in_flight = 0;
  std::set<std::int64_t> dl_in_flight;
  // Acknowledged by Kafka, to be deleted. A delete that fails (disk full, ...) keeps them here and
  // is retried with backoff until it succeeds; meanwhile they are never produced again (`pending`
  // mirrors `acked` for the lookup), so neither a rebuild nor a rate-limited drain resends them.
  std::vector<std::uint64_t> acked;
  std::unordered_set<std::uint64_t> pending;
  std::vector<std::int64_t> dl_acked;
  std::set<std::int64_t> dl_pending;  // dead letters acknowledged, not yet marked forwarded
  static constexpr std::chrono::milliseconds k_storage_backoff_min{50};
  static constexpr std::chrono::milliseconds k_storage_backoff_max{2000};
  std::chrono::milliseconds storage_backoff = k_storage_backoff_min;
  std::chrono::steady_clock::time_point storage_retry_at{};
  bool storage_failing = false;
  bool rebuild = false;
  bool kafka_down_logged = false;

  // Backlog drain (see the header): the planner keeps the split, the held events, the release
  // order and the rate. While draining, `cursor` walks the backlog (..., backlog_end] and the
  // planner's live cursor the live events after it.
  core::boot_clock mono;  // the planner's clock (monotonic ms)
  drain_planner planner;
  std::uint64_t produced = 0;  // events handed to librdkafka (not dead-lettered ones)
  using steady = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds k_rebuild_backoff_min{100};
  static constexpr std::chrono::milliseconds k_rebuild_backoff_max{30000};
  std::chrono::milliseconds rebuild_backoff = k_rebuild_backoff_min;
  steady::time_point next_rebuild_at{};  // a failing producer is rebuilt no sooner than this
  steady::time_point fill_paused_until{};  // after an outbox error, read again no sooner than this
  steady::time_point next_dead_letter_scan{};

  std::atomic<std::uint64_t> delivered{0}, dl_forwarded{0}, rebuilds{0}, in_flight_gauge{0};
  std::atomic<std::int64_t> heartbeat{0};
  std::atomic<bool> draining_gauge{false};
  std::atomic<std::uint64_t> held_gauge{0}, drains{0}, pending_gauge{0};
  std::atomic<std::uint64_t> acked_through_gauge{0};  // forwarder_stats::acked_through
  // Kafka errors (delivery reports, error callback, produce calls): counted by name, the last kept.
  mutable std::mutex err_mu;
  std::map<std::string, std::uint64_t> kafka_errors;
  std::string last_error, last_error_message;
  std::int64_t last_error_ms = 0, failing_since_ms = 0;
  steady::time_point failing_since_steady{};  // for the duration: the wall clock may step

  void kafka_error(const std::string& name, const std::string& message) {
    const auto now = wall.now_ms();
    std::lock_guard lock(err_mu);
    last_error = name;
    last_error_message = message;
    last_error_ms = now;
    if (failing_since_ms == 0) {
      failing_since_ms = now;
      failing_since_steady = steady::now();
    }
    ++kafka_errors[last_error];
  }
  void kafka_ok() {
    std::lock_guard lock(err_mu);
    failing_since_ms = 0;
  }
  static constexpr std::chrono::milliseconds k_max_wait{1000};  // the loop wakes at least this often

  void beat() {
    heartbeat.store(std::chrono::duration_cast<std::chrono::milliseconds>(steady::now().time_since_epoch()).count());
  }

  impl(forwarder_options o, buffer::outbox& ob, storage_reporter r)
      : opts(std::move(o)), outbox(ob), reporter(std::move(r)), planner(limits_of(opts), mono) {}

  static drain_limits limits_of(const forwarder_options& o) {
    drain_limits l;
    l.max_in_flight = o.max_in_flight;
    l.batch = o.batch;
    l.backlog_threshold = o.backlog_threshold;
    l.drain_rate = o.drain_rate;
    l.drain_max_queued = o.drain_max_queued;
    l.max_deferred = o.max_deferred;
    return l;
  }

  void storage_failed(const core::error& e) {
    if (reporter.failed) reporter.failed(e);
  }
  void storage_succeeded() {
    if (reporter.succeeded) reporter.succeeded();
  }

  // --- the adapter's reports (inside producer->poll(), on the forwarder thread): the loop decides ---
  void delivered_cb(record_tag tag, const kafka_outcome& o) {
    if (tag.dead_letter) {
      const auto id = static_cast<std::int64_t>(tag.id);
      dl_in_flight.erase(id);
      if (o.ok()) {
        if (dl_pending.insert(id).second) dl_acked.push_back(id);
      } else if (o.verdict != kafka_verdict::purged) {
        kafka_error(o.name, o.message);
        log->warn("dead letter {} not accepted by Kafka: {}; will retry", id, o.message);
      }
      return;
    }
    const std::uint64_t seq = tag.id;
    if (in_flight > 0) --in_flight;
    planner.reported(seq);
    if (o.ok()) {
      if (pending.insert(seq).second) acked.push_back(seq);
      kafka_ok();
      rebuild_backoff = k_rebuild_backoff_min;
      if (kafka_down_logged) {
        log->info("Kafka reachable again; forwarding resumes");
        kafka_down_logged = false;
      }
      return;
    }
    if (o.verdict == kafka_verdict::purged) return;
    kafka_error(o.name, o.message);
    // Never delete without an ack: whatever the class (retry, fatal, even rejected:
    // MSG_SIZE_TOO_LARGE from a broker applies to a whole request), the event stays in the outbox;
    // rebuild and resend from the oldest, with backoff while the error persists. One line per
    // rebuild, not one per message.
    if (!rebuild) {
      log->warn("delivery of seq {} failed: {}; rebuilding the producer and resending in order", seq,
                o.message);
    }
    rebuild = true;
  }

  void error_cb(const kafka_outcome& o) {
    if (o.verdict == kafka_verdict::purged) return;  // our own teardown of a producer
    kafka_error(o.name, o.message);
    if (o.verdict == kafka_verdict::fatal) {
      if (!rebuild) log->error("fatal producer error: {}; rebuilding the producer", o.fatal_reason);
      rebuild = true;
    } else if (o.name == "_ALL_BROKERS_DOWN") {
      if (!kafka_down_logged) log->warn("Kafka unreachable ({}); events wait in the outbox", o.message);
      kafka_down_logged = true;
    } else {
      log->debug("kafka: {}: {}", o.name, o.message);
    }
  }

  core::status create_producer() {
    kafka_producer::handlers h;
    h.delivered = [this](record_tag t, const kafka_outcome& o) { delivered_cb(t, o); };
    h.client_error = [this](const kafka_outcome& o) { error_cb(o); };
    auto made = kafka_producer::create(opts, std::move(h), log);
    if (!made) return made.err();
    producer = std::move(*made);
    return core::ok_v;
  }

  void destroy_producer() {
    if (!producer) return;
    producer->purge_all();
    producer->poll(std::chrono::milliseconds(0));  // serve the reports that are ready: successes still count
    apply_acks();
    producer.reset();
  }

  // Drops the producer and everything it held; the outbox still has every unacknowledged event,
  // so restarting from the oldest resends them in their original order and with their ids.
  void rebuild_producer() {
    destroy_producer();
    rebuilds.fetch_add(1);
    cursor = 0;
    in_flight = 0;
    dl_in_flight.clear();
    planner.reset();
    rebuild = false;
    {
      std::lock_guard lock(mu);
      dirty = true;
    }
    next_rebuild_at = steady::now() + rebuild_backoff;  // if this one fails too, wait longer
    rebuild_backoff = std::min(rebuild_backoff * 2, k_rebuild_backoff_max);
    if (auto st = create_producer(); !st) {
      log->error("{}; retrying in {} ms", st.err().message, rebuild_backoff.count());
      rebuild = true;
    }
  }

  // The storage steps after a Kafka ack: delete acknowledged events, mark dead letters forwarded.
  // A failure keeps them pending and retries with backoff (50 ms doubling to 2 s) until it
  // succeeds: an acknowledged event left in the outbox would be produced again after a restart,
  // behind newer ones. `force` retries now (at stop).
  void apply_acks(bool force = false) {
    const auto now = steady::now();
    if ((!acked.empty() || !dl_acked.empty()) && (force || now >= storage_retry_at)) {
      core::status st = core::ok_v;
      if (!acked.empty()) {
        st = outbox.ack(acked);
        if (st) {
          delivered.fetch_add(acked.size());
          for (const auto seq : acked) pending.erase(seq);
          acked.clear();
        }
      }
      if (st && !dl_acked.empty()) {
        st = outbox.mark_dead_letters_forwarded(dl_acked);
        if (st) {
          dl_forwarded.fetch_add(dl_acked.size());
          for (const auto id : dl_acked) dl_pending.erase(id);
          dl_acked.clear();
        }
      }
      if (st) {
        if (storage_failing) {
          log->info("storage recovered: acknowledged events deleted; forwarding resumes");
          storage_failing = false;
        }
        storage_backoff = k_storage_backoff_min;
        storage_succeeded();
      } else {
        if (!storage_failing) {
          log->error("cannot delete {} events Kafka acknowledged: {}; keeping them pending (never "
                     "resent) and retrying with backoff", acked.size() + dl_acked.size(), st.err().message);
        }
        storage_failing = true;
        storage_failed(st.err());
        storage_retry_at = now + storage_backoff;
        storage_backoff = std::min(storage_backoff * 2, k_storage_backoff_max);
      }
    }
    pending_gauge.store(acked.size());
    in_flight_gauge.store(in_flight);
    held_gauge.store(planner.held());
    draining_gauge.store(planner.draining());
  }

  // An event that can never be produced: keep its bytes as a dead letter, then drop it from the
  // outbox. If the dead letter cannot be written, the row stays and the cursor does not move.
  bool move_to_dead_letters(const buffer::record& r, const std::string& reason) {
    if (auto dl = outbox.add_dead_letter("outbox", reason, r.value, r.created_ms); !dl) {
      log->error("cannot dead-letter seq {}: {}; retrying", r.seq, dl.err().message);
      storage_failed(dl.err());
      fill_paused_until = steady::now() + std::chrono::seconds(1);
      return false;
    }
    if (pending.insert(r.seq).second) acked.push_back(r.seq);
    return true;
  }

  // Produces one outbox row; false when it cannot now (queue full, storage error): retry later.
  bool produce_event(const buffer::record& r) {
    if (pending.count(r.seq) > 0) return true;  // acknowledged already; only its delete is pending
    events::v1::EventEnvelope env;
    if (!env.ParseFromString(r.value)) {
      log->error("outbox seq {} is not a valid EventEnvelope; moving it to the dead-letter table", r.seq);
      return move_to_dead_letters(r, "outbox row is not a valid EventEnvelope");
    }
    const auto o = producer->produce(opts.topic, r.key, r.value, cloudevents_headers(env), record_tag{false, r.seq});
    if (!o.ok()) {
      if (o.name == "_QUEUE_FULL") return false;  // the window is full: later
      kafka_error(o.name, o.message);
      switch (o.verdict) {
        case kafka_verdict::rejected:  // refused by the client itself, for this record alone
          return move_to_dead_letters(r, "refused by the Kafka client: " + o.message);
        case kafka_verdict::retry:
          fill_paused_until = steady::now() + std::chrono::milliseconds(100);
          return false;
        default:
          break;
      }
      log->warn("produce seq {}: {}; rebuilding the producer", r.seq, o.message);
      rebuild = true;
      return false;
    }
    ++in_flight;
    ++produced;
    return true;
  }

  // Reads the outbox after the cursor and produces in seq order: the plain path (`cursor`), and
  // the live lane while draining (`gate`: the planner's live cursor; a row may be held for its
  // animal). Stops when the window is full, the outbox has nothing newer, or a row cannot be
  // produced now.
  void fill_in_order(bool gate) {
    while (!rebuild && in_flight < opts.max_in_flight && (!gate || planner.hold_room() > 0)) {
      std::size_t limit = std::min(opts.batch, opts.max_in_flight - in_flight);
      if (gate) limit = std::min(limit, planner.hold_room());
      auto rows = outbox.peek(gate ? planner.live_cursor() : cursor, limit);
      if (!rows) {
        log->error("cannot read the outbox: {}; retrying in 1 s", rows.err().message);
        storage_failed(rows.err());
        fill_paused_until = steady::now() + std::chrono::seconds(1);
        return;
      }
      for (auto& r : *rows) {
        if (gate && planner.must_hold(r.key)) {
          planner.hold(std::move(r));
          continue;
        }
        if (!produce_event(r)) return;
        if (gate) {
          planner.live_passed(r.seq);
        } else {
          cursor = r.seq;
        }
      }
      if (rows->size() < limit) {
        std::lock_guard lock(mu);
        // Rows appended after our peek set dirty again via notify(); only then look again.
        if (!dirty) return;
        dirty = false;
      }
    }
  }

  // Splits the outbox at its newest event; notes each animal's last backlog event.
  // From the start of the outbox (first drain, or after a producer rebuild reset the cursor) acked
  // and deleted rows lie below and among the rest, so only a scan of what is there is exact; after
  // a point the cursor passed, nothing is acked yet and the outbox's memory of each key is exact.
  core::result<buffer::outbox::backlog_split> split_backlog() {
    if (cursor > 0) return outbox.split_backlog(cursor);
    buffer::outbox::backlog_split split;
    split.newest = outbox.last_seq();
    auto rows = outbox.last_seq_per_key(0, split.newest);
    if (!rows) return rows.err();
    split.last_per_key = std::move(*rows);
    return split;
  }

  void start_drain() {
    auto split = split_backlog();
    if (!split) {
      log->error("cannot split the backlog: {}; forwarding in plain outbox order", split.err().message);
      return;
    }
    planner.start(std::move(*split));
    const std::uint64_t newest = planner.backlog_end();
    log->info("draining a backlog of up to {} events (seq {}..{}, {} animals){}; live events go first",
              newest - cursor, cursor + 1, newest, planner.backlog_animals(),
              opts.drain_rate > 0 ? fmt::format(" at most {}/s", opts.drain_rate) : std::string());
  }

  // Held events whose animal's backlog is produced go next, in order (never into a producer
  // about to be rebuilt: everything is resent then anyway).
  bool release_held() {
    while (const buffer::record* r = planner.next_release()) {
      if (rebuild) return false;
      if (!produce_event(*r)) return false;
      planner.release_produced();
    }
    return true;
  }

  void fill_backlog() {
    if (!release_held()) return;
    const std::uint64_t backlog_end = planner.backlog_end();
    while (!rebuild && cursor < backlog_end) {
      const std::size_t allowance = planner.allowance(in_flight);
      if (allowance == 0) return;
      auto rows = outbox.peek(cursor, allowance);
      if (!rows) {
        log->error("cannot read the outbox: {}; retrying in 1 s", rows.err().message);
        storage_failed(rows.err());
        fill_paused_until = steady::now() + std::chrono::seconds(1);
        return;
      }
      for (const auto& r : *rows) {
        if (r.seq > backlog_end) {  // the backlog's remaining events were evicted or dead-lettered
          cursor = backlog_end;
          break;
        }
        const std::uint64_t before = produced;
        if (!produce_event(r)) return;
        cursor = r.seq;
        // A dead-lettered row is done too, but no delivery report will come for it.
        planner.backlog_produced(r.key, r.seq, produced != before);
        if (!release_held()) return;
      }
      if (rows->empty()) cursor = backlog_end;
    }
    if (cursor < backlog_end) return;
    // Every backlog event is produced (animals still listed had their last ones evicted): release all.
    planner.backlog_done();
    if (!release_held()) return;
    const double took = static_cast<double>(planner.ms_since_start()) / 1000.0;
    log->info("backlog drained: {} events in {:.1f} s ({:.0f}/s)", planner.produced_since_start(), took,
              took > 0 ? static_cast<double>(planner.produced_since_start()) / took : 0.0);
    drains.fetch_add(1);
    cursor = planner.live_cursor();
    planner.reset();
  }

  void fill_window() {
    if (!planner.draining()) {
      switch (planner.next_step(outbox.last_seq(), cursor, in_flight)) {
        case drain_planner::step::in_order:
          fill_in_order(false);
          return;
        case drain_planner::step::wait_for_acks:
          return;
        case drain_planner::step::split:
          start_drain();
          if (!planner.draining()) {
            fill_in_order(false);
            return;
          }
          break;
      }
    }
    fill_in_order(true);  // live first: its latency is what the drain must not hurt
    fill_backlog();
  }

  void forward_dead_letters() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_dead_letter_scan || !dl_in_flight.empty()) return;
    next_dead_letter_scan = now + std::chrono::seconds(1);
    auto dls = outbox.dead_letters(true, 100);
    if (!dls) return;
    for (const auto& d : *dls) {
      if (dl_pending.count(d.id) > 0) continue;  // acknowledged; only its mark is pending
      const std::vector<std::pair<std::string, std::string>> hdrs = {
          {"dlq_reason", d.reason}, {"dlq_source", d.source}, {"dlq_received_at", core::iso8601_utc_ms(d.received_ms)}};
      const record_tag tag{true, static_cast<std::uint64_t>(d.id)};
      if (!producer->produce(opts.dlq_topic, d.source, d.payload, hdrs, tag).ok()) return;
      dl_in_flight.insert(d.id);
    }
  }

  void run() {
    for (;;) {
      beat();
      {
        std::lock_guard lock(mu);
        if (stopping) break;
      }
      if (rebuild || !producer) {
        if (steady::now() < next_rebuild_at) {
          std::unique_lock lock(mu);
          cv.wait_until(lock, std::min(next_rebuild_at, steady::now() + k_max_wait), [&] { return stopping; });
          continue;
        }
        rebuild_producer();
        if (!producer) continue;
      }
      const std::uint64_t produced_before = produced;
      if (steady::now() >= fill_paused_until) fill_window();
      const bool stalled_drain = planner.draining() && produced == produced_before;
      forward_dead_letters();
      // Block in poll while deliveries are pending; dead letters to a missing topic may stay
      // pending for long, so they get a long poll rather than a spin.
      producer->poll(std::chrono::milliseconds(in_flight > 0 ? 5 : !dl_in_flight.empty() ? 50 : 0));
      apply_acks();
      // Nothing in flight outside a drain: every event up to the cursor is acknowledged (or
      // dead-lettered). During a drain the live lane runs ahead of the backlog: not claimed then.
      if (in_flight == 0 && !planner.draining() && !rebuild && cursor > acked_through_gauge.load()) {
        acked_through_gauge.store(cursor);
      }
      if (in_flight == 0 && dl_in_flight.empty() && !rebuild) {
        std::unique_lock lock(mu);
        const auto now = steady::now();
        const bool paused = now < fill_paused_until;
        if (!dirty || paused || stalled_drain) {
          // A rate-limited drain has more to do soon; otherwise wait for new rows.
          const auto idle = planner.draining() ? std::chrono::milliseconds(10) : std::chrono::milliseconds(200);
          auto until = paused ? std::min(fill_paused_until, now + k_max_wait) : now + idle;
          if (!acked.empty() || !dl_acked.empty()) until = std::min(until, std::max(storage_retry_at, now));
          // A stalled drain (rate limit, held events at their cap) waits its 10 ms even if rows
          // were appended: they could not be produced now anyway.
          cv.wait_until(lock, until, [&] {
            return stopping || (!stalled_drain && dirty && steady::now() >= fill_paused_until);
          });
        }
      }
    }
    // Stopping: nothing new is produced; wait for what is in flight, up to the drain deadline.
    const auto deadline = std::chrono::steady_clock::now() + drain;
    while (producer && (in_flight > 0 || !dl_in_flight.empty()) &&
           std::chrono::steady_clock::now() < deadline && !rebuild) {
      producer->poll(std::chrono::milliseconds(10));
      apply_acks();
    }
    if (in_flight > 0) log->info("{} events still in flight at stop stay in the outbox", in_flight);
    destroy_producer();
    // Deletes still failing at stop: retry until the drain deadline; what remains is produced
    // again after the restart (with its event_id: a duplicate the consumers drop).
    while ((!acked.empty() || !dl_acked.empty()) && std::chrono::steady_clock::now() < deadline) {
      apply_acks(true);
      if (acked.empty() && dl_acked.empty()) break;
      std::this_thread::sleep_for(std::min(storage_backoff, std::chrono::milliseconds(200)));
    }
    if (!acked.empty()) {
      log->error("{} events Kafka acknowledged could not be deleted before the stop: they are "
                 "produced again after the restart, with their event_id", acked.size());
    }
  }
};

forwarder::forwarder(forwarder_options options, buffer::outbox& outbox, storage_reporter reporter)
    : impl_(std::make_unique<impl>(std::move(options), outbox, std::move(reporter))) {}

forwarder::~forwarder() { stop(std::chrono::milliseconds(0)); }

core::status forwarder::start() {
  auto& p = *impl_;
  if (p.thread.joinable()) return core::error::fatal("forwarder already started");
  if (auto st = p.create_producer(); !st) return st;
  p.thread = std::thread([&p] { p.run(); });
  return core::ok_v;
}

void forwarder::notify() {
  auto& p = *impl_;
  {
    std::lock_guard lock(p.mu);
    p.dirty = true;
  }
  p.cv.notify_one();
}

void forwarder::stop(std::chrono::milliseconds drain) {
  auto& p = *impl_;
  {
    std::lock_guard lock(p.mu);
    p.stopping = true;
    p.drain = drain;
  }
  p.cv.notify_one();
  if (p.thread.joinable()) p.thread.join();
  p.destroy_producer();
}

forwarder_stats forwarder::stats() const {
  const auto& p = *impl_;
  forwarder_stats s;
  s.delivered = p.delivered.load();
  s.dead_letters_forwarded = p.dl_forwarded.load();
  s.producer_rebuilds = p.rebuilds.load();
  s.in_flight = p.in_flight_gauge.load();
  s.draining = p.draining_gauge.load();
  s.deferred = p.held_gauge.load();
  s.drains = p.drains.load();
  s.heartbeat_steady_ms = p.heartbeat.load();
  s.acked_pending_delete = p.pending_gauge.load();
  s.acked_through = p.acked_through_gauge.load();
  std::lock_guard lock(p.err_mu);
  s.kafka_errors = p.kafka_errors;
  s.last_kafka_error = p.last_error;
  s.last_kafka_error_message = p.last_error_message;
  s.last_kafka_error_ms = p.last_error_ms;
  s.kafka_failing_since_ms = p.failing_since_ms;
  if (p.failing_since_ms != 0) {
    s.kafka_failing_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - p.failing_since_steady).count();
  }
  return s;
}

}  // namespace herd::forwarder
