#pragma once
// One alert lifecycle change as a herd.alerts outbox message (read model table `outbox`), written
// by the applier in the same transaction as the alert row, produced by the relay after commit
// (herd/alerts/relay.hpp). README: "herd.alerts".
//   key     the animal id (the relay partitions with murmur2, like the gateway: one animal, one
//           partition, so per-animal order holds)
//   value   the serialized EventEnvelope of rules::alert_event(change): event_type
//           alert.{raised,updated,resolved,acknowledged}.v1, deterministic event_id
//           "<alert_id>/<change>/<event-time ms>", occurred_at = the change's event time,
//           ingested_at = when the projector derived it (wall clock), actor {rules, <kind>}
//   headers CloudEvents 1.0 Kafka binary mode, as the gateway's herd.events (README): ce_specversion
//           1.0, ce_id = event_id, ce_type = event_type, ce_source /herd-projector/rules/<kind>,
//           ce_time = occurred_at (ISO-8601 UTC ms), ce_subject = animal, content-type
//           application/x-protobuf. The relay adds herd_outbox_seq.
#include <cstdint>
#include <string>

#include "herd/read_model/rows.hpp"
#include "herd/rules/alert.hpp"

namespace herd::projector {

// `now_ms`: the projector's wall clock (ingested_at). Pure otherwise; thread: any.
read_model::outbox_message alert_outbox_message(const rules::alert_change& change, const std::string& topic,
                                                std::int64_t now_ms);

}  // namespace herd::projector
