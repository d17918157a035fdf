#include <herd/test_support/child_process.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <herd/test_support/temp_dir.hpp>

extern char** environ;  // NOLINT: POSIX global

namespace herd::test_support {
namespace {

std::runtime_error sys_error(const std::string& what, int err) {
  return std::runtime_error("child_process: " + what + ": " + std::strerror(err));
}

// execve needs a path; resolve bare names here, since the child may not allocate.
std::string resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return program;  // exec will fail with ENOENT, reported through the pipe
}

std::vector<std::string> build_env(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (extra.count(entry.substr(0, eq)) == 0) env.push_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int decode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// Runs in the forked child of a possibly multi-threaded parent: async-signal-safe calls only.
[[noreturn]] void exec_child(pid_t parent, int log_fd, int null_fd, int error_pipe,
                             const char* path, char* const* argv, char* const* envp,
                             const run_as_user* run_as) {
  if (run_as != nullptr) {
    // Group first: once the uid is dropped, setgid is no longer allowed.
    if (::setgroups(0, nullptr) != 0 || ::setgid(run_as->gid) != 0 ||
        ::setuid(run_as->uid) != 0) {
      const int err = errno;
      [[maybe_unused]] auto n = ::write(error_pipe, &err, sizeof err);
      ::_exit(127);
    }
  }
  // After the credential change: changing the uid clears the parent-death signal.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // fails for KILL/STOP
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
  // No descriptor of the parent beyond stdio survives the exec. A socket some library opened
  // without CLOEXEC (librdkafka's mock cluster accepts its connections so) would otherwise stay
  // open in the child after the parent closed it: a dev Kafka broker set down kept one
  // connection alive, with no FIN to the gateway, for as long as a herd-sim child lived.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // kernels before 5.11
  }
  ::execve(path, argv, envp);
  const int err = errno;
  [[maybe_unused]] auto n = ::write(error_pipe, &err, sizeof err);
  ::_exit(127);
}

}  // namespace

run_as_user run_as_user::named(const std::string& name) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  const int rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    throw std::runtime_error("child_process: no user " + name +
                             (rc != 0 ? std::string(": ") + std::strerror(rc) : std::string()));
  }
  return {pw.pw_uid, pw.pw_gid};
}

child_process::child_process(const std::string& program, const std::vector<std::string>& args,
                             const std::filesystem::path& log_dir,
                             const std::map<std::string, std::string>& extra_env,
                             const std::string& log_name,
                             const std::optional<run_as_user>& run_as) {
  const std::string path = resolve(program);
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = build_env(extra_env);
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<char*> envp = c_strings(env_strings);

  log_path_ = log_dir / (log_name.empty() ? std::filesystem::path(program).filename().string() + ".log"
                                          : log_name);
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw sys_error("open " + log_path_.string(), errno);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int error_pipe[2];
  if (null_fd < 0 || ::pipe2(error_pipe, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    throw sys_error("pipe", err);
  }

  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    exec_child(parent, log_fd, null_fd, error_pipe[1], path.c_str(), argv.data(), envp.data(),
               run_as ? &*run_as : nullptr);
  }
  const int fork_errno = errno;
  ::close(log_fd);
  ::close(null_fd);
  ::close(error_pipe[1]);
  if (pid_ < 0) {
    ::close(error_pipe[0]);
    throw sys_error("fork", fork_errno);
  }

  // The pipe closes on a successful exec (CLOEXEC); otherwise it carries exec's errno.
  int exec_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(error_pipe[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  ::close(error_pipe[0]);
  if (n > 0) {
    reap_if_exited(true);
    throw sys_error("exec " + path, exec_errno);
  }
}

child_process::child_process(child_process&& other) noexcept
    : pid_(other.pid_), exit_status_(other.exit_status_), log_path_(std::move(other.log_path_)) {
  other.pid_ = -1;
}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = other.pid_;
    exit_status_ = other.exit_status_;
    log_path_ = std::move(other.log_path_);
    other.pid_ = -1;
  }
  return *this;
}

child_process::~child_process() { kill_and_reap(); }

void child_process::kill_and_reap() noexcept {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGKILL);
    reap_if_exited(true);
  }
}

void child_process::reap_if_exited(bool block) {
  if (pid_ <= 0 || exit_status_) return;
  int status = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_status_ = decode(status);
  } else if (r < 0) {
    exit_status_ = -1;  // ECHILD: reaped elsewhere (e.g. SIGCHLD ignored); it is gone either way
  }
}

bool child_process::running() {
  reap_if_exited(false);
  return pid_ > 0 && !exit_status_;
}

void child_process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void child_process::kill9() { kill_and_reap(); }

std::optional<int> child_process::wait_exit(std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (running() && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  reap_if_exited(false);
  return exit_status_;
}

std::string child_process::log_text() const { return read_file(log_path_); }

int run_command(const std::vector<std::string>& cmd, const std::filesystem::path& log_dir,
                std::chrono::milliseconds deadline) {
  child_process p(cmd.front(), {cmd.begin() + 1, cmd.end()}, log_dir, {}, "commands.log");
  return p.wait_exit(deadline).value_or(-1);
}

}  // namespace herd::test_support
