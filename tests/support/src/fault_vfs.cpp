#include "herd/test_support/fault_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace herd::test_support {

namespace {

std::atomic<int> g_fault{0};
std::atomic<long> g_refused{0};
std::mutex g_part_mu;
std::string g_part;
std::mutex g_hold_mu;
std::condition_variable g_hold_cv;
bool g_holding = false;
std::atomic<long> g_held{0};
std::atomic<long> g_syncs{0};  // target-file syncs passed to the real VFS
sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs{};

// The power-cut model (fault_vfs::power_cut_copy): per target file path, what its writes since
// its last sync overwrote. Under g_power_mu, held across each tracked write.
struct undo_write {
  sqlite3_int64 offset;
  std::string old;  // the bytes it overwrote (those below the file's size then)
};
struct unsynced {
  sqlite3_int64 synced_size = 0;  // the file's size at its last sync
  std::vector<undo_write> writes;
};
std::mutex g_power_mu;
std::map<std::string, unsynced> g_unsynced;  // a path absent: nothing written since its last sync

struct fault_file {
  sqlite3_file base;
  sqlite3_file* real;
  bool target;
  bool wal;
  std::string* path;  // target files only (new in x_open, deleted in x_close)
};

// The record of `f`'s path, started at the file's current size when it has none (under g_power_mu).
unsynced& unsynced_of(fault_file* f) {
  auto [it, added] = g_unsynced.try_emplace(*f->path);
  if (added) f->real->pMethods->xFileSize(f->real, &it->second.synced_size);
  return it->second;
}

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<fault_file*>(f)->real; }

storage_fault active(sqlite3_file* f) {
  if (!reinterpret_cast<fault_file*>(f)->target) return storage_fault::none;
  return static_cast<storage_fault>(g_fault.load());
}

int refuse_write(storage_fault fault) {
  ++g_refused;
  errno = fault == storage_fault::full ? ENOSPC : fault == storage_fault::io ? EIO : EROFS;
  return fault == storage_fault::full ? SQLITE_FULL : SQLITE_IOERR_WRITE;
}

int x_close(sqlite3_file* f) {
  auto* r = real(f);
  const int rc = r->pMethods != nullptr ? r->pMethods->xClose(r) : SQLITE_OK;
  delete reinterpret_cast<fault_file*>(f)->path;
  return rc;
}
int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) { return real(f)->pMethods->xRead(real(f), buf, n, off); }
// Keeps what [off, off + n) holds now (below the file's size) before a write or truncate replaces it.
void keep_for_undo(fault_file* f, sqlite3_int64 off, sqlite3_int64 n) {
  auto& u = unsynced_of(f);
  sqlite3_int64 size = 0;
  f->real->pMethods->xFileSize(f->real, &size);
  const sqlite3_int64 keep = std::max<sqlite3_int64>(0, std::min(off + n, size) - off);
  undo_write w{off, std::string(static_cast<std::size_t>(keep), '\0')};
  if (keep > 0) f->real->pMethods->xRead(f->real, w.old.data(), static_cast<int>(keep), off);
  u.writes.push_back(std::move(w));
}

int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (auto fault = active(f); fault != storage_fault::none) return refuse_write(fault);
  auto* ff = reinterpret_cast<fault_file*>(f);
  if (!ff->target) return real(f)->pMethods->xWrite(real(f), buf, n, off);
  std::lock_guard lock(g_power_mu);
  keep_for_undo(ff, off, n);
  return real(f)->pMethods->xWrite(real(f), buf, n, off);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (auto fault = active(f); fault == storage_fault::io || fault == storage_fault::readonly) {
    ++g_refused;
    return SQLITE_IOERR_TRUNCATE;
  }
  auto* ff = reinterpret_cast<fault_file*>(f);
  if (!ff->target) return real(f)->pMethods->xTruncate(real(f), size);
  std::lock_guard lock(g_power_mu);
  keep_for_undo(ff, size, std::numeric_limits<int>::max());
  return real(f)->pMethods->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  if (const auto* ff = reinterpret_cast<fault_file*>(f); ff->target && ff->wal) {
    std::unique_lock lock(g_hold_mu);
    if (g_holding) {
      ++g_held;
      g_hold_cv.wait(lock, [] { return !g_holding; });
    }
  }
  if (auto fault = active(f); fault == storage_fault::io) {
    ++g_refused;
    return SQLITE_IOERR_FSYNC;
  }
  auto* ff = reinterpret_cast<fault_file*>(f);
  if (!ff->target) return real(f)->pMethods->xSync(real(f), flags);
  ++g_syncs;
  // Writes finished before the sync starts are on disk once it returns; those that come while it
  // runs (another connection's) may not be, so they keep their undo records.
  std::size_t durable = 0;
  sqlite3_int64 size = 0;
  {
    std::lock_guard lock(g_power_mu);
    const auto it = g_unsynced.find(*ff->path);
    durable = it == g_unsynced.end() ? 0 : it->second.writes.size();
    real(f)->pMethods->xFileSize(real(f), &size);
  }
  const int rc = real(f)->pMethods->xSync(real(f), flags);
  if (rc != SQLITE_OK) return rc;
  std::lock_guard lock(g_power_mu);
  if (const auto it = g_unsynced.find(*ff->path); it != g_unsynced.end()) {
    auto& w = it->second.writes;
    w.erase(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(std::min(durable, w.size())));
    it->second.synced_size = size;
    if (w.empty()) g_unsynced.erase(it);
  }
  return rc;
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) { return real(f)->pMethods->xFileSize(real(f), size); }
int x_lock(sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); }
int x_unlock(sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); }
int x_check_reserved(sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); }
int x_file_control(sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); }
int x_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_device_chars(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
int x_shm_map(sqlite3_file* f, int pg, int sz, int extend, void volatile** p) {
  return real(f)->pMethods->xShmMap(real(f), pg, sz, extend, p);
}
int x_shm_lock(sqlite3_file* f, int off, int n, int flags) { return real(f)->pMethods->xShmLock(real(f), off, n, flags); }
void x_shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int x_shm_unmap(sqlite3_file* f, int del) { return real(f)->pMethods->xShmUnmap(real(f), del); }
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** p) { return real(f)->pMethods->xFetch(real(f), off, n, p); }
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return real(f)->pMethods->xUnfetch(real(f), off, p); }

