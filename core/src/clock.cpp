#include "herd/core/clock.hpp"

#include <chrono>

namespace herd::core {

std::int64_t system_clock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace herd::core
