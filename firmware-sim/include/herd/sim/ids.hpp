#pragma once
// Identities of simulated collars and animals. Index 0 is the first collar.
#include <string>

namespace herd::sim {

// Fixed width keeps ids sortable; the fleet is limited to this many collars.
inline constexpr int k_max_collars = 99'999;

// "C-00001" for index 0.
std::string collar_id(int index);

// ISO 11784 style, 15 digits: country code 276 (Germany) + 12-digit national id,
// "276000000000001" for index 0.
std::string animal_id(int index);

}  // namespace herd::sim
