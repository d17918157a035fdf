#pragma once
// Storage faults on demand, in-process: a SQLite VFS that wraps the default (unix) one and, while
// a fault is set, fails writes to files whose path contains a given text, as a full disk, a
// failing device or a read-only remount would. Installed as the default VFS, so the code under
// test opens its files through it unchanged. For unit and in-process fault tests.
//
// Threading: set()/clear() from any thread; the VFS reads the fault atomically on each call.
#include <string>

namespace herd::test_support {

enum class storage_fault {
  none,
  full,      // writes fail with SQLITE_FULL (ENOSPC)
  io,        // writes and syncs fail with SQLITE_IOERR_WRITE / _FSYNC, errno EIO
  readonly,  // writes fail with SQLITE_IOERR_WRITE, errno EROFS (a read-only remount)
};

class fault_vfs {
 public:
  // Registers the VFS as SQLite's default (once per process) for files whose path contains
  // `path_part`; the fault starts as none. One instance at a time.
  explicit fault_vfs(std::string path_part);
  ~fault_vfs();  // clears the fault; the VFS stays registered (and transparent)
  fault_vfs(const fault_vfs&) = delete;
  fault_vfs& operator=(const fault_vfs&) = delete;

  void set(storage_fault f);
  void clear() { set(storage_fault::none); }
  // Writes refused since construction.
  long refused() const;
};

}  // namespace herd::test_support
