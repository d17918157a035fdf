#include "herd/alerts/relay.hpp"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <librdkafka/rdkafka.h>

#include <condition_variable>
#include <deque>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "herd/core/clock.hpp"
#include "herd/core/logging.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/kafka/record.hpp"
#include "kafka_util.hpp"
#include "tail_scan.hpp"

namespace herd::alerts {

namespace {

using steady = std::chrono::steady_clock;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now().time_since_epoch()).count();
}

std::string header(const read_model::outbox_message& m, std::string_view name) {
  for (const auto& [k, v] : m.headers) {
    if (k == name) return v;
  }
  return {};
}

// Delivery reports land here (rd_kafka_poll on the relay thread).
struct reports {
  std::vector<std::pair<std::int64_t, rd_kafka_resp_err_t>> done;
};

void relay_delivered(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* r = static_cast<reports*>(opaque);
  r->done.emplace_back(static_cast<std::int64_t>(reinterpret_cast<std::intptr_t>(m->_private)), m->err);
}

}  // namespace

struct relay::impl {
  relay_options o;
  store_factory open_store;
  relay_stats& stats;
  std::shared_ptr<spdlog::logger> log = core::module_logger("alerts-relay");
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;

  // Relay thread only.
  std::unique_ptr<read_model::store> store;
  rd_kafka_t* rk = nullptr;
  reports rep;
  std::unordered_set<std::string> delivered_before;  // ce_ids read back at session start
  enum class row_state { in_flight, delivered };
  std::unordered_map<std::int64_t, row_state> rows;  // produced (or found delivered), not yet deleted
  std::deque<std::int64_t> order;                    // produce order of `rows`
  std::int64_t next_count_ms = 0;
  std::chrono::milliseconds backoff{0};

  impl(relay_options opts, store_factory f, relay_stats& s) : o(std::move(opts)), open_store(std::move(f)), stats(s) {}

  void set_error(const std::string& e) {
    std::lock_guard lock(stats.mu);
    stats.last_error = e;
  }

