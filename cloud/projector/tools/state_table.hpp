#pragma once
// The per-animal state table herd-projector animals prints (the demo's last screen).
#include <ostream>

#include "herd/read_model/store.hpp"

namespace herd::projector {
bool print_state_table(read_model::store& s, std::ostream& out);
}
