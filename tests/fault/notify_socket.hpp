#pragma once
// The service manager's end of NOTIFY_SOCKET for fault tests that run herdgate as systemd would
// (watchdog_test, storage_faults_test): a unix datagram socket read by a thread of its own.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace herd::test {

using steady = std::chrono::steady_clock;

// The service manager's end of NOTIFY_SOCKET: a unix datagram socket the daemon sends to, read
// all the time by a thread of its own, as systemd reads it (the kernel queue holds only
// net.unix.max_dgram_qlen datagrams; herdgate drops a notification that does not fit).
class notify_socket {
 public:
  struct message {
    steady::time_point at;  // when it arrived
    std::string text;
  };
  explicit notify_socket(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (fd_ < 0 || path_.string().size() >= sizeof addr.sun_path) throw std::runtime_error("notify socket");
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error(std::string("bind notify socket: ") + std::strerror(errno));
    }
    reader_ = std::thread([this] { read_all(); });
  }
  ~notify_socket() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
  }
  notify_socket(const notify_socket&) = delete;
  notify_socket& operator=(const notify_socket&) = delete;
  const std::filesystem::path& path() const { return path_; }

  // The next datagram not yet taken, or nullopt if none came within `timeout`.
  std::optional<message> next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !queue_.empty(); })) return std::nullopt;
    auto m = std::move(queue_.front());
    queue_.pop_front();
    return m;
  }
  // Takes datagrams until one containing `what` (true) or `deadline` passes (false).
  bool wait_for(const std::string& what, std::chrono::milliseconds deadline) {
    const auto end = steady::now() + deadline;
    for (auto now = steady::now(); now < end; now = steady::now()) {
      auto m = next(std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
      if (m && m->text.find(what) != std::string::npos) return true;
    }
    return false;
  }
  std::string log() const {
    std::lock_guard lock(mu_);
    return log_;
  }

 private:
  void read_all() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0) continue;
      std::lock_guard lock(mu_);
      queue_.push_back({steady::now(), std::string(buf, static_cast<std::size_t>(n))});
      log_ += queue_.back().text + "\n---\n";
      cv_.notify_all();
    }
  }

  std::filesystem::path path_;
  int fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<message> queue_;
  std::string log_;
  std::atomic<bool> stop_{false};
  std::thread reader_;
};

}  // namespace herd::test
