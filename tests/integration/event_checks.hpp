#pragma once
// Decoding and checking what the gateway wrote to Kafka, as an outside consumer would.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <herd/test_support/kafka_reader.hpp>

#include "herd/events/v1/collar_reading.pb.h"
#include "herd/events/v1/envelope.pb.h"

namespace herd::test {

// Kafka's Java client murmur2 (org.apache.kafka.common.utils.Utils.murmur2), written from its
// published definition so the test checks the gateway's partitioning against Java's, not itself.
std::int32_t java_murmur2(const std::string& data);
int java_partition(const std::string& key, int partitions);

struct decoded_event {
  test_support::kafka_record record;
  events::v1::EventEnvelope envelope;
  events::v1::CollarReading reading;
};

// Decodes every record; a record that does not decode fails the calling test.
std::vector<decoded_event> decode_all(const std::vector<test_support::kafka_record>& records);

// Distinct (collar id, collar seq) pairs.
std::size_t distinct_readings(const std::vector<decoded_event>& events);

// All the contract checks that hold for every event: envelope fields, headers == envelope,
// key == aggregate_id, Java-compatible partition. Failures are reported through doctest.
void check_contract(const decoded_event& e, const std::string& gateway_id, int partitions);

// Per animal, in partition order and counting each event_id once, collar seqs only increase.
// Returns the number of order violations (0 expected).
std::size_t order_violations(const std::vector<decoded_event>& events);

// Records that repeat an event_id already seen. Also checks that every copy of one reading
// (collar, seq) carries the same event_id: a resend never mints a new id.
std::size_t duplicates_checked(const std::vector<decoded_event>& events);

// gateway_seqs carried by more than one event_id (README: a gateway_seq is never reused; a resend
// keeps both). Each one is reported through doctest with its two event_ids.
std::size_t reused_gateway_seqs(const std::vector<decoded_event>& events);

// Records in `topic` according to the partitions' watermarks (high - low, summed): what the
// cluster holds, independent of any consumer.
std::int64_t records_in_topic(const std::string& bootstrap, const std::string& topic);

// Reads until `expected` distinct readings (collar, seq) have arrived or the deadline passes.
bool read_distinct(test_support::kafka_reader& reader, std::size_t expected, std::chrono::milliseconds deadline);

}  // namespace herd::test
