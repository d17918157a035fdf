#pragma once
#include <string>

namespace herd::test_support {

// The CMake build tree (${CMAKE_BINARY_DIR}) the tests were built in, to find programs
// such as binary_dir() + "/cloud/herd-dev-kafka".
std::string binary_dir();

// The source tree (${CMAKE_SOURCE_DIR}), to find sample configs and test data.
std::string source_dir();

}  // namespace herd::test_support
