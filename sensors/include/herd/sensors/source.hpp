#pragma once
#include <string>

#include "herd/core/result.hpp"
#include "herd/sensors/reading.hpp"

namespace herd::sensors {

// Where a source delivers what it received. Each source calls it on its own threads (MQTT: Paho's
// delivery thread; Modbus: one thread per TCP device and per serial bus), so a sink shared by
// several sources must be thread-safe. Within one device, readings come in the device's order.
//
// Contract: return ok only once the reading is durably handled (stored, dead-lettered or
// recognised as a duplicate); the source acknowledges its device or broker (or marks a register
// record as seen) only after that. An error means "not stored": the source keeps the reading and
// retries.
class reading_sink {
 public:
  virtual ~reading_sink() = default;
  virtual core::status on_reading(const raw_message& raw, const reading& reading) = 0;
  virtual core::status on_rejected(const raw_message& raw, const std::string& reason) = 0;
};

}  // namespace herd::sensors
