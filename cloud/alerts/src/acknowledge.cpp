#include "herd/alerts/acknowledge.hpp"

#include <google/protobuf/util/time_util.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "herd/core/clock.hpp"
#include "herd/core/time_format.hpp"
#include "herd/core/uuid.hpp"
#include "herd/events/v1/alert.pb.h"
#include "herd/kafka/record.hpp"
#include "kafka_util.hpp"

namespace herd::alerts {

namespace {

using google::protobuf::util::TimeUtil;

// One acknowledge() call's delivery report (heap: a report may come after the call gave up).
struct pending {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void acknowledgement_delivered(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* p = static_cast<std::shared_ptr<pending>*>(m->_private);
  if (p == nullptr) return;
  {
    std::lock_guard lock((*p)->mu);
    (*p)->done = true;
    (*p)->err = m->err;
  }
  (*p)->cv.notify_all();
  delete p;
}

class kafka_acknowledger final : public acknowledger {
 public:
  kafka_acknowledger(acknowledger_options o, rd_kafka_t* rk) : o_(std::move(o)), rk_(rk) {
    poller_ = std::thread([this] {
      while (!stop_) rd_kafka_poll(rk_, 100);
    });
  }
  ~kafka_acknowledger() override {
    rd_kafka_flush(rk_, 2000);
    stop_ = true;
    poller_.join();
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_, 0);  // the purged messages' reports free their state
    rd_kafka_destroy(rk_);
  }

  core::result<std::string> acknowledge(const acknowledgement& a) override {
    if (auto st = validate(a); !st) return st.err();
    const auto env = acknowledgement_envelope(a, o_.producer_id, core::system_clock{}.now_ms());
    std::string value;
    env.SerializeToString(&value);
    auto state = std::make_shared<pending>();
    auto* opaque = new std::shared_ptr<pending>(state);
    const auto err = kafka::produce(rk_, o_.topic, a.animal_id, value,
                                    acknowledgement_headers(env), opaque).code;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      delete opaque;
      return core::error::retriable(std::string("acknowledge: produce: ") + rd_kafka_err2str(err));
    }
    std::unique_lock lock(state->mu);
    if (!state->cv.wait_for(lock, o_.timeout, [&] { return state->done; })) {
      return core::error::retriable("acknowledge: not acknowledged by Kafka within " +
                                    std::to_string(o_.timeout.count()) + " ms (it may still arrive: retry with event_id " +
                                    env.event_id() + ")");
    }
    if (state->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return core::error::retriable(std::string("acknowledge: ") + rd_kafka_err2str(state->err));
    }
    return env.event_id();
  }

 private:
  acknowledger_options o_;
  rd_kafka_t* rk_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

}  // namespace

core::status validate(const acknowledgement& a) {
  if (a.alert_id.empty()) return core::error::permanent("acknowledgement: alert_id is empty");
  if (a.alert_id.size() > 512) return core::error::permanent("acknowledgement: alert_id longer than 512 bytes");
  if (a.animal_id.empty()) return core::error::permanent("acknowledgement: animal_id is empty");
  if (a.animal_id.size() > 256) return core::error::permanent("acknowledgement: animal_id longer than 256 bytes");
  if (a.acknowledged_by.empty()) return core::error::permanent("acknowledgement: acknowledged_by is empty");
  if (a.acknowledged_by.size() > 256) {
    return core::error::permanent("acknowledgement: acknowledged_by longer than 256 bytes");
  }
  if (a.note.size() > 4096) return core::error::permanent("acknowledgement: note longer than 4096 bytes");
  if (a.acknowledged_at_ms < 0) return core::error::permanent("acknowledgement: acknowledged_at before 1970");
  if (!a.event_id.empty() && !core::is_uuid_v4(a.event_id)) {
    return core::error::permanent("acknowledgement: event_id is not a lowercase UUIDv4");
  }
  return core::ok_v;
}

events::v1::EventEnvelope acknowledgement_envelope(const acknowledgement& a, const std::string& producer_id,
                                                  std::int64_t now_ms) {
  const std::int64_t at = a.acknowledged_at_ms != 0 ? a.acknowledged_at_ms : now_ms;
  events::v1::EventEnvelope e;
  e.set_event_id(a.event_id.empty() ? core::new_uuid_v4() : a.event_id);
  e.set_event_type(k_alert_acknowledged_type);
  *e.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(at);
  *e.mutable_ingested_at() = TimeUtil::MillisecondsToTimestamp(now_ms);
  e.set_aggregate_id(a.animal_id);
  e.mutable_actor()->set_device_kind("user");
  e.mutable_actor()->set_device_id(a.acknowledged_by);
  e.mutable_actor()->set_gateway_id(producer_id);
  e.set_gateway_id(producer_id);
  e.set_gateway_seq(0);
  events::v1::AlertAcknowledged p;
  p.set_alert_id(a.alert_id);
  p.set_animal_id(a.animal_id);
  *p.mutable_acknowledged_at() = TimeUtil::MillisecondsToTimestamp(at);
  p.set_acknowledged_by(a.acknowledged_by);
  p.set_note(a.note);
  e.mutable_payload()->PackFrom(p);
  return e;
}

std::vector<std::pair<std::string, std::string>> acknowledgement_headers(const events::v1::EventEnvelope& e) {
  return {
      {"ce_specversion", "1.0"},
      {"ce_id", e.event_id()},
      {"ce_type", e.event_type()},
      {"ce_source", "/herd-api/" + e.gateway_id() + "/user/" + e.actor().device_id()},
      {"ce_time", core::iso8601_utc_ms(TimeUtil::TimestampToMilliseconds(e.occurred_at()))},
      {"ce_subject", e.aggregate_id()},
      {"content-type", "application/x-protobuf"},
  };
}

core::result<std::unique_ptr<acknowledger>> acknowledger::create(acknowledger_options o) {
  if (o.bootstrap.empty()) return core::error::fatal("acknowledger: bootstrap is empty");
  auto conf = detail::producer_conf(
      {{"bootstrap.servers", o.bootstrap},
       {"enable.idempotence", "true"},
       {"acks", "all"},
       {"partitioner", "murmur2_random"},  // the gateway's: the animal's partition
       {"message.timeout.ms", std::to_string(std::max<std::int64_t>(o.timeout.count(), 1000))},
       {"log_level", "4"}},
      o.properties);
  if (!conf) return conf.err();
  rd_kafka_conf_set_dr_msg_cb(*conf, acknowledgement_delivered);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return core::error::fatal(std::string("acknowledger: ") + err);
  }
  return std::unique_ptr<acknowledger>(std::make_unique<kafka_acknowledger>(std::move(o), rk));
}

}  // namespace herd::alerts
