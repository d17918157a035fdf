#include "herd/sensors/reading.hpp"

#include <fmt/format.h>

namespace herd::sensors {

std::string scale_weighing::animal_id() const {
  return fmt::format("{:03}{:012}", country_code, national_id);
}

reading make_reading(collar_reading r, std::string via) {
  reading out;
  out.event_type = k_collar_reading_type;
  out.source = {"collar", r.collar_id, std::move(via)};
  out.source_seq = r.seq;
  out.source_ts_ms = r.ts_ms;
  out.payload = std::move(r);
  return out;
}

reading make_reading(scale_weighing w, std::string via) {
  reading out;
  out.event_type = k_scale_weight_type;
  out.source = {"scale", w.scale_id, std::move(via)};
  out.source_seq = w.weighing_seq;
  out.source_ts_ms = w.ts_ms;
  out.payload = std::move(w);
  return out;
}

}  // namespace herd::sensors