  // Waits `d` or until stop(). Returns false when stopping.
  bool wait(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return !cv.wait_for(lock, d, [&] { return stopping; });
  }
  bool is_stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }

  void fail(const std::string& what) {
    set_error(what);
    log->warn("{}", what);
    backoff = backoff.count() == 0 ? o.backoff_min : std::min(backoff * 2, o.backoff_max);
  }

  // Ends the producer session: what is in flight is abandoned (rows stay; the next session's
  // read-back finds what Kafka has).
  void end_session() {
    if (rk != nullptr) {
      rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(rk, 0);
      rd_kafka_destroy(rk);
      rk = nullptr;
    }
    rep.done.clear();
    rows.clear();
    order.clear();
    delivered_before.clear();
    stats.in_flight = 0;
  }

  core::status start_session() {
    auto ids = detail::scan_ce_ids(o.bootstrap, o.properties, o.topic, o.dedup_scan, o.scan_timeout);
    if (!ids) return ids.err();
    auto conf = detail::producer_conf({{"bootstrap.servers", o.bootstrap},
                                       {"enable.idempotence", "true"},
                                       {"acks", "all"},
                                       {"partitioner", "murmur2_random"},  // the gateway's, Java-compatible
                                       {"message.timeout.ms", "0"},        // never expire: rows wait in the outbox
                                       {"enable.gapless.guarantee", "true"},
                                       {"log_level", "4"}},
                                      o.properties);
    if (!conf) return conf.err();
    rd_kafka_conf_set_dr_msg_cb(*conf, relay_delivered);
    rd_kafka_conf_set_opaque(*conf, &rep);
    char err[512];
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, err, sizeof err);
    if (rk == nullptr) {
      rd_kafka_conf_destroy(*conf);
      return core::error::fatal(std::string("alerts relay: producer: ") + err);
    }
    delivered_before = std::move(*ids);
    ++stats.sessions;
    log->info("relay session {}: {} ce_ids read back from {}", stats.sessions.load(), delivered_before.size(), o.topic);
    return core::ok_v;
  }

  // Deletes the delivered prefix of `order`. Errors: the store's.
  core::status delete_delivered() {
    std::vector<std::int64_t> seqs;
    for (const std::int64_t s : order) {
      if (rows.at(s) != row_state::delivered) break;
      seqs.push_back(s);
    }
    if (seqs.empty()) return core::ok_v;
    if (auto st = store->delete_outbox_seqs(seqs); !st) return st;
    for (const std::int64_t s : seqs) {
      rows.erase(s);
      order.pop_front();
    }
    stats.progress_steady_ms = steady_ms();
    return core::ok_v;
  }

  // One round: lease, read, produce, reports, delete. Returns false when idle (nothing to do).
  core::result<bool> round() {
    auto lease = store->relay_lease();
    if (!lease) return lease.err();
    if (!*lease) {
      if (stats.leader) log->warn("relay lease lost: another instance relays now");
      stats.leader = false;
      stats.progress_steady_ms = steady_ms();  // a standby has nothing to relay
      end_session();
      return false;
    }
    if (!stats.leader) log->info("relay lease taken: this instance relays {}", o.topic);
    stats.leader = true;
    if (rk == nullptr) {
      if (auto st = start_session(); !st) return st.err();
    }
    auto batch = store->read_outbox(0, o.max_in_flight);
    if (!batch) return batch.err();
    if (batch->empty()) {
      stats.outbox_depth = 0;
      stats.oldest_age_ms = 0;
      stats.progress_steady_ms = steady_ms();
    } else {
      events::v1::EventEnvelope env;
      if (env.ParseFromString(batch->front().value) && env.has_ingested_at()) {
        stats.oldest_age_ms = std::max<std::int64_t>(
            0, core::system_clock{}.now_ms() - google::protobuf::util::TimeUtil::TimestampToMilliseconds(env.ingested_at()));
      }
      if (batch->size() < o.max_in_flight) {
        stats.outbox_depth = static_cast<std::int64_t>(batch->size());
      } else if (steady_ms() >= next_count_ms) {
        auto s = store->stats();
        if (s) stats.outbox_depth = static_cast<std::int64_t>(s->outbox);
        next_count_ms = steady_ms() + 1000;
      }
    }
    bool worked = false;
    std::uint64_t found_delivered = 0;
    for (const auto& m : *batch) {
      if (rows.count(m.seq) != 0) continue;
      if (rows.size() >= o.max_in_flight) break;
      const std::string ce_id = header(m, "ce_id");
      if (!ce_id.empty() && delivered_before.count(ce_id) != 0) {
        rows.emplace(m.seq, row_state::delivered);  // a previous session's: Kafka has it
        order.push_back(m.seq);
        ++stats.already_delivered;
        ++found_delivered;
        worked = true;
        continue;
      }
      auto headers = m.headers;
      headers.emplace_back("herd_outbox_seq", std::to_string(m.seq));
      const auto err = kafka::produce(rk, m.topic, m.key, m.value, headers,
                                      reinterpret_cast<void*>(static_cast<std::intptr_t>(m.seq))).code;
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;  // poll below makes room
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++stats.produce_errors;
        return core::error::retriable(std::string("alerts relay: produce: ") + rd_kafka_err2str(err));
      }
      rows.emplace(m.seq, row_state::in_flight);
      order.push_back(m.seq);
      worked = true;
    }
    if (found_delivered > 0) {
      log->info("{} outbox rows were already in {} (acknowledged before a crash): deleted, not sent again",
                found_delivered, o.topic);
    }
    stats.in_flight = rows.size();
    rd_kafka_poll(rk, rows.empty() ? 0 : 50);
    for (const auto& [seq, err] : rep.done) {
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++stats.produce_errors;
        rep.done.clear();
        return core::error::retriable(std::string("alerts relay: delivery of outbox row ") + std::to_string(seq) +
                                      ": " + rd_kafka_err2str(err));
      }
      if (auto it = rows.find(seq); it != rows.end()) {
        it->second = row_state::delivered;
        ++stats.relayed;
        worked = true;
      }
    }
    rep.done.clear();
    if (char fatal[256]; rd_kafka_fatal_error(rk, fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return core::error::retriable(std::string("alerts relay: producer fatal error: ") + fatal);
    }
    if (auto st = delete_delivered(); !st) return st.err();
    stats.in_flight = rows.size();
    return worked || !rows.empty();
  }

  void run() {
    while (!is_stopping()) {
      stats.heartbeat_steady_ms = steady_ms();
      if (!store) {
        auto s = open_store();
        if (!s) {
          ++stats.store_errors;
          fail("alerts relay: read model: " + s.err().message);
          if (!wait(backoff)) break;
          continue;
        }
        store = std::move(*s);
      }
      auto r = round();
      if (!r) {
        const bool store_side = r.err().message.rfind("alerts relay", 0) != 0 &&
                                r.err().message.rfind("relay scan", 0) != 0;
        if (store_side) {
          ++stats.store_errors;
          store.reset();  // a new connection (and, on PostgreSQL, the lease asked again)
        }
        end_session();
        fail(r.err().message);
        if (!wait(backoff)) break;
        continue;
      }
      backoff = std::chrono::milliseconds{0};
      if (!*r && !wait(stats.leader ? o.idle_poll : std::chrono::milliseconds{1000})) break;
    }
    // Stopping: give what is in flight up to 5 s, delete what Kafka acknowledged.
    if (rk != nullptr && store && !rows.empty()) {
      rd_kafka_flush(rk, 5000);
      rd_kafka_poll(rk, 0);
      for (const auto& [seq, err] : rep.done) {
        if (auto it = rows.find(seq); it != rows.end() && err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          it->second = row_state::delivered;
          ++stats.relayed;
        }
      }
      rep.done.clear();
      (void)delete_delivered();
    }
    end_session();
    store.reset();
  }
};