const sqlite3_io_methods k_methods = {
    3,           x_close,        x_read,      x_write,          x_truncate,     x_sync,
    x_file_size, x_lock,         x_unlock,    x_check_reserved, x_file_control, x_sector_size,
    x_device_chars, x_shm_map,   x_shm_lock,  x_shm_barrier,    x_shm_unmap,    x_fetch,
    x_unfetch};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* ff = reinterpret_cast<fault_file*>(f);
  ff->real = reinterpret_cast<sqlite3_file*>(ff + 1);
  ff->base.pMethods = nullptr;
  {
    std::lock_guard lock(g_part_mu);
    ff->target = name != nullptr && !g_part.empty() && std::strstr(name, g_part.c_str()) != nullptr;
  }
  ff->wal = (flags & SQLITE_OPEN_WAL) != 0;
  ff->path = ff->target ? new std::string(name) : nullptr;
  const int rc = g_real->xOpen(g_real, name, ff->real, flags, out_flags);
  if (ff->real->pMethods == nullptr) {
    delete ff->path;  // SQLite calls no xClose for a file that did not open
    ff->path = nullptr;
  }
  if (ff->real->pMethods != nullptr) ff->base.pMethods = &k_methods;
  return rc;
}

int x_get_last_error(sqlite3_vfs*, int n, char* buf) {
  switch (static_cast<storage_fault>(g_fault.load())) {
    case storage_fault::full: return ENOSPC;
    case storage_fault::io: return EIO;
    case storage_fault::readonly: return EROFS;
    case storage_fault::none: break;
  }
  return g_real->xGetLastError(g_real, n, buf);
}

}  // namespace

fault_vfs::fault_vfs(std::string path_part) {
  static std::once_flag once;
  std::call_once(once, [] {
    g_real = sqlite3_vfs_find(nullptr);
    if (g_real == nullptr) throw std::runtime_error("no default SQLite VFS");
    g_vfs = *g_real;  // delegate everything not overridden below
    g_vfs.zName = "herd-fault";
    g_vfs.szOsFile = static_cast<int>(sizeof(fault_file)) + g_real->szOsFile;
    g_vfs.pNext = nullptr;
    g_vfs.xOpen = x_open;
    g_vfs.xGetLastError = x_get_last_error;
    if (sqlite3_vfs_register(&g_vfs, 1) != SQLITE_OK) throw std::runtime_error("cannot register the fault VFS");
  });
  std::lock_guard lock(g_part_mu);
  g_part = std::move(path_part);
  g_fault = 0;
  g_refused = 0;
  g_held = 0;
  g_syncs = 0;
  std::lock_guard power_lock(g_power_mu);
  g_unsynced.clear();
}

fault_vfs::~fault_vfs() {
  release();
  g_fault = 0;
  std::lock_guard lock(g_part_mu);
  g_part.clear();
}

void fault_vfs::set(storage_fault f) { g_fault = static_cast<int>(f); }

long fault_vfs::refused() const { return g_refused.load(); }

void fault_vfs::hold_wal_syncs() {
  std::lock_guard lock(g_hold_mu);
  g_holding = true;
}

void fault_vfs::release() {
  {
    std::lock_guard lock(g_hold_mu);
    g_holding = false;
  }
  g_hold_cv.notify_all();
}

long fault_vfs::held_syncs() const { return g_held.load(); }
long fault_vfs::syncs() const { return g_syncs.load(); }

void fault_vfs::power_cut_copy(const std::vector<std::string>& files, const std::vector<std::string>& copies) const {
  if (files.size() != copies.size()) throw std::invalid_argument("power_cut_copy: one copy per file");
  std::lock_guard lock(g_power_mu);
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (!std::filesystem::exists(files[i])) continue;  // e.g. no WAL yet
    std::filesystem::copy_file(files[i], copies[i], std::filesystem::copy_options::overwrite_existing);
    const auto it = g_unsynced.find(files[i]);
    if (it == g_unsynced.end()) continue;
    {
      std::fstream out(copies[i], std::ios::in | std::ios::out | std::ios::binary);
      for (auto w = it->second.writes.rbegin(); w != it->second.writes.rend(); ++w) {
        out.seekp(w->offset);
        out.write(w->old.data(), static_cast<std::streamsize>(w->old.size()));
      }
      if (!out) throw std::runtime_error("power_cut_copy: cannot write " + copies[i]);
    }
    std::filesystem::resize_file(copies[i], static_cast<std::uintmax_t>(it->second.synced_size));
  }
}

}  // namespace herd::test_support
