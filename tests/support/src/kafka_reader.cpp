#include <herd/test_support/kafka_reader.hpp>

#include <algorithm>
#include <array>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <thread>

#include <librdkafka/rdkafka.h>

#include <herd/core/uuid.hpp>
#include <herd/test_support/wait_until.hpp>

namespace herd::test_support {
namespace {

using namespace std::chrono_literals;

rd_kafka_t* new_consumer(const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::array<char, 512> err{};
  // librdkafka only allows rd_kafka_assign() with a group.id; a fresh one per reader, with
  // assign() instead of subscribe(), means no group join, no rebalance and no shared offsets.
  const std::string group = "herd-test-reader-" + core::new_uuid_v4();
  const std::pair<const char*, std::string> settings[] = {
      {"bootstrap.servers", bootstrap},
      {"group.id", group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"auto.offset.reset", "earliest"},
      {"fetch.wait.max.ms", "50"},  // tests wait on arrivals; don't idle at the broker
      {"log_level", "4"},
  };
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name, value.c_str(), err.data(), err.size()) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string("kafka_reader: ") + err.data());
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err.data(), err.size());
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka_reader: rd_kafka_new: ") + err.data());
  }
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

// 0 until the topic exists with partitions (or the cluster answers at all).
int partitions_of(rd_kafka_t* rk, const std::string& topic) {
  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> rkt(
      rd_kafka_topic_new(rk, topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 0, rkt.get(), &md, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
  int count = 0;
  if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    count = md->topics[0].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return count;
}

kafka_record to_record(const rd_kafka_message_t& m) {
  kafka_record r;
  r.topic = rd_kafka_topic_name(m.rkt);
  r.partition = m.partition;
  r.offset = m.offset;
  if (m.key != nullptr) r.key.assign(static_cast<const char*>(m.key), m.key_len);
  if (m.payload != nullptr) r.value.assign(static_cast<const char*>(m.payload), m.len);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(&m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      r.headers.emplace_back(name, value != nullptr
                                       ? std::string(static_cast<const char*>(value), size)
                                       : std::string());
    }
  }
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  r.timestamp_ms = rd_kafka_message_timestamp(&m, &type);
  return r;
}

}  // namespace

std::optional<std::string> kafka_record::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

kafka_reader::kafka_reader(const std::string& bootstrap, const std::string& topic,
                           std::chrono::milliseconds metadata_deadline)
    : rk_(new_consumer(bootstrap)), topic_(topic) {
  // The topic may still be on its way (created by the program under test).
  const bool found = wait_until([&] { return (partitions_ = partitions_of(rk_, topic)) > 0; },
                                metadata_deadline, 50ms);
  if (!found) {
    rd_kafka_destroy(rk_);
    throw std::runtime_error("kafka_reader: no partitions for topic '" + topic + "' at " + bootstrap);
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions_);
  for (int p = 0; p < partitions_; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  const rd_kafka_resp_err_t err = rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(rk_);
    throw std::runtime_error(std::string("kafka_reader: assign: ") + rd_kafka_err2str(err));
  }
}

kafka_reader::~kafka_reader() {
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

bool kafka_reader::read_until(const predicate& done, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done(records_)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    rd_kafka_message_t* m =
        rd_kafka_consumer_poll(rk_, static_cast<int>(std::min(left, 100ms).count()));
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      records_.push_back(to_record(*m));
    } else {
      // Broker-down and similar errors are expected in fault tests; the client keeps retrying.
      std::cerr << "kafka_reader: " << rd_kafka_message_errstr(m) << '\n';
    }
    rd_kafka_message_destroy(m);
  }
  return true;
}

std::vector<partition_resume> partition_resume_seconds(const std::string& bootstrap, const std::string& topic,
                                                     std::chrono::milliseconds deadline,
                                                     std::chrono::milliseconds every) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const auto end = t0 + deadline;
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(new_consumer(bootstrap), &rd_kafka_destroy);
  int partitions = 0;
  if (!wait_until([&] { return (partitions = partitions_of(rk.get(), topic)) > 0; }, deadline, every)) {
    throw std::runtime_error("partition_resume_seconds: no partitions for topic '" + topic + "' at " + bootstrap);
  }
  // High watermarks of all partitions, or nothing if one query fails (a broker still reconnecting).
  auto high = [&]() -> std::optional<std::vector<std::int64_t>> {
    std::vector<std::int64_t> hw(static_cast<std::size_t>(partitions));
    for (int p = 0; p < partitions; ++p) {
      std::int64_t lo = 0;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock::now()).count();
      if (left <= 0 || rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &lo, &hw[static_cast<std::size_t>(p)],
                                                        static_cast<int>(std::min<long long>(left, 1000))) !=
                           RD_KAFKA_RESP_ERR_NO_ERROR) {
        return std::nullopt;
      }
    }
    return hw;
  };
  std::optional<std::vector<std::int64_t>> base;
  while (!(base = high()) && clock::now() < end) std::this_thread::sleep_for(every);
  std::vector<partition_resume> resumed;
  if (!base) return resumed;
  for (int p = 0; p < partitions; ++p) {
    if ((*base)[static_cast<std::size_t>(p)] > 0) resumed.push_back({p, std::nullopt});
  }
  std::size_t waiting = resumed.size();
  while (waiting > 0 && clock::now() < end) {
    std::this_thread::sleep_for(every);
    const auto now_hw = high();
    if (!now_hw) continue;
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    for (auto& r : resumed) {
      const auto p = static_cast<std::size_t>(r.partition);
      if (!r.seconds && (*now_hw)[p] > (*base)[p]) {
        r.seconds = s;
        --waiting;
      }
    }
  }
  return resumed;
}

}  // namespace herd::test_support
