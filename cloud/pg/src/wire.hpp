#pragma once
// PostgreSQL's binary wire format, shared by params.cpp and copy.cpp (one definition, so a
// unity build that joins them sees it once).
#include <cstddef>
#include <string>
#include <type_traits>

namespace herd::pg::wire {

// `v` big-endian (network order), as every binary send function writes integers.
template <class U>
void put_be(std::string& out, U v) {
  static_assert(std::is_unsigned_v<U>);
  char buf[sizeof(U)];
  for (std::size_t i = 0; i < sizeof(U); ++i) {
    buf[sizeof(U) - 1 - i] = static_cast<char>(v & 0xffu);
    v = static_cast<U>(v >> 8);
  }
  out.append(buf, sizeof(U));
}

}  // namespace herd::pg::wire
