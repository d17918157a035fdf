#pragma once
// Reading a small input file (config, registry) without trusting what the path points at.
//
// A path to /dev/zero, a FIFO or a huge file must give a clear error, not an endless read or an
// out-of-memory kill (issue 14, case 6). Thread: any. Blocking: at most one read of `max_bytes`.
#include <cstddef>
#include <string>

#include "herd/core/result.hpp"

namespace herd::core {

// The whole content of `path`, which must be a regular file (after following symlinks) of at most
// `max_bytes` bytes. Opens without blocking (a FIFO is refused, never waited on). Errors are
// permanent and start with the path and `what` ("config file", "collar registry"), e.g.
// "/dev/zero: the collar registry is not a regular file (a character device)".
result<std::string> read_bounded_file(const std::string& path, std::size_t max_bytes,
                                      const std::string& what);

}  // namespace herd::core
