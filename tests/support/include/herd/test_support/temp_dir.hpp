#pragma once
#include <filesystem>
#include <string>

namespace herd::test_support {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
// Set HERD_KEEP_TMP=1 to keep it for a post-mortem (its path is then printed to stderr).
// Throws std::runtime_error if it cannot be created.
class temp_dir {
 public:
  temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir();

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& p) const { return path_ / p; }

 private:
  std::filesystem::path path_;
};

// The bytes of the file at `p`; empty if it cannot be opened (a log not written yet).
std::string read_file(const std::filesystem::path& p);

}  // namespace herd::test_support
