#pragma once
#include "herd/core/result.hpp"
#include "herd/sensors/reading.hpp"

namespace herd::sensors {

// Where a source delivers what it received. Called on the source's own delivery thread, one
// message at a time, in arrival order.
//
// Contract: return ok only once the message is durably handled (stored, dead-lettered or
// recognised as a duplicate); the source acknowledges its device or broker only after that.
// An error means "not stored": the source keeps the message unacknowledged and retries.
class reading_sink {
 public:
  virtual ~reading_sink() = default;
  virtual core::status on_reading(const raw_message& raw, const collar_reading& reading) = 0;
  virtual core::status on_rejected(const raw_message& raw, const std::string& reason) = 0;
};

}  // namespace herd::sensors
