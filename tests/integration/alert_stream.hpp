#pragma once
// Helpers for the herd.alerts tests: a herd.events stream that keeps raising and resolving
// device alerts (low battery, collar offline), a bulk producer, and the reference sequence of
// herd.alerts events a read model's event store implies.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <herd/test_support/kafka_reader.hpp>

#include "herd/read_model/store.hpp"

typedef struct rd_kafka_s rd_kafka_t;  // NOLINT(modernize-use-using): as in rdkafka.h

namespace herd::test {

struct keyed_value {
  std::string key;
  std::string value;
};

// `animals` animals x `hours` hours of collar.reading.v1 envelopes, one per 10 minutes,
// interleaved by time. Each animal's battery goes 60 % -> 15 % -> 60 % in a 3-hour cycle (a
// low_battery alert raised and resolved per cycle) and its collar falls silent for 50 minutes
// every 6 hours (device_offline raised by advance(), resolved by the next reading). Phases are
// shifted per animal so alerts keep coming over the whole stream.
std::vector<keyed_value> alert_storm(int animals, int hours, std::int64_t start_ms);

// An idempotent producer into `topic` (murmur2_random by key, like the gateway).
class bulk_producer {
 public:
  bulk_producer(const std::string& bootstrap, std::string topic);
  ~bulk_producer();
  bulk_producer(const bulk_producer&) = delete;
  bulk_producer& operator=(const bulk_producer&) = delete;
  void produce(const std::vector<keyed_value>& records);  // waits for every ack (REQUIREs it)

 private:
  rd_kafka_t* rk_ = nullptr;
  std::string topic_;
};

// The herd.alerts messages a fresh projection of `source`'s event store writes to its outbox,
// in outbox order (ce_id, key).
struct alert_message {
  std::string ce_id;
  std::string key;
  std::string type;
};
std::vector<alert_message> reference_alert_messages(read_model::store& source, const std::string& scratch_db);

// Per key (animal): the ce_ids in order.
std::map<std::string, std::vector<std::string>> by_key(const std::vector<alert_message>& messages);
std::vector<alert_message> messages_of(const std::vector<test_support::kafka_record>& records);

}  // namespace herd::test
