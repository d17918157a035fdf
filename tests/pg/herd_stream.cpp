#include "herd_stream.hpp"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <stdexcept>

#include "herd/events/v1/collar_reading.pb.h"
#include "herd/events/v1/envelope.pb.h"

namespace herd::pg_test {
namespace {

constexpr std::int64_t k_start_ms = 1'795'000'000'000;  // 2026-11-17

void stamp(google::protobuf::Timestamp* t, std::int64_t ms) {
  t->set_seconds(ms / 1000);
  t->set_nanos(static_cast<std::int32_t>(ms % 1000) * 1'000'000);
}

stream_record reading(int a, int n) {
  const std::string animal = "DE0" + std::to_string(1000 + a);
  const std::string collar = "C" + std::to_string(100 + a);
  const std::int64_t at = k_start_ms + std::int64_t{n} * 600'000 + a * 1000;
  events::v1::CollarReading c;
  c.set_farm_id("farm-1");
  c.set_collar_id(collar);
  c.set_collar_seq(static_cast<std::uint32_t>(n + 1));
  stamp(c.mutable_measured_at(), at);
  c.set_body_temp_c(38.4 + 0.01 * ((n * 7 + a * 3) % 40));
  c.set_activity_steps(static_cast<std::uint32_t>(50 + (n * 13 + a) % 300));
  c.set_rumination_min(2.0 + (n + a) % 6);
  c.set_interval_s(600);
  c.set_battery_pct(static_cast<std::uint32_t>(100 - n / 50));
  c.set_rssi_dbm(-60 - (a % 20));
  events::v1::EventEnvelope e;
  e.set_event_id("ev-" + animal + "-" + std::to_string(n));
  e.set_event_type("collar.reading.v1");
  stamp(e.mutable_occurred_at(), at);
  stamp(e.mutable_ingested_at(), at + 1500);
  e.set_aggregate_id(animal);
  e.mutable_actor()->set_device_kind("collar");
  e.mutable_actor()->set_device_id(collar);
  e.mutable_actor()->set_gateway_id("gw-1");
  e.set_gateway_id("gw-1");
  e.set_gateway_seq(static_cast<std::uint64_t>(n) * 1000 + static_cast<std::uint64_t>(a));
  e.mutable_payload()->PackFrom(c);
  e.set_occurred_at_source(events::v1::TIME_SOURCE_SENSOR);
  e.set_gateway_clock_quality(events::v1::CLOCK_QUALITY_SYNCED);
  return {animal, e.SerializeAsString(), e.event_id()};
}

}  // namespace

std::vector<stream_record> herd_readings(int animals, int first, int last, int resend_every,
                                         int late_every) {
  std::vector<stream_record> out;
  std::vector<stream_record> resends;
  for (int n = first; n < last; ++n) {
    for (int a = 0; a < animals; ++a) {
      // A late upload: every `late_every`-th animal's blocks of 6 readings (an hour) are held back
      // and go out together in the block's last round, newer half first (every reading exactly
      // once, none before its own round: a reading sent early would move the partition's
      // watermark ahead of the other animals and make them look offline).
      const int block = n - n % 6;
      const bool late = late_every > 0 && a % late_every == 0 && block >= first && block + 6 <= last;
      if (late && n - block < 5) continue;
      const int serial = n * animals + a;
      for (int k = 0; k < (late ? 6 : 1); ++k) {
        out.push_back(reading(a, late ? block + (k + 3) % 6 : n));
        if (resend_every > 0 && (serial + k) % resend_every == 0) resends.push_back(out.back());
      }
    }
    // Resends of the previous rounds go out now: a gateway that did not get its acks.
    if (n % 4 == 3) {
      out.insert(out.end(), resends.begin(), resends.end());
      resends.clear();
    }
  }
  out.insert(out.end(), resends.begin(), resends.end());
  return out;
}

stream_producer::stream_producer(const std::string& bootstrap, std::string topic)
    : topic_(std::move(topic)) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, const char*> props[] = {
      {"bootstrap.servers", bootstrap.c_str()}, {"enable.idempotence", "true"},
      {"partitioner", "murmur2_random"},        {"linger.ms", "5"}};
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string("stream_producer: ") + err);
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++*static_cast<std::uint64_t*>(opaque);
  });
  rd_kafka_conf_set_opaque(conf, &produced_);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk_ == nullptr) throw std::runtime_error(std::string("stream_producer: ") + err);
}

stream_producer::~stream_producer() {
  rd_kafka_flush(rk_, 5000);
  rd_kafka_destroy(rk_);
}

void stream_producer::produce(const std::vector<stream_record>& records) {
  const std::uint64_t want = produced_ + records.size();
  for (const auto& r : records) {
    rd_kafka_vu_t vus[4] = {};
    vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[0].u.cstr = topic_.c_str();
    vus[1].vtype = RD_KAFKA_VTYPE_KEY;
    vus[1].u.mem = {const_cast<char*>(r.key.data()), r.key.size()};
    vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[2].u.mem = {const_cast<char*>(r.envelope.data()), r.envelope.size()};
    vus[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[3].u.i = RD_KAFKA_MSG_F_COPY;
    for (;;) {
      rd_kafka_error_t* error = rd_kafka_produceva(rk_, vus, 4);
      if (error == nullptr) break;
      const bool full = rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL;
      const std::string text = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
      if (!full) throw std::runtime_error("stream_producer: " + text);
      rd_kafka_poll(rk_, 10);
    }
    rd_kafka_poll(rk_, 0);
  }
  rd_kafka_flush(rk_, 30000);
  if (produced_ != want) {
    throw std::runtime_error("stream_producer: " + std::to_string(want - produced_) +
                             " records not acknowledged");
  }
}

}  // namespace herd::pg_test
