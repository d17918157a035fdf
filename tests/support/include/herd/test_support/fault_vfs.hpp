#pragma once
// Storage faults on demand, in-process: a SQLite VFS that wraps the default (unix) one and, while
// a fault is set, fails writes to files whose path contains a given text, as a full disk, a
// failing device or a read-only remount would. Installed as the default VFS, so the code under
// test opens its files through it unchanged. For unit and in-process fault tests.
//
// Threading: set()/clear(), hold/release from any thread; the VFS reads the fault atomically on each call.
#include <string>
#include <vector>

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

  // A slow device: while held, an fsync of a target WAL file waits until release() (or the
  // destructor). With synchronous = normal only the outbox's checkpointer syncs the WAL (its timed
  // sync, or a checkpoint before it copies), so this holds the checkpointer.
  void hold_wal_syncs();
  void release();
  // WAL syncs that are waiting (or waited) since construction.
  long held_syncs() const;
  // Syncs of target files (database, WAL, journal) passed on to the disk since construction:
  // SQLite's xSync, one fsync or fdatasync each.
  long syncs() const;

  // A power cut, as the disk would see it: from construction on, every write to a target file
  // keeps an undo record (the bytes it overwrote, the size the file had at its last sync) until a
  // sync of that file by any connection (an fsync covers the whole file, whichever descriptor).
  // power_cut_copy() copies `files` (target files, by path) to `copies` as they would be found
  // after a power cut now: every write since the file's last sync taken back, in reverse order.
  // The live files are not touched. Writes wait while it copies, so the copies are one instant.
  // The -shm file is not copied: SQLite rebuilds it from the WAL, as after a reboot.
  void power_cut_copy(const std::vector<std::string>& files, const std::vector<std::string>& copies) const;
};

}  // namespace herd::test_support
