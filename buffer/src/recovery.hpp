#pragma once
// Start-up check of the outbox file and the quarantine of a corrupt one, private to the buffer.
#include <cstdint>
#include <optional>
#include <string>

#include "herd/buffer/outbox.hpp"
#include "herd/core/result.hpp"

namespace herd::buffer::detail {

// Runs PRAGMA quick_check on an existing file through a read-only connection (which never
// checkpoints, so the check writes nothing). nullopt: healthy or absent; otherwise what is wrong.
// An error is a problem that is not corruption (e.g. permissions): the caller must not quarantine.
core::result<std::optional<std::string>> find_corruption(const std::string& path);

// fsyncs the directory holding `file`, so a rename or unlink in it survives a power cut.
// Best effort: a directory that cannot be opened is left alone.
void fsync_dir(const std::string& file);

// Copies every readable row of the corrupt file at `path` into a fresh outbox, then moves the
// corrupt file (with its -wal and -shm) to `<path>.corrupt-<UTC timestamp>` and puts the fresh
// one at `path`, with `page_size` (outbox_options::page_size; 0 = SQLite's). Fills `report`
// (quarantined, quarantine_path, salvaged_*, highest_seq).
core::status quarantine_and_salvage(const std::string& path, std::int64_t now_ms, std::uint32_t page_size,
                                    open_report& report);

}  // namespace herd::buffer::detail
