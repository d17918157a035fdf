#include <herd/test_support/temp_dir.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace herd::test_support {

temp_dir::temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                        "/herd-test-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("temp_dir: mkdtemp(" + pattern + "): " + std::strerror(errno));
  }
  path_ = buf.data();
}

temp_dir::~temp_dir() {
  if (std::getenv("HERD_KEEP_TMP") != nullptr) {
    std::cerr << "temp_dir: keeping " << path_ << " (HERD_KEEP_TMP)\n";
    return;
  }
  std::error_code ec;  // a destructor must not throw; a leftover dir in /tmp is harmless
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace herd::test_support
