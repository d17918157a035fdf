#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

typedef struct rd_kafka_s rd_kafka_t;  // NOLINT(modernize-use-using): as in rdkafka.h

namespace herd::test_support {

struct kafka_record {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;    // empty if the record had no key
  std::string value;  // raw bytes; empty for a null value
  std::vector<std::pair<std::string, std::string>> headers;  // in record order
  std::int64_t timestamp_ms = -1;                          // ms since the epoch; -1 if none

  // The first header called `name`.
  std::optional<std::string> header(std::string_view name) const;
};

// Reads every partition of one topic from the beginning, without joining a consumer group
// (partitions are assigned directly, so there is no rebalance delay and nothing is committed).
// Not thread-safe.
class kafka_reader {
 public:
  // Waits up to `metadata_deadline` for the topic to exist; throws std::runtime_error otherwise.
  kafka_reader(const std::string& bootstrap, const std::string& topic,
               std::chrono::milliseconds metadata_deadline = std::chrono::milliseconds(10000));
  kafka_reader(const kafka_reader&) = delete;
  kafka_reader& operator=(const kafka_reader&) = delete;
  ~kafka_reader();

  using predicate = std::function<bool(const std::vector<kafka_record>&)>;
  // Consumes into records() until `done(records())` holds (true) or `deadline` passes (false).
  // Consumer errors (a broker down, ...) go to stderr; reading goes on until the deadline.
  bool read_until(const predicate& done, std::chrono::milliseconds deadline);

  // Everything read so far, in arrival order (ordered within a partition only).
  const std::vector<kafka_record>& records() const { return records_; }
  int partition_count() const { return partitions_; }

 private:
  rd_kafka_t* rk_ = nullptr;
  std::string topic_;
  int partitions_ = 0;
  std::vector<kafka_record> records_;
};

// After a Kafka outage: how long until each partition of `topic` grows again. Call it the moment
// the brokers are back. It asks a client of its own (new connections, so no reconnect backoff
// left over from the outage) for the high watermark of every partition every `every`, takes the
// first answer as the baseline, and returns for each partition that was not empty then (one that
// is empty has no animal of the caller mapped to it) the seconds from the call until its high
// watermark first exceeds that baseline, nullopt if it did not grow before `deadline`.
// A producer that resumed before the baseline was read is seen at its next acknowledged batch, so
// a figure is an upper bound by at most one batch interval. Throws std::runtime_error if the
// topic has no partitions within `deadline`.
struct partition_resume {
  std::int32_t partition = 0;
  std::optional<double> seconds;
};
std::vector<partition_resume> partition_resume_seconds(const std::string& bootstrap, const std::string& topic,
                                                     std::chrono::milliseconds deadline,
                                                     std::chrono::milliseconds every = std::chrono::milliseconds(20));

}  // namespace herd::test_support
