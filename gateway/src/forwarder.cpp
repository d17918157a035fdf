#include "herd/gateway/forwarder.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "herd/core/clock.hpp"
#include "herd/core/logging.hpp"
#include "herd/core/time_format.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/gateway/event_factory.hpp"

namespace herd::gateway {

namespace {

// What herdgate fixes so that "ordered, acknowledged, never lost" holds (README, Kafka section).
const std::map<std::string, std::string>& fixed_properties() {
  static const std::map<std::string, std::string> p = {
      {"enable.idempotence", "true"},       // no duplicates or reordering from internal retries
      {"acks", "all"},                      // acknowledged = replicated to all in-sync replicas
      {"partitioner", "murmur2_random"},    // the Java client's partitioner: same animal, same partition
      {"message.timeout.ms", "0"},          // never expire: offline waits, the outbox holds the rest
      {"enable.gapless.guarantee", "true"}, // a possible gap is a fatal error: we rebuild and resend
  };
  return p;
}

// Delivery-report opaques: outbox seq or dead-letter id, told apart by the low bit.
void* opaque_for_event(std::uint64_t seq) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(seq << 1)); }
void* opaque_for_dead_letter(std::int64_t id) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(id) << 1 | 1U);
}

// Errors that no resend can cure: the record itself is unacceptable to the cluster.
bool is_record_rejected(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return true;
    default:
      return false;
  }
}

// rd_kafka_produceva without the RD_KAFKA_V_* macros (they expand to C casts). Takes ownership
// of `hdrs` only on success.
rd_kafka_resp_err_t produce(rd_kafka_t* rk, const std::string& topic, std::string_view key,
                            std::string_view value, rd_kafka_headers_t* hdrs, void* opaque) {
  rd_kafka_vu_t vu[6] = {};
  vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vu[0].u.cstr = topic.c_str();
  vu[1].vtype = RD_KAFKA_VTYPE_KEY;
  vu[1].u.mem = {const_cast<char*>(key.data()), key.size()};
  vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
  vu[2].u.mem = {const_cast<char*>(value.data()), value.size()};
  vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vu[3].u.i = RD_KAFKA_MSG_F_COPY;
  vu[4].vtype = RD_KAFKA_VTYPE_HEADERS;
  vu[4].u.headers = hdrs;
  vu[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vu[5].u.ptr = opaque;
  rd_kafka_error_t* error = rd_kafka_produceva(rk, vu, 6);
  if (error == nullptr) return RD_KAFKA_RESP_ERR_NO_ERROR;
  const rd_kafka_resp_err_t err = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  return err;
}

void add_header(rd_kafka_headers_t* hdrs, std::string_view name, std::string_view value) {
  rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                      static_cast<ssize_t>(value.size()));
}

}  // namespace

bool is_reserved_kafka_property(const std::string& name) {
  // delivery.report.only.error would hide the acks we delete on; transactional.id would turn the
  // producer into a transactional one that needs begin/commit calls we do not make.
  return fixed_properties().count(name) > 0 || name == "bootstrap.servers" ||
         name == "metadata.broker.list" || name == "delivery.timeout.ms" ||
         name == "delivery.report.only.error" || name == "transactional.id";
}

std::optional<std::string> kafka_property_problem(const std::string& name, const std::string& value) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const auto rc = rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err);
  rd_kafka_conf_destroy(conf);
  if (rc == RD_KAFKA_CONF_OK) return std::nullopt;
  return std::string(err);
}

struct forwarder::impl {
  forwarder_options opts;
  buffer::outbox& outbox;
  std::shared_ptr<spdlog::logger> log = core::module_logger("forwarder");
  core::system_clock wall;  // stamps dead letters of records Kafka refused

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool dirty = true;  // the outbox may have rows we have not produced yet
  std::chrono::milliseconds drain{0};
  std::thread thread;

