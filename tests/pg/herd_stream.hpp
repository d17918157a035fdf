#pragma once
// A deterministic herd's collar readings as serialized EventEnvelopes, produced to a Kafka topic
// keyed by animal (murmur2_random, the gateway's partitioner), with what a real stream carries:
// gateway resends (the same envelope again, same event_id, at a later offset) and late batch
// uploads (readings older than ones already sent). For the scale-out tests.
#include <cstdint>
#include <string>
#include <vector>

typedef struct rd_kafka_s rd_kafka_t;  // NOLINT(modernize-use-using): as in rdkafka.h

namespace herd::pg_test {

struct stream_record {
  std::string key;       // animal id
  std::string envelope;  // serialized herd.events.v1.EventEnvelope
  std::string event_id;
};

// Readings n in [first, last) of `animals` animals (ids "DE0<1000+a>"), 10 min apart; every
// `resend_every`-th reading is followed, a few readings later, by a byte-identical resend; every
// `late_every`-th animal's readings are held back an hour at a time and uploaded together at the
// hour's last round, newer half first (a gateway's late batch upload; never a reading early).
std::vector<stream_record> herd_readings(int animals, int first, int last, int resend_every = 17,
                                         int late_every = 5);

// An idempotent producer to `bootstrap`; produce() returns once every record is acknowledged.
class stream_producer {
 public:
  stream_producer(const std::string& bootstrap, std::string topic);
  stream_producer(const stream_producer&) = delete;
  stream_producer& operator=(const stream_producer&) = delete;
  ~stream_producer();
  // Throws std::runtime_error if a record is not acknowledged within 30 s.
  void produce(const std::vector<stream_record>& records);
  std::uint64_t produced() const { return produced_; }

 private:
  rd_kafka_t* rk_ = nullptr;
  std::string topic_;
  std::uint64_t produced_ = 0;
};

}  // namespace herd::pg_test
