#include "herd/forwarder/cloudevents.hpp"

#include <google/protobuf/arena.h>
#include <google/protobuf/util/time_util.h>

#include <array>

#include "herd/core/time_format.hpp"

namespace herd::forwarder {

namespace {

// The extension attribute's value for a stated clock quality; nullptr when unstated (no header).
const char* clock_quality_value(events::v1::ClockQuality q) {
  switch (q) {
    case events::v1::CLOCK_QUALITY_SYNCED: return "synced";
    case events::v1::CLOCK_QUALITY_UNSYNCED: return "unsynced";
    case events::v1::CLOCK_QUALITY_STEPPED: return "stepped";
    default: return nullptr;
  }
}

}  // namespace

void cloudevents_headers_into(const events::v1::EventEnvelope& e, std::vector<std::pair<std::string, std::string>>& out) {
  using google::protobuf::util::TimeUtil;
  const char* quality = clock_quality_value(e.gateway_clock_quality());
  out.resize(quality != nullptr ? 8 : 7);
  // Assigned in place: the strings keep their capacity from the previous event (no allocation).
  out[0].first.assign("ce_specversion");
  out[0].second.assign("1.0");
  out[1].first.assign("ce_id");
  out[1].second.assign(e.event_id());
  out[2].first.assign("ce_type");
  out[2].second.assign(e.event_type());
  out[3].first.assign("ce_source");
  auto& source = out[3].second;
  source.assign("/herdgate/");
  source.append(e.gateway_id()).append("/").append(e.actor().device_kind()).append("/").append(e.actor().device_id());
  out[4].first.assign("ce_time");
  core::iso8601_utc_ms_into(TimeUtil::TimestampToMilliseconds(e.occurred_at()), out[4].second);
  out[5].first.assign("ce_subject");
  out[5].second.assign(e.aggregate_id());
  out[6].first.assign("content-type");
  out[6].second.assign("application/x-protobuf");
  // A CloudEvents extension attribute (lower-case letters and digits only), so a consumer can
  // route or filter on it without decoding the envelope.
  if (quality != nullptr) {
    out[7].first.assign("ce_clockquality");
    out[7].second.assign(quality);
  }
}

std::vector<std::pair<std::string, std::string>> cloudevents_headers(const events::v1::EventEnvelope& e) {
  std::vector<std::pair<std::string, std::string>> h;
  cloudevents_headers_into(e, h);
  return h;
}

struct cloudevents_builder::impl {
  impl() : arena(options(block)) {}
  static google::protobuf::ArenaOptions options(std::array<char, 4096>& b) {
    google::protobuf::ArenaOptions o;
    o.initial_block = b.data();
    o.initial_block_size = b.size();
    return o;
  }
  // An outbox envelope is ~250-500 bytes; a larger one takes blocks from the heap, freed at the
  // next build (Reset keeps only the initial block).
  alignas(8) std::array<char, 4096> block{};  // before `arena`, which is built on it
  google::protobuf::Arena arena;
  std::vector<std::pair<std::string, std::string>> headers;
};

cloudevents_builder::cloudevents_builder() : impl_(std::make_unique<impl>()) {}
cloudevents_builder::~cloudevents_builder() = default;

const std::vector<std::pair<std::string, std::string>>* cloudevents_builder::build(const std::string& envelope_bytes) {
  impl_->arena.Reset();
  auto* e = google::protobuf::Arena::CreateMessage<events::v1::EventEnvelope>(&impl_->arena);
  if (!e->ParseFromString(envelope_bytes)) return nullptr;
  cloudevents_headers_into(*e, impl_->headers);
  return &impl_->headers;
}

}  // namespace herd::forwarder