  // Owned by the forwarder thread.
  rd_kafka_t* rk = nullptr;
  std::uint64_t cursor = 0;  // highest outbox seq handed to the producer
  std::size_t in_flight = 0;
  std::set<std::int64_t> dl_in_flight;
  std::vector<std::uint64_t> acked;
  std::vector<std::int64_t> dl_acked;
  bool rebuild = false;
  bool kafka_down_logged = false;
  using steady = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds k_rebuild_backoff_min{100};
  static constexpr std::chrono::milliseconds k_rebuild_backoff_max{30000};
  std::chrono::milliseconds rebuild_backoff = k_rebuild_backoff_min;
  steady::time_point next_rebuild_at{};  // a failing producer is rebuilt no sooner than this
  steady::time_point fill_paused_until{};  // after an outbox error, read again no sooner than this
  steady::time_point next_dead_letter_scan{};

  std::atomic<std::uint64_t> delivered{0}, dl_forwarded{0}, rebuilds{0}, in_flight_gauge{0};
  std::atomic<std::int64_t> heartbeat{0};
  static constexpr std::chrono::milliseconds k_max_wait{1000};  // the loop wakes at least this often

  void beat() {
    heartbeat.store(std::chrono::duration_cast<std::chrono::milliseconds>(steady::now().time_since_epoch()).count());
  }

  impl(forwarder_options o, buffer::outbox& ob) : opts(std::move(o)), outbox(ob) {}

