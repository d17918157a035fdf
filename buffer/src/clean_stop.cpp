#include "clean_stop.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <random>

#include "recovery.hpp"

namespace herd::buffer::detail {

namespace {

// "<size> <mtime seconds> <mtime nanoseconds>" of the file, or "" if it cannot be read.
std::string identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + " " +
         std::to_string(st.st_mtim.tv_nsec);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A -wal or -journal beside the file: the last close did not finish (or another process has it).
bool journal_left(const std::string& path) { return exists(path + "-wal") || exists(path + "-journal"); }

core::error io_error(const std::string& what) {
  return core::error::retriable("outbox clean-stop marker: " + what + ": " + std::strerror(errno), "outbox.io");
}

}  // namespace

std::string clean_stop_marker(const std::string& path) { return path + ".clean-stop"; }

core::status write_clean_stop_marker(const std::string& path, const std::string& payload) {
  if (journal_left(path)) return core::ok_v;  // not a clean close: no marker, the next open checks
  // The file's modification time is set to now with random nanoseconds: a later write by anyone
  // stamps the kernel's clock, whose coarse ticks (~4 ms) would otherwise let a write right after
  // this one keep the recorded time; a random nanosecond value it matches by chance only.
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  std::random_device rd;
  const struct timespec times[2] = {{0, UTIME_OMIT}, {now.tv_sec, static_cast<long>(rd() % 1'000'000'000U)}};
  if (::utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) return io_error("set the modification time of " + path);
  const std::string id = identity(path);
  if (id.empty()) return io_error("stat " + path);
  const std::string marker = clean_stop_marker(path);
  const std::string tmp = marker + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("create " + tmp);
  const std::string text = id + "\n" + payload;
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written) {
    errno = saved;
    ::unlink(tmp.c_str());
    return io_error("write " + tmp);
  }
  if (::rename(tmp.c_str(), marker.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return io_error("rename " + tmp);
  }
  fsync_dir(marker);
  return core::ok_v;
}

bool take_clean_stop_marker(const std::string& path, std::string* payload) {
  const std::string marker = clean_stop_marker(path);
  std::ifstream in(marker);
  if (!in) return false;
  std::string recorded;
  std::getline(in, recorded);
  std::string rest{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  in.close();
  const bool clean = !recorded.empty() && recorded == identity(path) && !journal_left(path);
  ::unlink(marker.c_str());
  fsync_dir(marker);  // gone for good before the file is written: a crash now leaves no marker
  if (clean && payload != nullptr) *payload = std::move(rest);
  return clean;
}

}  // namespace herd::buffer::detail
