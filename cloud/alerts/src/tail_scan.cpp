#include "tail_scan.hpp"

#include <librdkafka/rdkafka.h>

#include <vector>

namespace herd::alerts::detail {

namespace {
std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

core::result<std::unordered_set<std::string>> scan_ce_ids(const std::string& bootstrap,
                                                          const std::map<std::string, std::string>& properties,
                                                          const std::string& topic, std::size_t per_partition,
                                                          std::chrono::milliseconds timeout) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props = {{"bootstrap.servers", bootstrap},
                                                            {"group.id", "herd-alerts-relay-scan"},
                                                            {"enable.auto.commit", "false"},
                                                            {"enable.partition.eof", "true"},
                                                            {"log_level", "3"}};
  for (const auto& [k, v] : properties) {
    // Producer-only settings would make the consumer refuse its config.
    if (k == "linger.ms" || k == "batch.size" || k == "compression.type" || k.rfind("queue.buffering", 0) == 0) continue;
    props.emplace_back(k, v);
  }
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return core::error::fatal("relay scan: kafka property " + k + ": " + err);
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return core::error::fatal(std::string("relay scan: ") + err);
  }
  struct guard {
    rd_kafka_t* rk;
    ~guard() {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  } g{rk};
  const std::int64_t deadline = steady_ms() + timeout.count();
  const auto left = [&] { return static_cast<int>(std::max<std::int64_t>(deadline - steady_ms(), 1)); };

  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const auto merr = rd_kafka_metadata(rk, 0, rkt, &md, left());
  rd_kafka_topic_destroy(rkt);
  if (merr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return core::error::retriable(std::string("relay scan: metadata: ") + rd_kafka_err2str(merr));
  }
  std::vector<std::int32_t> partitions;
  bool unknown = false;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (topic != md->topics[i].topic) continue;
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) unknown = true;
    for (int p = 0; p < md->topics[i].partition_cnt; ++p) partitions.push_back(md->topics[i].partitions[p].id);
  }
  rd_kafka_metadata_destroy(md);
  std::unordered_set<std::string> ids;
  if (unknown || partitions.empty()) return ids;

  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  std::map<std::int32_t, std::int64_t> end;  // partition -> high watermark
  for (const std::int32_t p : partitions) {
    std::int64_t lo = 0, hi = 0;
    const auto werr = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, left());
    if (werr != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_partition_list_destroy(list);
      return core::error::retriable(std::string("relay scan: watermarks: ") + rd_kafka_err2str(werr));
    }
    if (hi <= lo) continue;
    const std::int64_t from = std::max<std::int64_t>(lo, hi - static_cast<std::int64_t>(per_partition));
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = from;
    end[p] = hi;
  }
  if (end.empty()) {
    rd_kafka_topic_partition_list_destroy(list);
    return ids;
  }
  const auto aerr = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return core::error::retriable(std::string("relay scan: assign: ") + rd_kafka_err2str(aerr));
  }
  while (!end.empty()) {
    if (steady_ms() >= deadline) return core::error::retriable("relay scan: the read-back did not finish in time");
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    const std::int32_t p = m->partition;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (auto it = end.find(p); it != end.end() && m->offset >= it->second) end.erase(it);
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const std::string e = rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      return core::error::retriable("relay scan: " + e);
    } else {
      rd_kafka_headers_t* h = nullptr;
      const void* v = nullptr;
      std::size_t n = 0;
      if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_header_get_last(h, "ce_id", &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v != nullptr) {
        ids.emplace(static_cast<const char*>(v), n);
      }
      if (auto it = end.find(p); it != end.end() && m->offset + 1 >= it->second) end.erase(it);
    }
    rd_kafka_message_destroy(m);
  }
  return ids;
}

}  // namespace herd::alerts::detail
