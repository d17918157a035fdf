#include "event_checks.hpp"

#include <doctest/doctest.h>
#include <google/protobuf/util/time_util.h>

#include <librdkafka/rdkafka.h>

#include <set>

#include "herd/core/time_format.hpp"
#include "herd/core/uuid.hpp"

namespace herd::test {

using google::protobuf::util::TimeUtil;

std::int32_t java_murmur2(const std::string& data) {
  const auto* d = reinterpret_cast<const unsigned char*>(data.data());
  const auto length = static_cast<std::uint32_t>(data.size());
  const std::uint32_t m = 0x5bd1e995;
  const int r = 24;
  std::uint32_t h = 0x9747b28c ^ length;
  const std::uint32_t length4 = length / 4;
  for (std::uint32_t i = 0; i < length4; ++i) {
    const std::uint32_t i4 = i * 4;
    std::uint32_t k = d[i4] | (d[i4 + 1] << 8) | (d[i4 + 2] << 16) | (static_cast<std::uint32_t>(d[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::uint32_t tail = length & ~3U;
  switch (length % 4) {
    case 3: h ^= static_cast<std::uint32_t>(d[tail + 2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<std::uint32_t>(d[tail + 1]) << 8; [[fallthrough]];
    case 1:
      h ^= d[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

int java_partition(const std::string& key, int partitions) {
  // Utils.toPositive(murmur2(key)) % numPartitions
  return static_cast<int>((static_cast<std::uint32_t>(java_murmur2(key)) & 0x7fffffffU) %
                          static_cast<std::uint32_t>(partitions));
}

std::vector<decoded_event> decode_all(const std::vector<test_support::kafka_record>& records) {
  std::vector<decoded_event> out;
  out.reserve(records.size());
  for (const auto& r : records) {
    decoded_event e{r, {}, {}};
    REQUIRE_MESSAGE(e.envelope.ParseFromString(r.value), "record at " << r.partition << "/" << r.offset);
    REQUIRE(e.envelope.payload().UnpackTo(&e.reading));
    out.push_back(std::move(e));
  }
  return out;
}

std::size_t distinct_readings(const std::vector<decoded_event>& events) {
  std::set<std::pair<std::string, std::uint32_t>> seen;
  for (const auto& e : events) seen.emplace(e.reading.collar_id(), e.reading.collar_seq());
  return seen.size();
}

void check_contract(const decoded_event& e, const std::string& gateway_id, int partitions) {
  const auto& env = e.envelope;
  const auto& rec = e.record;
  CHECK(core::is_uuid_v4(env.event_id()));
  CHECK(env.event_type() == "collar.reading.v1");
  CHECK(env.aggregate_id().size() == 15);  // the sim's ISO 11784 animal ids
  CHECK(rec.key == env.aggregate_id());
  CHECK(rec.partition == java_partition(rec.key, partitions));
  CHECK(env.gateway_id() == gateway_id);
  CHECK(env.actor().gateway_id() == gateway_id);
  CHECK(env.actor().device_kind() == "collar");
  CHECK(env.actor().device_id() == e.reading.collar_id());
  CHECK(env.gateway_seq() > 0);
  CHECK(env.occurred_at_source() == events::v1::TIME_SOURCE_SENSOR);
  CHECK(TimeUtil::TimestampToMilliseconds(env.occurred_at()) ==
        TimeUtil::TimestampToMilliseconds(e.reading.measured_at()));
  CHECK(TimeUtil::TimestampToMilliseconds(env.ingested_at()) >=
        TimeUtil::TimestampToMilliseconds(env.occurred_at()));
  CHECK(env.payload().type_url() == "type.googleapis.com/herd.events.v1.CollarReading");
  CHECK(e.reading.has_body_temp_c());
  CHECK(e.reading.body_temp_c() >= 25.0);
  CHECK(e.reading.body_temp_c() <= 45.0);

  CHECK(rec.header("ce_specversion") == "1.0");
  CHECK(rec.header("ce_id") == env.event_id());
  CHECK(rec.header("ce_type") == env.event_type());
  CHECK(rec.header("ce_subject") == env.aggregate_id());
  CHECK(rec.header("ce_source") == "/herdgate/" + gateway_id + "/collar/" + e.reading.collar_id());
  CHECK(rec.header("ce_time") == core::iso8601_utc_ms(TimeUtil::TimestampToMilliseconds(env.occurred_at())));
  CHECK(rec.header("content-type") == "application/x-protobuf");
}

std::size_t order_violations(const std::vector<decoded_event>& events) {
  // records() is in arrival order, which is offset order within each partition.
  std::map<std::string, std::int64_t> last_seq;  // animal -> last collar seq seen
  std::map<std::string, std::int32_t> partition_of;
  std::set<std::string> seen_ids;
  std::size_t violations = 0;
  for (const auto& e : events) {
    const auto& animal = e.envelope.aggregate_id();
    auto [p, fresh] = partition_of.emplace(animal, e.record.partition);
    if (!fresh && p->second != e.record.partition) ++violations;  // one animal, one partition
    if (!seen_ids.insert(e.envelope.event_id()).second) continue;  // a resend of an older event
    auto [it, first] = last_seq.emplace(animal, e.reading.collar_seq());
    if (!first) {
      if (e.reading.collar_seq() <= it->second) ++violations;
      it->second = e.reading.collar_seq();
    }
  }
  return violations;
}

std::size_t duplicates_checked(const std::vector<decoded_event>& events) {
  std::map<std::pair<std::string, std::uint32_t>, std::string> id_of;
  std::size_t dups = 0;
  for (const auto& e : events) {
    auto [it, fresh] = id_of.emplace(std::make_pair(e.reading.collar_id(), e.reading.collar_seq()),
                                     e.envelope.event_id());
    if (!fresh) {
      ++dups;
      CHECK_MESSAGE(it->second == e.envelope.event_id(),
                    "reading " << e.reading.collar_id() << "#" << e.reading.collar_seq()
                               << " resent with a new event_id");
    }
  }
  return dups;
}

std::size_t reused_gateway_seqs(const std::vector<decoded_event>& events) {
  std::map<std::uint64_t, std::string> id_of;
  std::size_t reused = 0;
  for (const auto& e : events) {
    auto [it, fresh] = id_of.emplace(e.envelope.gateway_seq(), e.envelope.event_id());
    if (!fresh && it->second != e.envelope.event_id()) {
      ++reused;
      if (reused <= 5) {
        MESSAGE("gateway_seq " << it->first << " carried by " << it->second << " and " << e.envelope.event_id());
      }
      it->second = e.envelope.event_id();  // count each further id once
    }
  }
  return reused;
}

std::int64_t records_in_topic(const std::string& bootstrap, const std::string& topic) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(rk != nullptr);
  std::int64_t total = 0;
  for (int p = 0;; ++p) {
    std::int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) break;
    total += hi - lo;
  }
  rd_kafka_destroy(rk);
  return total;
}

bool read_distinct(test_support::kafka_reader& reader, std::size_t expected, std::chrono::milliseconds deadline) {
  std::set<std::pair<std::string, std::uint32_t>> seen;
  std::size_t decoded = 0;
  return reader.read_until(
      [&](const auto& r) {
        for (; decoded < r.size(); ++decoded) {
          events::v1::EventEnvelope env;
          events::v1::CollarReading reading;
          if (env.ParseFromString(r[decoded].value) && env.payload().UnpackTo(&reading)) {
            seen.emplace(reading.collar_id(), reading.collar_seq());
          }
        }
        return seen.size() >= expected;
      },
      deadline);
}

}  // namespace herd::test
