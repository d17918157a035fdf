#pragma once
// herdgate under systemd (Type=notify): sd_notify(3) messages and the watchdog rule.
//
// READY=1 once the MQTT subscriptions are in place, STATUS= lines with the pipeline's counters,
// STOPPING=1 on SIGTERM, and WATCHDOG=1 every WatchdogSec/2, but only while the pipeline is alive:
// a hung pipeline stops the pings and systemd restarts the service (Restart=always), which is
// safe because everything acknowledged to the broker is in the outbox.
//
// Liveness is the forwarder's loop heartbeat (it goes round at least once a second, also idle or
// backing off while Kafka is down). A heartbeat older than the stall limit means the forwarder is
// stuck, e.g. in a write to storage that does not return (a dying SD card). Ingest shares the
// outbox's write lock and file with the forwarder, so a hung ingest stalls the forwarder's next
// acknowledgement too. Deliberately not judged: the MQTT connection (the source reconnects by
// itself, and a restart does not bring a broker back) and ingest held in backpressure (the
// outbox quota while Kafka is away is a state to wait out, not a hang).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "herd/daemon/systemd_notifier.hpp"
#include "herd/gateway/app.hpp"

namespace herd::gateway {

using daemon::systemd_notifier;  // herd/daemon/systemd_notifier.hpp

// How old the forwarder's heartbeat may be before the pipeline counts as hung: half the watchdog
// timeout, but never under 6 s, so that SQLite's 5 s busy timeout (an operator's sqlite3 shell
// holding a lock) is not taken for a hang.
std::chrono::milliseconds stall_limit(std::chrono::microseconds watchdog_timeout);

// Why the pipeline is not alive at `now_steady_ms` (steady_clock ms), or nullopt when it is.
// `started_steady_ms`: when the pipeline started (a heartbeat of 0 means not yet beaten).
std::optional<std::string> pipeline_problem(const app::stats& s, std::int64_t now_steady_ms,
                                            std::int64_t started_steady_ms,
                                            std::chrono::milliseconds limit);

// One STATUS= line from the counters (atomics only: it never waits on storage).
std::string status_line(const app::stats& s);

}  // namespace herd::gateway
