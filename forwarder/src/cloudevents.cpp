#include "herd/forwarder/cloudevents.hpp"

#include <google/protobuf/util/time_util.h>

#include "herd/core/time_format.hpp"

namespace herd::forwarder {

std::vector<std::pair<std::string, std::string>> cloudevents_headers(
    const events::v1::EventEnvelope& e) {
  using google::protobuf::util::TimeUtil;
  std::vector<std::pair<std::string, std::string>> h = {
      {"ce_specversion", "1.0"},
      {"ce_id", e.event_id()},
      {"ce_type", e.event_type()},
      {"ce_source", "/herdgate/" + e.gateway_id() + "/" + e.actor().device_kind() + "/" +
                        e.actor().device_id()},
      {"ce_time", core::iso8601_utc_ms(TimeUtil::TimestampToMilliseconds(e.occurred_at()))},
      {"ce_subject", e.aggregate_id()},
      {"content-type", "application/x-protobuf"},
  };
  // A CloudEvents extension attribute (lower-case letters and digits only), so a consumer can
  // route or filter on it without decoding the envelope.
  switch (e.gateway_clock_quality()) {
    case events::v1::CLOCK_QUALITY_SYNCED: h.emplace_back("ce_clockquality", "synced"); break;
    case events::v1::CLOCK_QUALITY_UNSYNCED: h.emplace_back("ce_clockquality", "unsynced"); break;
    case events::v1::CLOCK_QUALITY_STEPPED: h.emplace_back("ce_clockquality", "stepped"); break;
    default: break;  // unstated: no header
  }
  return h;
}

}  // namespace herd::forwarder