relay::relay(relay_options options, store_factory open_store)
    : impl_(std::make_unique<impl>(std::move(options), std::move(open_store), stats_)) {}

relay::~relay() { stop(); }

core::status relay::start() {
  if (impl_->o.bootstrap.empty()) return core::error::fatal("alerts relay: kafka bootstrap is empty");
  if (impl_->o.max_in_flight == 0) return core::error::fatal("alerts relay: max_in_flight must be > 0");
  // Check the properties once here so a typo is a start-up error, not a retry loop.
  auto conf = detail::producer_conf({{"enable.idempotence", "true"},
                                     {"acks", "all"},
                                     {"partitioner", "murmur2_random"},
                                     {"message.timeout.ms", "0"},
                                     {"enable.gapless.guarantee", "true"}},
                                    impl_->o.properties);
  if (!conf) return conf.err();
  rd_kafka_conf_destroy(*conf);
  stats_.heartbeat_steady_ms = steady_ms();
  stats_.progress_steady_ms = steady_ms();
  impl_->thread = std::thread([this] { impl_->run(); });
  return core::ok_v;
}

void relay::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string render_relay_prometheus(const relay_stats& s) {
  std::string out;
  auto metric = [&](const char* type, const char* name, const char* help, auto v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
  };
  metric("counter", "herd_alerts_relay_relayed_total", "herd.alerts messages produced, acknowledged and deleted from the outbox",
         s.relayed.load());
  metric("counter", "herd_alerts_relay_already_delivered_total",
         "outbox rows found in herd.alerts at session start (acknowledged before a crash): deleted, not resent",
         s.already_delivered.load());
  metric("counter", "herd_alerts_relay_produce_errors_total", "failed herd.alerts deliveries (the session restarts)",
         s.produce_errors.load());
  metric("counter", "herd_alerts_relay_store_errors_total", "read-model errors of the relay (retried with backoff)",
         s.store_errors.load());
  metric("counter", "herd_alerts_relay_sessions_total", "producer sessions started (each reads back the topic's tail)",
         s.sessions.load());
  if (s.outbox_depth.load() >= 0) {
    metric("gauge", "herd_alerts_relay_outbox_depth", "alert messages in the outbox not yet relayed", s.outbox_depth.load());
  }
  metric("gauge", "herd_alerts_relay_oldest_age_seconds", "age of the oldest outbox message (since the projector wrote it), 0 when empty",
         static_cast<double>(s.oldest_age_ms.load()) / 1000.0);
  metric("gauge", "herd_alerts_relay_in_flight", "outbox rows produced and not yet deleted", s.in_flight.load());
  metric("gauge", "herd_alerts_relay_leader", "1 when this instance holds the relay lease (relays the outbox)",
         s.leader.load() ? 1 : 0);
  return out;
}

std::string relay_problem(const relay_stats& s, std::int64_t now_steady_ms, std::chrono::seconds max_stuck) {
  const std::int64_t limit = max_stuck.count() * 1000;
  const std::int64_t beat = now_steady_ms - s.heartbeat_steady_ms.load();
  if (beat > limit) return fmt::format("alerts relay: the relay loop has not gone round for {:.1f} s", beat / 1000.0);
  // Progress = a row left the outbox, the outbox was empty, or another instance holds the lease.
  const std::int64_t idle = now_steady_ms - s.progress_steady_ms.load();
  if (idle <= limit) return {};
  std::lock_guard lock(s.mu);
  return fmt::format("alerts relay: stuck for {:.0f} s (oldest waiting herd.alerts message {:.0f} s old){}", idle / 1000.0,
                     s.oldest_age_ms.load() / 1000.0, s.last_error.empty() ? "" : "; last error: " + s.last_error);
}

}  // namespace herd::alerts
