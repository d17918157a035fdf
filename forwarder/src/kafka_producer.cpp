#include "herd/forwarder/kafka_producer.hpp"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "herd/kafka/record.hpp"
#include "producer_config.hpp"

namespace herd::forwarder {

namespace {

// Delivery-report opaques: the tag's id shifted left, the low bit set for a dead letter.
void* opaque_of(record_tag t) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(t.id << 1 | (t.dead_letter ? 1U : 0U)));
}
record_tag tag_of(void* opaque) {
  const auto v = reinterpret_cast<std::uintptr_t>(opaque);
  return record_tag{(v & 1U) != 0, static_cast<std::uint64_t>(v >> 1)};
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

}  // namespace

const char* to_string(kafka_verdict v) {
  switch (v) {
    case kafka_verdict::accepted: return "accepted";
    case kafka_verdict::retry: return "retry";
    case kafka_verdict::rejected: return "rejected";
    case kafka_verdict::fatal: return "fatal";
    case kafka_verdict::purged: return "purged";
  }
  return "?";
}

core::error kafka_outcome::error() const {
  std::string c = "kafka." + name;
  switch (verdict) {
    case kafka_verdict::retry: return core::error::retriable(message, std::move(c));
    case kafka_verdict::rejected: return core::error::permanent(message, std::move(c));
    default: return core::error::fatal(message, std::move(c));
  }
}

int kafka_fatal_cause(int code, std::string_view reason) {
  if (code != RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE) return code;
  constexpr std::string_view from = "failed: ", to = " (broker ";
  const auto start = reason.find(from);
  if (start == std::string_view::npos) return code;
  const auto described = reason.substr(start + from.size());
  const auto end = described.find(to);
  if (end == std::string_view::npos) return code;
  const auto description = described.substr(0, end);
  const rd_kafka_err_desc* descs = nullptr;
  std::size_t n = 0;
  rd_kafka_get_err_descs(&descs, &n);
  for (std::size_t i = 0; i < n; ++i) {
    if (descs[i].name != nullptr && rd_kafka_err2str(descs[i].code) == description) return descs[i].code;
  }
  return code;
}

kafka_outcome blame_fatal_cause(kafka_outcome o, int fatal_code, std::string_view fatal_reason) {
  if (fatal_code == RD_KAFKA_RESP_ERR_NO_ERROR || o.code >= 0 || o.verdict == kafka_verdict::purged) return o;
  const auto cause = static_cast<rd_kafka_resp_err_t>(kafka_fatal_cause(fatal_code, fatal_reason));
  o.code = cause;
  o.name = rd_kafka_err2name(cause);
  o.message = std::string(fatal_reason);
  o.fatal_reason = std::string(fatal_reason);
  o.is_fatal = true;
  o.verdict = kafka_verdict::fatal;
  return o;
}

kafka_outcome classify_kafka_error(int code, bool retriable, bool fatal) {
  const auto err = static_cast<rd_kafka_resp_err_t>(code);
  kafka_outcome o;
  o.code = code;
  o.retriable = retriable;
  o.is_fatal = fatal;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return o;
  o.name = rd_kafka_err2name(err);
  o.message = rd_kafka_err2str(err);
  if (err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT ||
      err == RD_KAFKA_RESP_ERR__DESTROY) {
    o.verdict = kafka_verdict::purged;
  } else if (fatal) {
    o.verdict = kafka_verdict::fatal;
  } else if (is_record_rejected(err)) {
    o.verdict = kafka_verdict::rejected;
  } else if (retriable || err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    o.verdict = kafka_verdict::retry;
  } else {
    o.verdict = kafka_verdict::fatal;
  }
  return o;
}

struct kafka_producer::impl {
  handlers h;
  std::shared_ptr<spdlog::logger> log;
  rd_kafka_t* rk = nullptr;
  std::vector<rd_kafka_topic_t*> topics;  // held from the start: see create()
  std::atomic<std::int32_t> partitions{0};  // partition_count()

  // The events topic's partitioner (any librdkafka thread): librdkafka's murmur2_random, which
  // the fixed `partitioner` property names, noting the partition count it was given.
  static std::int32_t partition(const rd_kafka_topic_t* rkt, const void* key, size_t keylen, std::int32_t cnt,
                                void* self, void* msg_opaque) {
    static_cast<impl*>(self)->partitions.store(cnt, std::memory_order_relaxed);
    return rd_kafka_msg_partitioner_murmur2_random(rkt, key, keylen, cnt, self, msg_opaque);
  }

