#include "herd/projector/alert_outbox.hpp"

#include <google/protobuf/util/time_util.h>

#include "herd/core/time_format.hpp"
#include "herd/rules/alert_events.hpp"

namespace herd::projector {

read_model::outbox_message alert_outbox_message(const rules::alert_change& change, const std::string& topic,
                                                std::int64_t now_ms) {
  using google::protobuf::util::TimeUtil;
  auto env = rules::alert_event(change);
  *env.mutable_ingested_at() = TimeUtil::MillisecondsToTimestamp(now_ms);
  read_model::outbox_message m;
  m.topic = topic;
  m.key = change.animal_id;
  env.SerializeToString(&m.value);
  m.headers = {
      {"ce_specversion", "1.0"},
      {"ce_id", env.event_id()},
      {"ce_type", env.event_type()},
      {"ce_source", "/herd-projector/rules/" + std::string(rules::to_string(change.alert.kind))},
      {"ce_time", core::iso8601_utc_ms(TimeUtil::TimestampToMilliseconds(env.occurred_at()))},
      {"ce_subject", change.animal_id},
      {"content-type", "application/x-protobuf"},
  };
  return m;
}

}  // namespace herd::projector
