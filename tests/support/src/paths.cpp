#include <herd/test_support/paths.hpp>

// Both come from tests/support/CMakeLists.txt.
#ifndef HERD_BINARY_DIR
#error "HERD_BINARY_DIR must be defined by the build"
#endif
#ifndef HERD_SOURCE_DIR
#error "HERD_SOURCE_DIR must be defined by the build"
#endif

namespace herd::test_support {

std::string binary_dir() { return HERD_BINARY_DIR; }
std::string source_dir() { return HERD_SOURCE_DIR; }

}  // namespace herd::test_support
