#pragma once
#include <chrono>
#include <functional>

namespace herd::test_support {

// Polls `condition` every `poll` until it holds or `deadline` (from now) has passed.
// Checks once more at the deadline, so a condition that became true late still counts.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds poll = std::chrono::milliseconds(5));

}  // namespace herd::test_support
