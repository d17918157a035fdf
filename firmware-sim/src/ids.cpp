#include "herd/sim/ids.hpp"

#include <fmt/format.h>

namespace herd::sim {

std::string collar_id(int index) { return fmt::format("C-{:05}", index + 1); }

std::string animal_id(int index) { return fmt::format("276{:012}", index + 1); }

}  // namespace herd::sim
