#include "herd/core/bounded_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace herd::core {

namespace {

const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

result<std::string> read_bounded_file(const std::string& path, std::size_t max_bytes,
                                      const std::string& what) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const fd_guard f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
  if (f.fd < 0) {
    return error::permanent(path + ": cannot read the " + what + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    return error::permanent(path + ": cannot read the " + what + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return error::permanent(path + ": the " + what + " is not a regular file (" + kind_of(st.st_mode) + ")");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return error::permanent(path + ": the " + what + " is " + std::to_string(st.st_size) +
                            " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  std::string out;
  out.resize(static_cast<std::size_t>(st.st_size) + 1);  // +1: notice a file that grew meanwhile
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(f.fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return error::permanent(path + ": cannot read the " + what + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
    if (got > max_bytes) {
      return error::permanent(path + ": the " + what + " grew beyond the limit of " +
                              std::to_string(max_bytes) + " bytes while being read");
    }
    if (got == out.size() && got <= max_bytes) out.resize(std::min(out.size() * 2, max_bytes + 1));
  }
  out.resize(got);
  return out;
}

}  // namespace herd::core
