#pragma once
// An envelope's Kafka record headers: CloudEvents' Kafka binary binding (CloudEvents 1.0, "Kafka
// Protocol Binding", binary content mode; DESIGN.md, "The event contract").
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

}  // namespace herd::forwarder
