#include "herd/projector/consumer_loop.hpp"

#include <algorithm>

#include "consumer_loop_impl.hpp"

namespace herd::projector {
namespace {

const std::set<std::string>& reserved() {
  static const std::set<std::string> r = {"bootstrap.servers", "group.id", "enable.auto.commit",
                                          "enable.auto.offset.store", "auto.offset.reset",
                                          "enable.idempotence", "acks", "rebalance_cb",
                                          "statistics.interval.ms"};
  return r;
}

}  // namespace

bool is_reserved_consumer_property(const std::string& name) { return reserved().count(name) != 0; }

bool is_consumer_only_property(const std::string& name) {
  for (const char* prefix : {"fetch.", "session.", "max.poll", "partition.assignment", "heartbeat"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

core::status consumer_loop::impl::start() {
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
    if (auto st = open_dlq(); !st) return st;
  }

  if (o.use_group) {
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, o.topic.c_str(), RD_KAFKA_PARTITION_UA);
    subscribed_steady_ms = loop_detail::steady_ms();
    const auto e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return core::error::fatal(std::string("subscribe: ") + rd_kafka_err2str(e));
    return core::ok_v;
  }
  return assign_all();
}

// No group: every partition, from the stored offsets (a rebuild).
core::status consumer_loop::impl::assign_all() {
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

// Polls once; a record goes into the batch. Returns false on nothing.
bool consumer_loop::impl::poll_one(std::chrono::milliseconds timeout) {
  rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, static_cast<int>(timeout.count()));
  stats.heartbeat_steady_ms = loop_detail::steady_ms();
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

void consumer_loop::impl::record_success(const batch_counts& c, std::chrono::microseconds took) {
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

void consumer_loop::impl::update_lag() {
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
core::status consumer_loop::impl::flush(bool once) {
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

bool consumer_loop::impl::reached_end() const {
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
void consumer_loop::impl::prune() {
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

core::status consumer_loop::impl::run() {
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

consumer_loop::consumer_loop(consumer_options options, read_model::store& store)
    : impl_(std::make_unique<impl>(std::move(options), stats_, store)) {}

consumer_loop::~consumer_loop() = default;

core::status consumer_loop::start() { return impl_->start(); }
core::status consumer_loop::run() { return impl_->run(); }
void consumer_loop::stop() { impl_->stopping = true; }

}  // namespace herd::projector
