// A process's memory and CPU time as /proc shows them, for bench/ programs that measure a child
// process (herdgate). Header-only.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace herd::bench {

// A process's memory, kB: VmRSS, VmHWM, and VmRSS split into anonymous memory (heap, stacks,
// SQLite's page caches) and file-backed pages (the program and its shared libraries: clean,
// reclaimable, and shared with every other process that maps them) from /proc/<pid>/status; and
// its proportional set size (each shared page divided by the processes mapping it) from
// /proc/<pid>/smaps_rollup.
struct rss_figures {
  long rss = 0, hwm = 0, anon = 0, file = 0, pss = 0;
};
inline rss_figures rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  rss_figures r;
  const auto field = [](const std::string& line, const char* name, long& out) {
    if (line.rfind(name, 0) == 0) out = std::stol(line.substr(std::char_traits<char>::length(name)));
  };
  for (std::string line; std::getline(in, line);) {
    field(line, "VmRSS:", r.rss);
    field(line, "VmHWM:", r.hwm);
    field(line, "RssAnon:", r.anon);
    field(line, "RssFile:", r.file);
  }
  std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
  for (std::string line; std::getline(rollup, line);) field(line, "Pss:", r.pss);
  return r;
}

// A process's CPU time so far (/proc/<pid>/stat utime and stime), seconds.
struct cpu_times {
  double user = 0, sys = 0;
};
// utime and stime of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat file, seconds.
inline cpu_times stat_cpu(const std::string& stat_path) {
  std::ifstream in(stat_path);
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (stat.rfind(')') == std::string::npos) return {};
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));  // after "(comm) ": field 3 on
  std::vector<std::string> f{std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
  if (f.size() < 13) return {};
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return {std::stod(f[11]) / tick, std::stod(f[12]) / tick};  // fields 14 and 15
}
inline cpu_times cpu_of(pid_t pid) { return stat_cpu("/proc/" + std::to_string(pid) + "/stat"); }
// The same, user + system together, seconds.
inline double process_cpu_s(pid_t pid) {
  const cpu_times t = cpu_of(pid);
  return t.user + t.sys;
}

// CPU time so far (seconds) of each live thread of `pid` whose name (/proc/<pid>/task/<tid>/comm)
// starts with `prefix`, by tid: e.g. "rdk:" for librdkafka's threads (rdk:main, rdk:broker<N>).
// Clock ticks (10 ms): over a short run each thread's figure is +-0.01 s. Threads that exited are
// not there; an unreadable /proc (the process ended) gives what was read so far.
inline std::map<long, double> threads_cpu(pid_t pid, const std::string& prefix) {
  std::map<long, double> out;
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/task", ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::ifstream comm(it->path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind(prefix, 0) != 0) continue;
    const cpu_times c = stat_cpu((it->path() / "stat").string());
    out[std::stol(it->path().filename().string())] = c.user + c.sys;
  }
  return out;
}

// What the threads of `after` (threads_cpu) spent since `before`, seconds: a thread new since
// `before` counts whole. `exited`: how many threads of `before` are gone from `after` (what they
// spent after `before` is not in the sum).
inline double threads_cpu_since(const std::map<long, double>& before, const std::map<long, double>& after,
                                int* exited = nullptr) {
  double sum = 0;
  for (const auto& [tid, s] : after) {
    const auto b = before.find(tid);
    sum += s - (b != before.end() ? b->second : 0.0);
  }
  if (exited != nullptr) {
    *exited = 0;
    for (const auto& [tid, s] : before) *exited += after.count(tid) == 0;
  }
  return sum;
}

// The calling process's own CPU time so far, all its threads (getrusage RUSAGE_SELF: microsecond
// resolution, where /proc/<pid>/stat counts clock ticks), seconds.
inline cpu_times self_cpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return {s(u.ru_utime), s(u.ru_stime)};
}
inline double self_cpu_s() {
  const cpu_times t = self_cpu();
  return t.user + t.sys;
}

}  // namespace herd::bench
