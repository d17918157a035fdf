#include "herd/projector/consumer_loop.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <set>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "herd/core/logging.hpp"

namespace herd::projector {
namespace {

using steady = std::chrono::steady_clock;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now().time_since_epoch()).count();
}

const std::set<std::string>& reserved() {
  static const std::set<std::string> r = {"bootstrap.servers", "group.id", "enable.auto.commit",
                                          "enable.auto.offset.store", "auto.offset.reset",
                                          "enable.idempotence", "acks", "rebalance_cb",
                                          "statistics.interval.ms"};
  return r;
}

// Dead-letter delivery reports (on the thread that calls rd_kafka_flush).
void dlq_delivered(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) ++*static_cast<std::uint64_t*>(opaque);
}

}  // namespace

bool is_reserved_consumer_property(const std::string& name) { return reserved().count(name) != 0; }

bool is_consumer_only_property(const std::string& name) {
  for (const char* prefix : {"fetch.", "session.", "max.poll", "partition.assignment", "heartbeat"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

struct consumer_loop::impl {
  consumer_options o;
  loop_stats& stats;
  read_model::store& store;
  applier app;
  steady::time_point next_prune = steady::now();
  rd_kafka_t* rk = nullptr;      // consumer
  rd_kafka_t* dlq = nullptr;     // producer
  std::uint64_t dlq_failures = 0;
  std::atomic<bool> stopping{false};
  bool cooperative = false;
  std::set<std::pair<std::string, std::int32_t>> assigned;
  std::vector<record> batch;
  steady::time_point batch_started;
  std::map<std::int32_t, std::int64_t> end_offsets;  // stop_at_end: per partition, the high mark at start
  core::system_clock wall;  // record::polled_ms
  std::int64_t subscribed_steady_ms = 0;
  bool group_ever_settled = false;
  std::shared_ptr<spdlog::logger> log = core::module_logger("projector");

  impl(consumer_options opts, loop_stats& s, read_model::store& st)
      : o(std::move(opts)), stats(s), store(st), app(st) {
    app.set_dead_lettering(o.dead_lettering);
    app.set_outbox(o.alert_outbox, o.alerts_topic);
  }

  ~impl() {
    if (rk != nullptr) rd_kafka_destroy(rk);
    if (dlq != nullptr) rd_kafka_destroy(dlq);
  }

  void set_error(const std::string& e) {
    std::lock_guard lock(stats.mu);
    stats.last_error = e;
  }

  core::status set(rd_kafka_conf_t* conf, const std::string& k, const std::string& v) {
    char err[512];
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return core::error::fatal("kafka property " + k + ": " + err);
    }
    return core::ok_v;
  }

  core::status start() {
    if (auto st = app.load_positions(); !st) return st;
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::vector<std::pair<std::string, std::string>> props = {
        {"bootstrap.servers", o.bootstrap},
        {"group.id", o.group_id},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"log_level", "4"}};
    // The group's state for /health (group_statistics), every second.
    if (o.use_group) props.emplace_back("statistics.interval.ms", "1000");
    for (const auto& [k, v] : o.properties) props.emplace_back(k, v);
    for (const auto& [k, v] : props) {
      if (auto st = set(conf, k, v); !st) {
        rd_kafka_conf_destroy(conf);
        return st;
      }
    }
    if (o.use_group) {
      rd_kafka_conf_set_rebalance_cb(conf, [](rd_kafka_t* h, rd_kafka_resp_err_t err,
                                              rd_kafka_topic_partition_list_t* parts, void* opaque) {
        static_cast<impl*>(opaque)->rebalance(h, err, parts);
      });
      rd_kafka_conf_set_stats_cb(conf, [](rd_kafka_t*, char* json, size_t len, void* opaque) {
        static_cast<impl*>(opaque)->group_statistics(std::string_view(json, len));
        return 0;  // librdkafka frees the JSON
      });
    }
    rd_kafka_conf_set_opaque(conf, this);
    char err[512];
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk == nullptr) {
      rd_kafka_conf_destroy(conf);
      return core::error::fatal(std::string("kafka consumer: ") + err);
    }
    rd_kafka_poll_set_consumer(rk);

    if (o.dead_lettering) {
      rd_kafka_conf_t* pc = rd_kafka_conf_new();
      std::vector<std::pair<std::string, std::string>> pprops = {
          {"bootstrap.servers", o.bootstrap}, {"enable.idempotence", "true"}, {"acks", "all"},
          {"log_level", "4"}};
      for (const auto& [k, v] : o.properties) {
        if (!is_consumer_only_property(k)) pprops.emplace_back(k, v);
      }
      for (const auto& [k, v] : pprops) {
        if (auto st = set(pc, k, v); !st) {
          rd_kafka_conf_destroy(pc);
          return st;
        }
      }
      rd_kafka_conf_set_dr_msg_cb(pc, dlq_delivered);
      rd_kafka_conf_set_opaque(pc, &dlq_failures);
      dlq = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
      if (dlq == nullptr) {
        rd_kafka_conf_destroy(pc);
        return core::error::fatal(std::string("kafka DLQ producer: ") + err);
      }
    }

    if (o.use_group) {
      rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(topics, o.topic.c_str(), RD_KAFKA_PARTITION_UA);
      subscribed_steady_ms = steady_ms();
      const auto e = rd_kafka_subscribe(rk, topics);
      rd_kafka_topic_partition_list_destroy(topics);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return core::error::fatal(std::string("subscribe: ") + rd_kafka_err2str(e));
      return core::ok_v;
    }
    return assign_all();
  }

  // No group: every partition, from the stored offsets (a rebuild).
  core::status assign_all() {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
    const auto e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md != nullptr) rd_kafka_metadata_destroy(md);
      return core::error::retriable("kafka: no metadata for topic " + o.topic);
    }
    const int n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(n);
    for (int p = 0; p < n; ++p) {
      const std::int64_t pos = app.position(o.topic, p);
      rd_kafka_topic_partition_list_add(parts, o.topic.c_str(), p)->offset =
          pos >= 0 ? pos : RD_KAFKA_OFFSET_BEGINNING;
      assigned.insert({o.topic, p});
      if (o.stop_at_end) {
        std::int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, o.topic.c_str(), p, &lo, &hi, 10000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
          rd_kafka_topic_partition_list_destroy(parts);
          return core::error::retriable("kafka: no watermarks for " + o.topic);
        }
        end_offsets[p] = hi;
      }
    }
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    stats.assigned = assigned.size();
    return core::ok_v;
  }

  void rebalance(rd_kafka_t* h, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    ++stats.rebalances;
    cooperative = std::string_view(rd_kafka_rebalance_protocol(h)) == "COOPERATIVE";
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      // The stored offsets are the truth: read them now (retrying while the store is down; the
      // group waits for us, which is the backpressure we want).
      auto delay = o.backoff_min;
      for (;;) {
        auto st = app.load_positions();
        if (st) break;
        ++stats.store_errors;
        set_error(st.err().message);
        log->warn("assignment: cannot read the stored offsets ({}), retrying in {} ms", st.err().message,
                  delay.count());
        if (st.err().kind == core::error_kind::fatal || stopping) break;
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, o.backoff_max);
      }
      for (int i = 0; i < parts->cnt; ++i) {
        auto& e = parts->elems[i];
        const std::int64_t pos = app.position(e.topic, e.partition);
        e.offset = pos >= 0 ? pos : RD_KAFKA_OFFSET_BEGINNING;
        assigned.insert({e.topic, e.partition});
        log->info("assigned {}[{}] from offset {}", e.topic, e.partition,
                  pos >= 0 ? std::to_string(pos) : std::string("beginning"));
      }
      if (cooperative) {
        if (rd_kafka_error_t* ke = rd_kafka_incremental_assign(h, parts)) rd_kafka_error_destroy(ke);
      } else {
        rd_kafka_assign(h, parts);
      }
    } else {
      std::set<std::pair<std::string, std::int32_t>> gone;
      for (int i = 0; i < parts->cnt; ++i) gone.insert({parts->elems[i].topic, parts->elems[i].partition});
      // Records not applied yet are the new owner's, from the stored offsets.
      std::erase_if(batch, [&](const record& r) { return gone.count({r.topic, r.partition}) != 0; });
      for (const auto& [t, p] : gone) {
        app.forget_partition(t, p);
        assigned.erase({t, p});
        std::lock_guard lock(stats.mu);
        stats.lag.erase({t, p});
        log->info("revoked {}[{}]", t, p);
      }
      if (cooperative) {
        if (rd_kafka_error_t* ke = rd_kafka_incremental_unassign(h, parts)) rd_kafka_error_destroy(ke);
      } else {
        rd_kafka_assign(h, nullptr);
      }
    }
    stats.assigned = assigned.size();
  }

  // librdkafka's statistics (on the loop's thread, inside poll): the consumer group's part
  // (STATISTICS.md, "cgrp": state, join_state) tells whether this member is settled in the group.
  void group_statistics(std::string_view json) {
    const auto j = nlohmann::json::parse(json, nullptr, false);
    if (j.is_discarded() || !j.contains("cgrp") || !j["cgrp"].is_object()) return;
    const auto& g = j["cgrp"];
    auto text = [&](const char* k) {
      return g.contains(k) && g[k].is_string() ? g[k].get<std::string>() : std::string();
    };
    const std::string state = text("state"), join = text("join_state");
    const bool settled = state == "up" && join == "steady";
    {
      std::lock_guard lock(stats.mu);
      stats.group_state = state + "/" + join;
    }
    if (settled) {
      group_ever_settled = true;
      stats.group_unsettled_since_steady_ms = 0;
    } else if (stats.group_unsettled_since_steady_ms == 0) {
      stats.group_unsettled_since_steady_ms = group_ever_settled ? steady_ms() : subscribed_steady_ms;
    }
  }

  // Polls once; a record goes into the batch. Returns false on nothing.
  bool poll_one(std::chrono::milliseconds timeout) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, static_cast<int>(timeout.count()));
    stats.heartbeat_steady_ms = steady_ms();
    if (m == nullptr) return false;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) log->warn("consumer: {}", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      return false;
    }
    record r;
    r.topic = rd_kafka_topic_name(m->rkt);
    r.partition = m->partition;
    r.offset = m->offset;
    if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) r.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_timestamp_type_t ts_type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    const std::int64_t ts = rd_kafka_message_timestamp(m, &ts_type);
    if (ts_type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME && ts > 0) r.log_append_ms = ts;
    r.polled_ms = wall.now_ms();
    rd_kafka_message_destroy(m);
    if (!assigned.count({r.topic, r.partition})) return false;  // fetched before a revoke
    const std::int64_t pos = app.position(r.topic, r.partition);
    if (pos >= 0 && r.offset < pos) return false;  // already in the read model (a seek raced a fetch)
    if (batch.empty()) batch_started = steady::now();
    batch.push_back(std::move(r));
    return true;
  }

  void pause_all(bool pause) {
    if (assigned.empty()) return;
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(static_cast<int>(assigned.size()));
    for (const auto& [t, p] : assigned) rd_kafka_topic_partition_list_add(parts, t.c_str(), p);
    if (pause) {
      rd_kafka_pause_partitions(rk, parts);
    } else {
      rd_kafka_resume_partitions(rk, parts);
    }
    rd_kafka_topic_partition_list_destroy(parts);
  }

  // After a failed claim: another instance moved a partition on. Reload and seek.
  void resync() {
    ++stats.stale_claims;
    log->warn("a partition's stored offset moved under us (another instance?): reloading offsets");
    batch.clear();
    app.forget_all();
    if (!app.load_positions()) return;  // the next batch's claim tells again
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(static_cast<int>(assigned.size()));
    for (const auto& [t, p] : assigned) {
      const std::int64_t pos = app.position(t, p);
      rd_kafka_topic_partition_list_add(parts, t.c_str(), p)->offset = pos >= 0 ? pos : RD_KAFKA_OFFSET_BEGINNING;
    }
    if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk, parts, 5000)) rd_kafka_error_destroy(e);
    rd_kafka_topic_partition_list_destroy(parts);
  }

  core::status produce_dead_letters() {
    if (app.dead_letters().empty() || dlq == nullptr) return core::ok_v;
    dlq_failures = 0;
    for (const auto& d : app.dead_letters()) {
      rd_kafka_headers_t* hdrs = rd_kafka_headers_new(6);
      auto add = [&](const char* k, const std::string& v) {
        rd_kafka_header_add(hdrs, k, -1, v.data(), static_cast<ssize_t>(v.size()));
      };
      add("dlq_reason", d.reason);
      add("dlq_source_topic", d.original.topic);
      add("dlq_source_partition", std::to_string(d.original.partition));
      add("dlq_source_offset", std::to_string(d.original.offset));
      add("dlq_consumer_group", o.group_id);
      // rd_kafka_produceva: the RD_KAFKA_V_* macros expand to C casts.
      rd_kafka_vu_t vu[5] = {};
      vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vu[0].u.cstr = o.dlq_topic.c_str();
      vu[1].vtype = RD_KAFKA_VTYPE_KEY;
      vu[1].u.mem = {const_cast<char*>(d.original.key.data()), d.original.key.size()};
      vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
      vu[2].u.mem = {const_cast<char*>(d.original.value.data()), d.original.value.size()};
      vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vu[3].u.i = RD_KAFKA_MSG_F_COPY;
      vu[4].vtype = RD_KAFKA_VTYPE_HEADERS;
      vu[4].u.headers = hdrs;
      rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
      if (rd_kafka_error_t* error = rd_kafka_produceva(dlq, vu, 5)) {
        e = rd_kafka_error_code(error);
        rd_kafka_error_destroy(error);
      }
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs);
        return core::error::retriable(std::string("DLQ produce: ") + rd_kafka_err2str(e));
      }
    }
    const auto e = rd_kafka_flush(dlq, 10000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Unacknowledged dead letters stay queued in the producer and may still arrive: the retry
      // produces them again (at least once).
      return core::error::retriable(std::string("DLQ flush: ") + rd_kafka_err2str(e));
    }
    if (dlq_failures != 0) {
      return core::error::retriable(std::to_string(dlq_failures) + " dead letters not accepted by Kafka");
    }
    return core::ok_v;
  }

  void record_success(const batch_counts& c, std::chrono::microseconds took) {
    stats.records += c.records;
    stats.applied += c.applied;
    stats.duplicates += c.duplicates;
    stats.unknown_type += c.unknown_type;
    stats.rejected += c.rejected;
    stats.undecodable += c.undecodable;
    stats.future_dated += c.future_dated;
    stats.dead_lettered += c.dead_lettered;
    stats.advances += c.advances;
    stats.alert_changes += c.alert_changes;
    ++stats.batches;
    const double s = static_cast<double>(took.count()) / 1e6;
    for (std::size_t i = 0; i < k_latency_buckets_s.size(); ++i) {
      if (s <= k_latency_buckets_s[i]) ++stats.latency_le[i];
    }
    ++stats.latency_count;
    stats.latency_sum_us += static_cast<std::uint64_t>(took.count());
  }

  void commit_to_kafka(const std::map<std::pair<std::string, std::int32_t>, std::int64_t>& next) {
    if (!o.use_group || next.empty()) return;
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(static_cast<int>(next.size()));
    for (const auto& [tp, off] : next) rd_kafka_topic_partition_list_add(parts, tp.first.c_str(), tp.second)->offset = off;
    (void)rd_kafka_commit(rk, parts, 1);  // async: informational only (the read model is the truth)
    rd_kafka_topic_partition_list_destroy(parts);
  }

  void update_lag() {
    std::lock_guard lock(stats.mu);
    for (const auto& [t, p] : assigned) {
      std::int64_t lo = 0, hi = 0;
      if (rd_kafka_get_watermark_offsets(rk, t.c_str(), p, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0) continue;
      const std::int64_t pos = app.position(t, p);
      stats.lag[{t, p}] = std::max<std::int64_t>(0, hi - (pos >= 0 ? pos : lo));
    }
  }

  // Applies the pending batch, retrying store and DLQ failures with backoff. Returns an error
  // only for a fatal one. `once`: a single attempt (shutdown).
  core::status flush(bool once) {
    auto delay = o.backoff_min;
    bool paused = false;
    while (!batch.empty()) {
      const auto t0 = steady::now();
      auto r = app.prepare(batch);
      core::status st = core::ok_v;
      if (r && *r == applier::outcome::stale) {
        resync();
        break;
      }
      if (!r) {
        st = r.err();
        ++stats.store_errors;
      } else if (auto d = produce_dead_letters(); !d) {
        st = d;
        ++stats.dlq_errors;
        app.abandon();
      } else if (auto c = app.commit(); !c) {
        st = c;
        ++stats.store_errors;
      }
      if (st) {
        std::map<std::pair<std::string, std::int32_t>, std::int64_t> next;
        for (const auto& rec : batch) next[{rec.topic, rec.partition}] = rec.offset + 1;
        record_success(app.counts(), std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - t0));
        commit_to_kafka(next);
        batch.clear();
        break;
      }
      set_error(st.err().message);
      if (st.err().kind == core::error_kind::fatal) {
        log->error("read model: {}", st.err().message);
        if (paused) pause_all(false);
        return st;
      }
      if (once || stopping) break;
      log->warn("batch of {} records not applied ({}); retrying in {} ms", batch.size(), st.err().message,
                delay.count());
      stats.backing_off = true;
      if (!paused) {
        pause_all(true);
        paused = true;
      }
      // Wait while serving the group (rebalances may shrink the batch; anything still fetched
      // before the pause joins it).
      const auto until = steady::now() + delay;
      while (steady::now() < until && !stopping) {
        poll_one(std::min(std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now()),
                          std::chrono::milliseconds(100)));
      }
      delay = std::min(delay * 2, o.backoff_max);
    }
    if (paused) pause_all(false);
    stats.backing_off = false;
    update_lag();
    return core::ok_v;
  }

  bool reached_end() const {
    if (!o.stop_at_end) return false;
    for (const auto& [p, hi] : end_offsets) {
      const std::int64_t pos = app.position(o.topic, p);
      if (hi > 0 && pos < hi) {
        // A partition whose low mark is past the stored position counts once it consumed up to hi.
        return false;
      }
    }
    return true;
  }

  // Event store retention, in slices so a batch never waits long behind it.
  void prune() {
    if (o.retention_days == 0 || steady::now() < next_prune) return;
    next_prune = steady::now() + std::chrono::minutes(10);
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::int64_t cutoff = now_us - std::int64_t{o.retention_days} * 86'400'000'000;
    for (int slice = 0; slice < 100; ++slice) {
      auto n = store.prune_events(cutoff, 10'000);
      if (!n) {
        log->warn("event store retention: {}", n.err().message);
        return;
      }
      stats.pruned += *n;
      if (*n < 10'000) return;
    }
  }

  core::status run() {
    while (!stopping) {
      if (reached_end() && batch.empty()) break;
      const auto linger_left =
          batch.empty() ? std::chrono::milliseconds(100)
                        : std::max(std::chrono::milliseconds(0),
                                   o.linger - std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  steady::now() - batch_started));
      poll_one(linger_left);
      const bool full = batch.size() >= o.batch_max;
      const bool lingered = !batch.empty() && steady::now() - batch_started >= o.linger;
      if (full || lingered) {
        if (auto st = flush(false); !st) return st;
      } else if (batch.empty()) {
        update_lag();
        prune();
      }
    }
    // Shutdown: apply what is pending (one attempt), then leave the group.
    auto st = flush(true);
    if (o.use_group) rd_kafka_consumer_close(rk);
    return st;
  }
};

consumer_loop::consumer_loop(consumer_options options, read_model::store& store)
    : impl_(std::make_unique<impl>(std::move(options), stats_, store)) {}

consumer_loop::~consumer_loop() = default;

core::status consumer_loop::start() { return impl_->start(); }
core::status consumer_loop::run() { return impl_->run(); }
void consumer_loop::stop() { impl_->stopping = true; }

}  // namespace herd::projector
