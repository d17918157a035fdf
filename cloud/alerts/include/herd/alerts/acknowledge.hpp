#pragma once
// Acknowledging an alert (issue 10; used by the query API, issue 11): a user's acknowledgement
// is a COMMAND EVENT `alert.acknowledged.v1` written into herd.events, keyed by the animal, so it
// lands in the animal's partition after the readings that raised the alert, the projector folds
// it like any event (rules::apply) and a rebuild, from the topic or from the event store, keeps
// it. The projector then writes the `acknowledged` lifecycle change (alerts row +
// herd.alerts message). Nothing here touches the read model.
//
// The envelope a non-gateway producer writes (README, "Acknowledging an alert"):
//   event_id      UUIDv4 minted here (or the caller's idempotency id, see acknowledgement)
//   event_type    "alert.acknowledged.v1"
//   occurred_at   acknowledged_at (the user's action, wall clock of the API host, UTC)
//   ingested_at   when this library produced it (wall clock, UTC)
//   aggregate_id  the animal
//   actor         device_kind "user", device_id = acknowledged_by, gateway_id = producer_id
//   gateway_id    producer_id (e.g. "herd-api"); gateway_seq 0 (no gateway outbox behind it)
//   occurred_at_source TIME_SOURCE_UNSPECIFIED, gateway_clock_quality CLOCK_QUALITY_UNSPECIFIED
//   payload       herd.events.v1.AlertAcknowledged {alert_id, animal_id, acknowledged_at,
//                 acknowledged_by, note} (`alert` left unset: the fold fills the lifecycle event)
// Kafka record: key = animal id, partitioner murmur2_random (the gateway's, so the same
// partition as the animal's readings), idempotent producer, acks=all, CloudEvents headers
// ce_specversion 1.0, ce_id = event_id, ce_type, ce_source "/herd-api/<producer_id>/user/<by>",
// ce_time = acknowledged_at, ce_subject = animal, content-type application/x-protobuf.
//
// A second acknowledgement of the same alert is stored but changes nothing (the fold ignores it);
// an acknowledgement of an alert the animal's state does not know is stored and changes nothing.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/events/v1/envelope.pb.h"

namespace herd::alerts {

inline constexpr const char* k_alert_acknowledged_type = "alert.acknowledged.v1";

struct acknowledgement {
  std::string alert_id;             // the alert (alerts.alert_id / herd.alerts), required
  std::string animal_id;            // the alert's animal (alerts.animal_id), required: the Kafka key
  std::string acknowledged_by;      // the user, required, at most 256 bytes
  std::int64_t acknowledged_at_ms = 0;  // ms since the epoch, UTC; 0 = now (wall clock)
  std::string note;                 // optional free text, at most 4096 bytes
  // Optional idempotency id (a UUIDv4, e.g. from the HTTP request's Idempotency-Key): a retried
  // request with the same id is the same event (the projector's event store drops the copy).
  // Empty = a fresh UUIDv4.
  std::string event_id;
};

// Checks the fields (limits above). Errors: permanent, naming the field.
core::status validate(const acknowledgement& a);

// The herd.events envelope of an acknowledgement (pure apart from the fresh UUID when
// a.event_id is empty and the clock when acknowledged_at_ms is 0). Thread: any.
events::v1::EventEnvelope acknowledgement_envelope(const acknowledgement& a, const std::string& producer_id,
                                                  std::int64_t now_ms);

// The CloudEvents binary-mode headers of that envelope.
std::vector<std::pair<std::string, std::string>> acknowledgement_headers(const events::v1::EventEnvelope& e);

struct acknowledger_options {
  std::string bootstrap;                          // Kafka bootstrap servers, required
  std::string topic = "herd.events";              // the stream the projector folds
  std::string producer_id = "herd-api";           // envelope gateway_id / actor.gateway_id
  std::chrono::milliseconds timeout{10'000};      // acknowledge() waits at most this for the broker
  std::map<std::string, std::string> properties;  // extra librdkafka properties (security.protocol...)
};

// A small idempotent Kafka producer for acknowledgements. Thread-safe: acknowledge() may be
// called from several threads at once (each call waits for its own delivery report).
class acknowledger {
 public:
  // Errors: fatal = bad properties (enable.idempotence, acks, partitioner are fixed).
  static core::result<std::unique_ptr<acknowledger>> create(acknowledger_options options);
  virtual ~acknowledger() = default;

  // Validates, produces the event and waits until the broker acknowledged it (acks=all) or
  // options.timeout passed. Returns the event_id. Errors: permanent = invalid input (nothing
  // sent); retriable = not acknowledged in time / Kafka unavailable (it may still arrive later:
  // retry with the SAME event_id so a late copy is dropped as a duplicate).
  virtual core::result<std::string> acknowledge(const acknowledgement& a) = 0;
};

}  // namespace herd::alerts
