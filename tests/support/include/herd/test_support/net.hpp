#pragma once
#include <chrono>
#include <cstdint>

namespace herd::test_support {

// A loopback TCP port that was free a moment ago (bind 127.0.0.1:0, read, close).
// Another process may still take it before the caller binds; for servers that cannot
// bind port 0 themselves. Throws std::runtime_error on socket errors.
std::uint16_t free_port();

// True once a TCP connect to 127.0.0.1:port succeeds (the connection is closed again).
bool port_accepts(std::uint16_t port);
bool wait_port_accepts(std::uint16_t port, std::chrono::milliseconds deadline);

}  // namespace herd::test_support
