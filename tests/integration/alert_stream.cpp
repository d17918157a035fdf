#include "alert_stream.hpp"

#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>

#include <filesystem>

#include "../unit/cloud/envelopes.hpp"
#include "herd/projector/rebuild.hpp"
#include "herd/read_model/sqlite_store.hpp"

namespace herd::test {

std::vector<keyed_value> alert_storm(int animals, int hours, std::int64_t start_ms) {
  std::vector<keyed_value> out;
  const int steps = hours * 6;
  std::vector<std::uint32_t> seq(static_cast<std::size_t>(animals), 0);
  for (int t = 0; t < steps; ++t) {
    for (int a = 0; a < animals; ++a) {
      const int phase = (t + a * 5) % 36;       // 36 x 10 min = 6 h
      if (phase >= 30 && phase < 35) continue;  // 50 minutes silent
      const int bphase = (t + a * 7) % 18;      // 3 h battery cycle
      test_envelopes::reading r;
      r.animal = "DE" + std::to_string(100000 + a);
      r.collar = "C" + std::to_string(1000 + a);
      r.seq = ++seq[static_cast<std::size_t>(a)];
      r.event_id = r.animal + "-" + std::to_string(r.seq);
      r.occurred_ms = start_ms + static_cast<std::int64_t>(t) * 600'000;
      r.temp_c = 38.6;
      r.steps = 100;
      r.rum_min = 3.0;
      r.battery = bphase < 6 ? 15 : 60;
      out.push_back({r.animal, test_envelopes::collar_envelope(r)});
    }
  }
  return out;
}

namespace {
void delivered(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) ++*static_cast<int*>(opaque);
}
int g_failures = 0;
}  // namespace

bulk_producer::bulk_producer(const std::string& bootstrap, std::string topic) : topic_(std::move(topic)) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "partitioner", "murmur2_random", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
  rd_kafka_conf_set_dr_msg_cb(conf, delivered);
  rd_kafka_conf_set_opaque(conf, &g_failures);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(rk_ != nullptr);
}

bulk_producer::~bulk_producer() {
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

void bulk_producer::produce(const std::vector<keyed_value>& records) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, topic_.c_str(), nullptr);
  for (const auto& r : records) {
    for (;;) {
      const int rc = rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(r.value.data()),
                                      r.value.size(), r.key.data(), r.key.size(), nullptr);
      if (rc == 0) break;
      REQUIRE(rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL);
      rd_kafka_poll(rk_, 50);
    }
    rd_kafka_poll(rk_, 0);
  }
  rd_kafka_topic_destroy(t);
  REQUIRE(rd_kafka_flush(rk_, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(g_failures == 0);
}

std::vector<alert_message> reference_alert_messages(read_model::store& source, const std::string& scratch_db) {
  std::filesystem::remove(scratch_db);
  auto target = read_model::open_sqlite_store({.path = scratch_db});
  REQUIRE(target.ok());
  auto r = projector::rebuild_from_store(source, **target, 5000, /*with_outbox=*/true);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  std::vector<alert_message> out;
  for (std::int64_t after = 0;;) {
    auto page = (*target)->read_outbox(after, 10'000);
    REQUIRE(page.ok());
    if (page->empty()) break;
    for (const auto& m : *page) {
      alert_message a;
      a.key = m.key;
      for (const auto& [k, v] : m.headers) {
        if (k == "ce_id") a.ce_id = v;
        if (k == "ce_type") a.type = v;
      }
      out.push_back(std::move(a));
    }
    after = page->back().seq;
  }
  return out;
}

std::map<std::string, std::vector<std::string>> by_key(const std::vector<alert_message>& messages) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& m : messages) out[m.key].push_back(m.ce_id);
  return out;
}

std::vector<alert_message> messages_of(const std::vector<test_support::kafka_record>& records) {
  std::vector<alert_message> out;
  for (const auto& r : records) out.push_back({r.header("ce_id").value_or(""), r.key, r.header("ce_type").value_or("")});
  return out;
}

}  // namespace herd::test
