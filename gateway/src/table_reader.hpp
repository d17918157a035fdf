#pragma once
// The strict TOML table reader, shared with herd-projector: herd/daemon/toml_reader.hpp.
#include "herd/daemon/toml_reader.hpp"

namespace herd::gateway {
using daemon::table_reader;
}  // namespace herd::gateway