  // --- librdkafka callbacks (delivery and error: inside rd_kafka_poll, on the polling thread) ---
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* self) {
    auto* p = static_cast<impl*>(self);
    if (!p->h.delivered) return;
    // A delivery report carries no retriable/fatal flags: the code alone classifies it; a local
    // error on a fatal producer is a consequence of the fatal error, named by its cause.
    auto o = classify_kafka_error(m->err, false, false);
    if (m->err < 0) name_fatal_cause(rk, o);
    p->h.delivered(tag_of(m->_private), o);
  }
  // librdkafka's own log lines, into ours (called from librdkafka threads; spdlog is thread-safe).
  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    auto* self = static_cast<impl*>(rd_kafka_opaque(rk));
    // We set enable.gapless.guarantee on purpose (see fixed_kafka_properties): not worth a warning.
    if (std::strstr(buf, "enable.gapless.guarantee is experimental") != nullptr) level = 7;
    const auto lvl = level <= 3 ? spdlog::level::err : level == 4 ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info : spdlog::level::debug;
    self->log->log(lvl, "librdkafka {}: {}", fac, buf);
  }
  // A failure of a producer in the fatal state: named by the cause (rd_kafka_fatal_error, then
  // what a _GAPLESS_GUARANTEE wraps), not by a wrapper or a consequence (blame_fatal_cause): the
  // operator acts on the cause. Unchanged when the producer is not fatal.
  static void name_fatal_cause(rd_kafka_t* rk, kafka_outcome& o) {
    char buf[512] = "";
    const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, buf, sizeof buf);
    o = blame_fatal_cause(std::move(o), fatal, buf);
  }
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* self) {
    auto* p = static_cast<impl*>(self);
    if (!p->h.client_error) return;
    kafka_outcome o;
    o.code = err;
    o.name = rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err));
    o.message = reason;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      // rd_kafka_set_fatal_error0 stores the fatal error before it queues this report, so
      // rd_kafka_fatal_error names it; if it ever did not, _FATAL stays, still fatal.
      o.is_fatal = true;
      o.verdict = kafka_verdict::fatal;
      o.fatal_reason = reason;
      name_fatal_cause(rk, o);
    } else if (err == RD_KAFKA_RESP_ERR__DESTROY) {
      o.verdict = kafka_verdict::purged;  // our own teardown of this handle, not Kafka's doing
    } else {
      o.verdict = kafka_verdict::retry;  // librdkafka recovers from the others by itself
    }
    p->h.client_error(o);
  }
};

kafka_producer::kafka_producer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

kafka_producer::~kafka_producer() {
  if (!impl_ || impl_->rk == nullptr) return;
  for (auto* t : impl_->topics) rd_kafka_topic_destroy(t);
  rd_kafka_destroy(impl_->rk);
}

core::result<std::unique_ptr<kafka_producer>> kafka_producer::create(const forwarder_options& opts, handlers h,
                                                                     std::shared_ptr<spdlog::logger> log) {
  auto p = std::make_unique<impl>();
  p->h = std::move(h);
  p->log = std::move(log);
  auto built = build_producer_conf(opts);  // shared with --check-config
  if (!built) return built.err();
  rd_kafka_conf_t* conf = *built;
  rd_kafka_conf_set_opaque(conf, p.get());
  rd_kafka_conf_set_dr_msg_cb(conf, &impl::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &impl::on_error);
  rd_kafka_conf_set_log_cb(conf, &impl::on_log);
  char err[512];
  p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (p->rk == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new takes the conf only on success
    return core::error::fatal(std::string("kafka producer: ") + err);
  }
  // The topics are made known now, before the first connection: its metadata request then asks
  // for them, and the first record is sent as soon as a broker is up. A topic librdkafka first
  // meets in a produce call waited for its once-a-second scan of unknown topics (rdkafka_topic.c):
  // ~1 s before anything was sent after a start or a producer rebuild (issue 15, goal 3).
  // Only herd.events: dead letters are rare, and a DLQ topic not created yet would be looked up
  // (and complained about) from the start.
  // Its own partitioner (the same murmur2_random) tells partition_count(); a topic's handle
  // keeps the configuration it was created with, and produce calls by name find this handle.
  if (!opts.topic.empty()) {
    rd_kafka_topic_conf_t* tc = rd_kafka_default_topic_conf_dup(p->rk);
    rd_kafka_topic_conf_set_partitioner_cb(tc, &impl::partition);
    rd_kafka_topic_conf_set_opaque(tc, p.get());
    // rd_kafka_topic_new frees `tc`, on success and on failure.
    if (auto* t = rd_kafka_topic_new(p->rk, opts.topic.c_str(), tc); t != nullptr) {
      p->topics.push_back(t);
    } else {  // produce calls by name then use the default (same) partitioner, without the count
      p->log->warn("kafka topic {}: {}; forwarding goes on without per-partition windows", opts.topic,
                   rd_kafka_err2str(rd_kafka_last_error()));
    }
  }
  return std::unique_ptr<kafka_producer>(new kafka_producer(std::move(p)));
}

kafka_outcome kafka_producer::produce(const std::string& topic, std::string_view key, std::string_view value,
                                      const std::vector<std::pair<std::string, std::string>>& headers,
                                      record_tag tag) {
  const auto st = kafka::produce(impl_->rk, topic, key, value, headers, opaque_of(tag));
  if (st.ok()) return kafka_outcome{};
  // A fatal producer refuses with the fatal error's own code (e.g. _GAPLESS_GUARANTEE), flagged
  // fatal: named by its cause like the client error _FATAL.
  auto o = classify_kafka_error(st.code, st.retriable, st.fatal);
  if (o.is_fatal) impl::name_fatal_cause(impl_->rk, o);
  return o;
}

void kafka_producer::poll(std::chrono::milliseconds wait) { rd_kafka_poll(impl_->rk, static_cast<int>(wait.count())); }

std::int32_t kafka_producer::partition_count() const {
  return impl_->partitions.load(std::memory_order_relaxed);
}

std::int32_t kafka_producer::partition_for(std::string_view key, std::int32_t count) {
  if (count < 1 || key.empty()) return -1;
  return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), count, nullptr, nullptr);
}

bool kafka_producer::cluster_answers(std::chrono::milliseconds timeout) {
  const struct rd_kafka_metadata* md = nullptr;
  rd_kafka_topic_t* t = impl_->topics.empty() ? nullptr : impl_->topics.front();
  const auto err = rd_kafka_metadata(impl_->rk, 0, t, &md, static_cast<int>(timeout.count()));
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void kafka_producer::purge_all() { rd_kafka_purge(impl_->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT); }

}  // namespace herd::forwarder
