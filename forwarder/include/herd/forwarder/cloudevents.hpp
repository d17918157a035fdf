#pragma once
// An envelope's Kafka record headers: CloudEvents' Kafka binary binding (CloudEvents 1.0, "Kafka
// Protocol Binding", binary content mode; DESIGN.md, "The event contract").
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "herd/events/v1/envelope.pb.h"

namespace herd::forwarder {

// ce_specversion, ce_id, ce_type, ce_source, ce_time (ISO-8601 UTC, ms), ce_subject, content-type,
// and the extension ce_clockquality (synced, unsynced, stepped) when the envelope states its
// gateway clock quality. Pure; any thread; no errors (an unset field gives an empty value).
std::vector<std::pair<std::string, std::string>> cloudevents_headers(
    const events::v1::EventEnvelope& e);
// The same headers, in the same order, into `out` (resized to them; its strings reused, so a
// caller that keeps `out` from one event to the next allocates nothing once they are long enough:
// the forwarder builds one set per event).
void cloudevents_headers_into(const events::v1::EventEnvelope& e,
                              std::vector<std::pair<std::string, std::string>>& out);

// Builds one event's headers after another from the envelopes' bytes (an outbox row's value),
// reusing its memory from one event to the next (issue 15, goal 6: per event, a plain parse and a
// fresh header list were ~20 malloc and free calls, most of the forwarder's allocations). The
// envelope is parsed on a protobuf arena whose first block (4 KiB) is reused: a plain message's
// Clear() deletes its sub-messages (actor, payload, timestamps), so parsing into one allocated
// them again for every event; only strings longer than 15 bytes (std::string's own buffers, not
// arena memory) still allocate. Thread: one at a time.
class cloudevents_builder {
 public:
  cloudevents_builder();
  ~cloudevents_builder();
  cloudevents_builder(const cloudevents_builder&) = delete;
  cloudevents_builder& operator=(const cloudevents_builder&) = delete;
  // The headers of the envelope in `envelope_bytes` (as cloudevents_headers), valid until the next
  // call; nullptr when the bytes are not a valid EventEnvelope.
  const std::vector<std::pair<std::string, std::string>>* build(const std::string& envelope_bytes);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::forwarder
