#pragma once
// The clean-stop marker (issue 15, goal 7): `<path>.clean-stop`, written after an orderly close
// and taken (deleted) by the next open, lets that open skip the whole-file quick_check. Private
// to the buffer.
#include <string>

#include "herd/core/result.hpp"

namespace herd::buffer::detail {

// The marker's path for the outbox at `path`.
std::string clean_stop_marker(const std::string& path);

// Called after both connections are closed. Sets the file's modification time to now with random
// nanoseconds (so that any later write changes it, coarse kernel timestamps notwithstanding) and
// records the file's size and that time in the marker (written to a temporary name, fsynced, renamed, directory fsynced), only if no
// -wal or -journal file is left beside it (SQLite deletes them on a clean last close; one left
// means another process still had the file open or the close failed): then nothing is written
// and the next open checks the whole file. `payload` (text the outbox knew at close: each key's
// rows, key_rows.hpp) follows on the next lines. Errors: outbox.io (the marker could not be
// written; the next open checks the whole file).
core::status write_clean_stop_marker(const std::string& path, const std::string& payload);

// Called by open() before anything touches the file. True if the marker exists and matches the
// file's present size and modification time with no -wal or -journal beside it: the file is as
// the last orderly close left it. Deletes the marker in every case (and fsyncs the directory),
// so a crash of this run leaves none and the next open checks the whole file. On true, `payload`
// (if given) receives what write_clean_stop_marker stored (possibly empty: an older marker).
bool take_clean_stop_marker(const std::string& path, std::string* payload = nullptr);

}  // namespace herd::buffer::detail
