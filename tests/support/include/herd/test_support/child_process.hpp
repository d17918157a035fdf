#pragma once
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace herd::test_support {

// An unprivileged account a child runs as (servers such as PostgreSQL refuse to run as root).
struct run_as_user {
  uid_t uid = 0;
  gid_t gid = 0;
  // Looks `name` up in the passwd database; throws std::runtime_error if there is no such user.
  static run_as_user named(const std::string& name);
};

// A program run by a test. stdout and stderr go (appended) to `log_dir/<log_name>`, default
// "<program file name>.log". The child starts with an empty signal mask and default signal
// actions, whatever the test process blocked, and gets SIGKILL if the spawning thread dies
// (PR_SET_PDEATHSIG), so a crashed or timed-out test leaves no broker behind.
// With `run_as`, the child drops to that user and group (supplementary groups cleared) before
// exec; the test process must be root for that. The log file is opened by the parent.
// Destruction SIGKILLs and reaps the child if it is still running.
// Not thread-safe: use one object from one thread.
class child_process {
 public:
  // Throws std::runtime_error if the program cannot be started (exec failure included).
  child_process(const std::string& program, const std::vector<std::string>& args,
                const std::filesystem::path& log_dir,
                const std::map<std::string, std::string>& extra_env = {},
                const std::string& log_name = {},
                const std::optional<run_as_user>& run_as = std::nullopt);
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();

  pid_t pid() const { return pid_; }
  // False once the child has exited (it is reaped here, and its status kept).
  bool running();
  // Sends `sig`; no-op after the child was reaped (its pid may belong to someone else by then).
  void signal(int sig);
  // SIGKILL and reap; returns at once if it has already exited.
  void kill9();
  // Waits up to `deadline` for the exit. The exit code if it exited, 128 + signal number if a
  // signal ended it (shell convention); nullopt if it still runs after the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline);

  const std::filesystem::path& log_path() const { return log_path_; }
  std::string log_text() const;

 private:
  void reap_if_exited(bool block);
  void kill_and_reap() noexcept;

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::filesystem::path log_path_;
};

// Runs `cmd` (program, then its arguments) to its end, output appended to log_dir/commands.log.
// Returns its exit code (128 + signal if a signal ended it), or -1 if it still ran after
// `deadline` (it is then killed). Throws std::runtime_error if it cannot be started.
int run_command(const std::vector<std::string>& cmd, const std::filesystem::path& log_dir,
                std::chrono::milliseconds deadline = std::chrono::seconds(60));

}  // namespace herd::test_support
