#pragma once
#include <string>

namespace herd::core {

// A random (version 4, RFC 9562) UUID in canonical lowercase 8-4-4-4-12 form.
// The 122 random bits come from the kernel CSPRNG (getrandom(2)); never from a seeded PRNG,
// so two gateways, or one gateway after a restart, never produce the same id.
std::string new_uuid_v4();

// True when `s` is a canonical lowercase UUID with version 4 and the RFC 4122 variant.
bool is_uuid_v4(const std::string& s);

}  // namespace herd::core
