#include "herd/forwarder/forwarder.hpp"

#include <algorithm>
#include <vector>

#include "forwarder_impl.hpp"
#include "herd/core/time_format.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/forwarder/cloudevents.hpp"

namespace herd::forwarder {

const char* to_string(kafka_origin o) {
  switch (o) {
    case kafka_origin::produce_call: return "produce call";
    case kafka_origin::delivery_report: return "delivery report";
    case kafka_origin::client_error: break;
  }
  return "client error";
}

const char* to_string(kafka_action a) {
  switch (a) {
    case kafka_action::retry: return "retry";
    case kafka_action::rebuild: return "rebuild";
    case kafka_action::dead_letter: return "dead-letter";
    case kafka_action::stop: break;
  }
  return "stop";
}

forwarder::impl::impl(forwarder_options o, buffer::outbox& ob, storage_reporter r, kafka_decider d)
    : opts(std::move(o)), outbox(ob), reporter(std::move(r)), decider(std::move(d)), acks(outbox, reporter, log),
      planner(limits_of(opts), mono) {}

drain_limits forwarder::impl::limits_of(const forwarder_options& o) {
  drain_limits l;
  l.max_in_flight = o.max_in_flight;
  l.batch = o.batch;
  l.backlog_threshold = o.backlog_threshold;
  l.drain_rate = o.drain_rate;
  l.drain_max_queued = o.drain_max_queued;
  l.max_deferred = o.max_deferred;
  return l;
}

kafka_action forwarder::impl::decide(kafka_origin where, const kafka_outcome& o) {
  const kafka_action a = decider(where, o);
  switch (where) {
    case kafka_origin::produce_call: return a;
    case kafka_origin::delivery_report: return a == kafka_action::stop ? a : kafka_action::rebuild;
    case kafka_origin::client_error: break;
  }
  return a == kafka_action::dead_letter ? kafka_action::retry : a;
}

void forwarder::impl::halt(kafka_origin where, const kafka_outcome& o) {
  if (!halted) {
    log->critical("Kafka {} {} ({}): decided to stop; producing nothing more, unacknowledged events stay "
                  "in the outbox", to_string(where), o.name, o.message);
  }
  halted = true;
}

// --- the adapter's reports (inside producer->poll(), on the forwarder thread): the decider decides ---
void forwarder::impl::delivered_cb(record_tag tag, const kafka_outcome& o) {
  if (tag.dead_letter) {
    const auto id = static_cast<std::int64_t>(tag.id);
    dl_in_flight.erase(id);
    if (o.ok()) {
      acks.add_dead_letter(id);
    } else if (o.verdict != kafka_verdict::purged) {
      kafka_error(o.name, o.message);
      log->warn("dead letter {} not accepted by Kafka: {}; will retry", id, o.message);
    }
    return;
  }
  const std::uint64_t seq = tag.id;
  planner.reported(seq);
  std::int64_t created_ms = -1;
  if (auto f = flights.find(seq); f != flights.end()) {
    created_ms = f->second.created_ms;
    window.reported(f->second.partition, f->second.backlog, o.ok(), mono.now_ms());
    flights.erase(f);
  }
  if (o.ok()) {
    if (created_ms >= 0) observe_ack_latency(wall.now_ms() - created_ms);
    acks.add_event(seq);
    errors.ok();
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
  // a rebuild resends from the oldest, with backoff while the error persists. One line per
  // rebuild, not one per message.
  if (decide(kafka_origin::delivery_report, o) == kafka_action::stop) return halt(kafka_origin::delivery_report, o);
  if (!rebuild) {
    log->warn("delivery of seq {} failed: {}; rebuilding the producer and resending in order", seq,
              o.message);
  }
  rebuild = true;
}

void forwarder::impl::error_cb(const kafka_outcome& o) {
  if (o.verdict == kafka_verdict::purged) return;  // our own teardown of a producer
  kafka_error(o.name, o.message);
  const kafka_action a = decide(kafka_origin::client_error, o);
  if (a == kafka_action::stop) {
    halt(kafka_origin::client_error, o);
  } else if (a == kafka_action::rebuild) {
    if (!rebuild) {
      log->error("{} producer error: {}; rebuilding the producer", to_string(o.verdict),
                 o.fatal_reason.empty() ? o.message : o.fatal_reason);
    }
    rebuild = true;
  } else if (o.name == "_ALL_BROKERS_DOWN") {
    if (!kafka_down_logged) log->warn("Kafka unreachable ({}); events wait in the outbox", o.message);
    kafka_down_logged = true;
    window.set_all_brokers_down();
  } else {
    log->debug("kafka: {}: {}", o.name, o.message);
  }
}

core::status forwarder::impl::create_producer() {
  kafka_producer::handlers h;
  h.delivered = [this](record_tag t, const kafka_outcome& o) { delivered_cb(t, o); };
  h.client_error = [this](const kafka_outcome& o) { error_cb(o); };
  auto made = kafka_producer::create(opts, std::move(h), log);
  if (!made) return made.err();
  producer = std::move(*made);
  return core::ok_v;
}

void forwarder::impl::destroy_producer() {
  if (!producer) return;
  producer->purge_all();
  producer->poll(std::chrono::milliseconds(0));  // serve the reports that are ready: successes still count
  apply_acks(true);  // delete what Kafka acknowledged now, not after the gathering delay
  producer.reset();
}

// Drops the producer and everything it held; the outbox still has every unacknowledged event,
// so restarting from the oldest resends them in their original order and with their ids.
void forwarder::impl::rebuild_producer() {
  destroy_producer();
  rebuilds.fetch_add(1);
  cursor = 0;
  dl_in_flight.clear();
  flights.clear();
  window.clear();
  planner.reset();
  std::vector<buffer::record>().swap(backlog_rows);  // a drain cut short: its rows' memory goes too
  rebuild = false;
  {
    std::lock_guard lock(mu);
    dirty = true;
    read_to_end_at.reset();  // cursor 0 again: read from the oldest row
  }
  next_rebuild_at = steady::now() + rebuild_backoff;  // if this one fails too, wait longer
  rebuild_backoff = std::min(rebuild_backoff * 2, k_rebuild_backoff_max);
  if (auto st = create_producer(); !st) {
    log->error("{}; retrying in {} ms", st.err().message, rebuild_backoff.count());
    rebuild = true;
  }
}

void forwarder::impl::apply_acks(bool force) {
  acks.apply(steady::now(), force);
  pending_gauge.store(acks.events_waiting());
  in_flight_gauge.store(in_flight());
  held_gauge.store(planner.held());
  const std::int64_t now = mono.now_ms();
  stalled_gauge.store(window.excused(now));
  beyond_share_gauge.store(window.beyond_share(opts.max_in_flight, now));
  draining_gauge.store(planner.draining());
}

std::size_t forwarder::impl::window_room() {
  const std::int64_t now = mono.now_ms();
  const std::size_t used = window.counted(opts.max_in_flight, now);
  const std::size_t beyond = window.total() - used;
  if (beyond > opts.max_beyond_share) {
    if (!beyond_cap_logged) {
      log->warn("{} events wait in Kafka's client for partitions whose leader does not answer (max_beyond_share "
                "{}): nothing more is produced until they move", beyond, opts.max_beyond_share);
      beyond_cap_logged = true;
    }
    return 0;
  }
  beyond_cap_logged = false;
  return opts.max_in_flight > used ? opts.max_in_flight - used : 0;
}

void forwarder::impl::update_partitions() {
  const std::int32_t count = producer->partition_count();
  if (count == window.partitions()) return;
  window.set_partitions(count);
  if (count < 1) return;
  const std::int64_t now = mono.now_ms();
  for (auto& [seq, f] : flights) {
    if (f.partition >= 0) continue;
    f.partition = kafka_producer::partition_for(f.key, count);
    window.reattribute(f.partition, f.backlog, now);
    f.key.clear();
  }
}

void forwarder::impl::probe_cluster() {
  const std::int64_t now = mono.now_ms();
  if (!window.wants_probe(now) || window_room() > 0) return;
  window.probe_sent(now);
  if (producer->cluster_answers(k_probe_timeout)) {
    window.cluster_answered(mono.now_ms());
    log->debug("Kafka answers while {} events wait for their partitions' leaders: other partitions go on",
               window.total());
  }
}

// An event that can never be produced: keep its bytes as a dead letter, then drop it from the
// outbox. If the dead letter cannot be written, the row stays and the cursor does not move.
bool forwarder::impl::move_to_dead_letters(const buffer::record& r, const std::string& reason) {
  if (auto dl = outbox.add_dead_letter("outbox", reason, r.value, r.created_ms); !dl) {
    log->error("cannot dead-letter seq {}: {}; retrying", r.seq, dl.err().message);
    storage_failed(dl.err());
    fill_paused_until = steady::now() + std::chrono::seconds(1);
    return false;
  }
  acks.add_event(r.seq);
  return true;
}

// Produces one outbox row; false when it cannot now (queue full, storage error): retry later.
bool forwarder::impl::produce_event(const buffer::record& r) {
  if (acks.has_event(r.seq)) return true;  // acknowledged already; only its delete is pending
  const auto* h = headers.build(r.value);
  if (h == nullptr) {
    log->error("outbox seq {} is not a valid EventEnvelope; moving it to the dead-letter table", r.seq);
    return move_to_dead_letters(r, "outbox row is not a valid EventEnvelope");
  }
  const auto o = producer->produce(opts.topic, r.key, r.value, *h, record_tag{false, r.seq});
  if (!o.ok()) {
    if (o.name == "_QUEUE_FULL") return false;  // the window is full: later
    kafka_error(o.name, o.message);
    switch (decide(kafka_origin::produce_call, o)) {
      case kafka_action::dead_letter:  // e.g. refused by the client itself, for this record alone
        return move_to_dead_letters(r, "refused by the Kafka client: " + o.message);
      case kafka_action::retry:
        fill_paused_until = steady::now() + std::chrono::milliseconds(100);
        return false;
      case kafka_action::stop:
        halt(kafka_origin::produce_call, o);
        return false;
      case kafka_action::rebuild:
        break;
    }
    log->warn("produce seq {}: {}; rebuilding the producer", r.seq, o.message);
    rebuild = true;
    return false;
  }
  ++produced;
  flight f{r.created_ms, kafka_producer::partition_for(r.key, window.partitions()), planner.in_backlog(r.seq), {}};
  window.produced(f.partition, f.backlog, mono.now_ms());
  if (f.partition < 0) f.key = r.key;
  flights[r.seq] = std::move(f);
  // In flight from now on, for stats() too: not only after the next poll, whose reports (and the
  // decider's questions about them) come before the count drops again in apply_acks().
  in_flight_gauge.store(in_flight());
  return true;
}

bool forwarder::impl::read_outbox(std::uint64_t after, std::size_t limit, std::vector<buffer::record>& rows) {
  const auto read = outbox.peek(after, limit, rows);
  outbox_reads.fetch_add(1, std::memory_order_relaxed);
  if (read) return true;
  log->error("cannot read the outbox: {}; retrying in 1 s", read.err().message);
  storage_failed(read.err());
  fill_paused_until = steady::now() + std::chrono::seconds(1);
  return false;
}

// Reads the outbox after the cursor and produces in seq order: the plain path (`cursor`), and
// the live lane while draining (`gate`: the planner's live cursor; a row may be held for its
// animal). Stops when the window is full, the outbox has nothing newer, or a row cannot be
// produced now.
void forwarder::impl::fill_in_order(bool gate) {
  const auto lane_at = [&] { return std::pair{gate, gate ? planner.live_cursor() : cursor}; };
  {
    std::lock_guard lock(mu);
    if (!dirty && read_to_end_at == lane_at()) return;
  }
  for (std::size_t room = window_room(); !rebuild && room > 0 && (!gate || planner.hold_room() > 0);
       room = window_room()) {
    std::size_t limit = std::min(opts.batch, room);
    if (gate) limit = std::min(limit, planner.hold_room());
    auto& rows = live_rows;
    if (!read_outbox(gate ? planner.live_cursor() : cursor, limit, rows)) return;
    for (auto& r : rows) {
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
    if (rows.size() < limit) {
      std::lock_guard lock(mu);
      // Rows appended after our peek set dirty again via notify(); only then look again.
      if (!dirty) {
        read_to_end_at = lane_at();
        return;
      }
      dirty = false;
      read_to_end_at.reset();
    }
  }
}

void forwarder::impl::forward_dead_letters() {
  const auto now = steady::now();
  if (halted || now < next_dead_letter_scan || !dl_in_flight.empty()) return;
  next_dead_letter_scan = now + std::chrono::seconds(1);
  auto dls = outbox.dead_letters(true, 100);
  if (!dls) return;
  for (const auto& d : *dls) {
    if (acks.has_dead_letter(d.id)) continue;  // acknowledged; only its mark is pending
    const std::vector<std::pair<std::string, std::string>> hdrs = {
        {"dlq_reason", d.reason}, {"dlq_source", d.source}, {"dlq_received_at", core::iso8601_utc_ms(d.received_ms)}};
    const record_tag tag{true, static_cast<std::uint64_t>(d.id)};
    if (!producer->produce(opts.dlq_topic, d.source, d.payload, hdrs, tag).ok()) return;
    dl_in_flight.insert(d.id);
  }
}

void forwarder::impl::run() {
  for (;;) {
    beat();
    {
      std::lock_guard lock(mu);
      if (stopping) break;
    }
    if (halted) {  // serve what is in flight and delete what is acknowledged; produce nothing
      if (producer) producer->poll(std::chrono::milliseconds(in_flight() > 0 ? 10 : 0));
      apply_acks();
      std::unique_lock lock(mu);
      if (in_flight() == 0 || !producer) cv.wait_until(lock, steady::now() + k_max_wait, [&] { return stopping; });
      continue;
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
    update_partitions();
    probe_cluster();
    const std::uint64_t produced_before = produced;
    if (steady::now() >= fill_paused_until) fill_window();
    const bool stalled_drain = planner.draining() && produced == produced_before;
    forward_dead_letters();
    // Block in poll while deliveries are pending; dead letters to a missing topic may stay
    // pending for long, so they get a long poll rather than a spin.
    producer->poll(std::chrono::milliseconds(in_flight() > 0 ? 5 : !dl_in_flight.empty() ? 50 : 0));
    apply_acks();
    // Nothing in flight outside a drain: every event up to the cursor is acknowledged (or
    // dead-lettered). During a drain the live lane runs ahead of the backlog: not claimed then.
    if (in_flight() == 0 && !planner.draining() && !rebuild && cursor > acked_through_gauge.load()) {
      acked_through_gauge.store(cursor);
    }
    if (in_flight() == 0 && dl_in_flight.empty() && !rebuild) {
      std::unique_lock lock(mu);
      const auto now = steady::now();
      const bool paused = now < fill_paused_until;
      if (!dirty || paused || stalled_drain) {
        // A rate-limited drain has more to do soon; otherwise wait for new rows.
        const auto idle = planner.draining() ? std::chrono::milliseconds(10) : std::chrono::milliseconds(200);
        auto until = paused ? std::min(fill_paused_until, now + k_max_wait) : now + idle;
        if (!acks.empty()) until = std::min(until, std::max(acks.due_at(), now));
        // A stalled drain (rate limit, held events at their cap) waits its 10 ms even if rows
        // were appended: they could not be produced now anyway.
        cv.wait_until(lock, until, [&] {
          return stopping || (!stalled_drain && dirty && steady::now() >= fill_paused_until);
        });
      }
    }
  }
  // Stopping: nothing new is produced; wait for what is in flight, up to the drain deadline.
  const auto deadline = steady::now() + drain;
  while (producer && (in_flight() > 0 || !dl_in_flight.empty()) && steady::now() < deadline && !rebuild) {
    producer->poll(std::chrono::milliseconds(10));
    apply_acks();
  }
  if (in_flight() > 0) log->info("{} events still in flight at stop stay in the outbox", in_flight());
  destroy_producer();
  // Deletes still failing at stop: retry until the drain deadline; what remains is produced
  // again after the restart (with its event_id: a duplicate the consumers drop).
  while (!acks.empty() && steady::now() < deadline) {
    apply_acks(true);
    if (acks.empty()) break;
    std::this_thread::sleep_for(std::min(acks.backoff(), std::chrono::milliseconds(200)));
  }
  if (acks.events_waiting() > 0) {
    log->error("{} events Kafka acknowledged could not be deleted before the stop: they are "
               "produced again after the restart, with their event_id", acks.events_waiting());
  }
}

forwarder::forwarder(forwarder_options options, buffer::outbox& outbox, storage_reporter reporter,
                     kafka_decider decide)
    : impl_(std::make_unique<impl>(std::move(options), outbox, std::move(reporter), std::move(decide))) {}

forwarder::~forwarder() { stop(std::chrono::milliseconds(0)); }

core::status forwarder::start() {
  auto& p = *impl_;
  if (p.thread.joinable()) return core::error::fatal("forwarder already started");
  if (!p.decider) return core::error::fatal("forwarder: no Kafka decider (the composition root decides)");
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
  s.delivered = p.acks.deleted();
  s.acknowledged = p.acks.added();
  s.dead_letters_forwarded = p.acks.dead_letters_marked();
  s.producer_rebuilds = p.rebuilds.load();
  s.in_flight = p.in_flight_gauge.load();
  s.draining = p.draining_gauge.load();
  s.partitions_stalled = p.stalled_gauge.load();
  s.in_flight_beyond_share = p.beyond_share_gauge.load();
  s.deferred = p.held_gauge.load();
  s.drains = p.drains.load();
  s.heartbeat_steady_ms = p.heartbeat.load();
  s.acked_pending_delete = p.pending_gauge.load();
  s.acked_through = p.acked_through_gauge.load();
  s.outbox_reads = p.outbox_reads.load();
  p.errors.fill(s, std::chrono::steady_clock::now());
  for (std::size_t b = 0; b < s.ack_latency_le.size(); ++b) s.ack_latency_le[b] = p.ack_le[b].load();
  s.ack_latency_count = p.ack_count.load();
  s.ack_latency_sum_ms = p.ack_sum_ms.load();
  return s;
}

}  // namespace herd::forwarder