  // --- librdkafka callbacks (run inside rd_kafka_poll, on the forwarder thread) ---
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* self) {
    static_cast<impl*>(self)->delivered_cb(m);
  }
  // librdkafka's own log lines, into ours (called from librdkafka threads; spdlog is thread-safe).
  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    auto* self = static_cast<impl*>(rd_kafka_opaque(rk));
    // We set enable.gapless.guarantee on purpose (see fixed_properties): not worth a warning.
    if (std::strstr(buf, "enable.gapless.guarantee is experimental") != nullptr) level = 7;
    const auto lvl = level <= 3 ? spdlog::level::err : level == 4 ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info : spdlog::level::debug;
    self->log->log(lvl, "librdkafka {}: {}", fac, buf);
  }
  static void on_error(rd_kafka_t*, int err, const char* reason, void* self) {
    static_cast<impl*>(self)->error_cb(static_cast<rd_kafka_resp_err_t>(err), reason);
  }

  void delivered_cb(const rd_kafka_message_t* m) {
    const auto tag = reinterpret_cast<std::uintptr_t>(m->_private);
    const bool is_dead_letter = (tag & 1U) != 0;
    if (is_dead_letter) {
      const auto id = static_cast<std::int64_t>(tag >> 1);
      dl_in_flight.erase(id);
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) dl_acked.push_back(id);
      else if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        log->warn("dead letter {} not accepted by Kafka: {}; will retry", id, rd_kafka_err2str(m->err));
      return;
    }
    const std::uint64_t seq = tag >> 1;
    if (in_flight > 0) --in_flight;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      acked.push_back(seq);
      rebuild_backoff = k_rebuild_backoff_min;
      if (kafka_down_logged) {
        log->info("Kafka reachable again; forwarding resumes");
        kafka_down_logged = false;
      }
      return;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) return;
    // Never delete without an ack: a broker error (even MSG_SIZE_TOO_LARGE, which applies to a
    // whole request) leaves the event in the outbox; rebuild and resend from the oldest, with
    // backoff while the error persists. One line per rebuild, not one per message.
    if (!rebuild) {
      log->warn("delivery of seq {} failed: {}; rebuilding the producer and resending in order", seq,
                rd_kafka_err2str(m->err));
    }
    rebuild = true;
  }

  void error_cb(rd_kafka_resp_err_t err, const char* reason) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512];
      rd_kafka_fatal_error(rk, buf, sizeof buf);
      if (!rebuild) log->error("fatal producer error: {}; rebuilding the producer", buf);
      rebuild = true;
    } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
      if (!kafka_down_logged) log->warn("Kafka unreachable ({}); events wait in the outbox", reason);
      kafka_down_logged = true;
    } else {
      log->debug("kafka: {}: {}", rd_kafka_err2name(err), reason);
    }
  }

  core::status create_producer() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const std::string& k, const std::string& v) -> core::status {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        return core::error::fatal("kafka property " + k + ": " + err);
      }
      return core::ok_v;
    };
    core::status st = set("bootstrap.servers", opts.bootstrap);
    if (st) st = set("linger.ms", "5");  // a default the config may override
    // One produce request in flight per broker: order and completeness then never rest on the
    // broker's idempotence sequence checks (librdkafka's mock skips them for non-transactional
    // producers, and a few records vanished there under leader moves and request errors with
    // 5 in flight). A request carries up to batch.size per partition, so a farm loses nothing
    // in throughput. The config may raise it.
    if (st) st = set("max.in.flight.requests.per.connection", "1");
    for (const auto& [k, v] : opts.properties) if (st) st = set(k, v);
    for (const auto& [k, v] : fixed_properties()) if (st) st = set(k, v);
    if (!st) {
      rd_kafka_conf_destroy(conf);
      return st;
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &impl::on_delivery);
    rd_kafka_conf_set_error_cb(conf, &impl::on_error);
    rd_kafka_conf_set_log_cb(conf, &impl::on_log);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == nullptr) return core::error::fatal(std::string("kafka producer: ") + err);
    return core::ok_v;
  }

  void destroy_producer() {
    if (rk == nullptr) return;
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);  // serve the reports that are ready: successes still count
    apply_acks();
    rd_kafka_destroy(rk);
    rk = nullptr;
  }

  // Drops the producer and everything it held; the outbox still has every unacknowledged event,
  // so restarting from the oldest resends them in their original order and with their ids.
  void rebuild_producer() {
    destroy_producer();
    rebuilds.fetch_add(1);
    cursor = 0;
    in_flight = 0;
    dl_in_flight.clear();
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

  void apply_acks() {
    if (!acked.empty()) {
      if (auto st = outbox.ack(acked); !st) {
        // Not deleted: they will be resent after a restart, with their ids. Keep serving.
        log->error("cannot delete {} acknowledged events: {}", acked.size(), st.err().message);
      } else {
        delivered.fetch_add(acked.size());
      }
      acked.clear();
    }
    if (!dl_acked.empty()) {
      if (outbox.mark_dead_letters_forwarded(dl_acked)) dl_forwarded.fetch_add(dl_acked.size());
      dl_acked.clear();
    }
    in_flight_gauge.store(in_flight);
  }

  // An event that can never be produced: keep its bytes as a dead letter, then drop it from the
  // outbox. If the dead letter cannot be written, the row stays and the cursor does not move.
  bool move_to_dead_letters(const buffer::record& r, const std::string& reason) {
    if (auto dl = outbox.add_dead_letter("outbox", reason, r.value, r.created_ms); !dl) {
      log->error("cannot dead-letter seq {}: {}; retrying", r.seq, dl.err().message);
      fill_paused_until = steady::now() + std::chrono::seconds(1);
      return false;
    }
    acked.push_back(r.seq);
    return true;
  }

  // Produces one outbox row; false when it cannot now (queue full, storage error): retry later.
  bool produce_event(const buffer::record& r) {
    events::v1::EventEnvelope env;
    if (!env.ParseFromString(r.value)) {
      log->error("outbox seq {} is not a valid EventEnvelope; moving it to the dead-letter table", r.seq);
      return move_to_dead_letters(r, "outbox row is not a valid EventEnvelope");
    }
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(8);
    for (const auto& [k, v] : cloudevents_headers(env)) add_header(hdrs, k, v);
    const rd_kafka_resp_err_t err =
        produce(rk, opts.topic, r.key, r.value, hdrs, opaque_for_event(r.seq));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(hdrs);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return false;
      if (is_record_rejected(err)) {  // refused by the client itself, for this record alone
        return move_to_dead_letters(r, std::string("refused by the Kafka client: ") + rd_kafka_err2str(err));
      }
      log->warn("produce seq {}: {}; rebuilding the producer", r.seq, rd_kafka_err2str(err));
      rebuild = true;
      return false;
    }
    ++in_flight;
    return true;
  }

  void fill_window() {
    while (!rebuild && in_flight < opts.max_in_flight) {
      const std::size_t limit = std::min(opts.batch, opts.max_in_flight - in_flight);
      auto rows = outbox.peek(cursor, limit);
      if (!rows) {
        log->error("cannot read the outbox: {}; retrying in 1 s", rows.err().message);
        fill_paused_until = steady::now() + std::chrono::seconds(1);
        return;
      }
      for (const auto& r : *rows) {
        if (!produce_event(r)) return;
        cursor = r.seq;
      }
      if (rows->size() < limit) {
        std::lock_guard lock(mu);
        // Rows appended after our peek set dirty again via notify(); only then look again.
        if (!dirty) return;
        dirty = false;
      }
    }
  }

  void forward_dead_letters() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_dead_letter_scan || !dl_in_flight.empty()) return;
    next_dead_letter_scan = now + std::chrono::seconds(1);
    auto dls = outbox.dead_letters(true, 100);
    if (!dls) return;
    for (const auto& d : *dls) {
      rd_kafka_headers_t* hdrs = rd_kafka_headers_new(4);
      const std::string received = core::iso8601_utc_ms(d.received_ms);
      add_header(hdrs, "dlq_reason", d.reason);
      add_header(hdrs, "dlq_source", d.source);
      add_header(hdrs, "dlq_received_at", received);
      const rd_kafka_resp_err_t err =
          produce(rk, opts.dlq_topic, d.source, d.payload, hdrs, opaque_for_dead_letter(d.id));
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs);
        return;
      }
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
      if (rebuild || rk == nullptr) {
        if (steady::now() < next_rebuild_at) {
          std::unique_lock lock(mu);
          cv.wait_until(lock, std::min(next_rebuild_at, steady::now() + k_max_wait), [&] { return stopping; });
          continue;
        }
        rebuild_producer();
        if (rk == nullptr) continue;
      }
      if (steady::now() >= fill_paused_until) fill_window();
      forward_dead_letters();
      // Block in poll while deliveries are pending; dead letters to a missing topic may stay
      // pending for long, so they get a long poll rather than a spin.
      rd_kafka_poll(rk, in_flight > 0 ? 5 : !dl_in_flight.empty() ? 50 : 0);
      apply_acks();
      if (in_flight == 0 && dl_in_flight.empty() && !rebuild) {
        std::unique_lock lock(mu);
        const auto now = steady::now();
        const bool paused = now < fill_paused_until;
        if (!dirty || paused) {
          const auto until = paused ? std::min(fill_paused_until, now + k_max_wait) : now + std::chrono::milliseconds(200);
          cv.wait_until(lock, until, [&] { return stopping || (dirty && steady::now() >= fill_paused_until); });
        }
      }
    }
    // Stopping: nothing new is produced; wait for what is in flight, up to the drain deadline.
    const auto deadline = std::chrono::steady_clock::now() + drain;
    while (rk != nullptr && (in_flight > 0 || !dl_in_flight.empty()) &&
           std::chrono::steady_clock::now() < deadline && !rebuild) {
      rd_kafka_poll(rk, 10);
      apply_acks();
    }
    if (in_flight > 0) log->info("{} events still in flight at stop stay in the outbox", in_flight);
    destroy_producer();
  }
};

forwarder::forwarder(forwarder_options options, buffer::outbox& outbox)
    : impl_(std::make_unique<impl>(std::move(options), outbox)) {}

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
  return {impl_->delivered.load(), impl_->dl_forwarded.load(), impl_->rebuilds.load(),
          impl_->in_flight_gauge.load(), impl_->heartbeat.load()};
}

}  // namespace herd::gateway
