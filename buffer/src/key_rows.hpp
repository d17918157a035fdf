#pragma once
// Each key's rows in the outbox, kept in memory so that a backlog split needs no scan of the file
// (forwarder.hpp, "Backlog drain"), and their text form in the clean-stop marker. Private to the
// buffer.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace herd::buffer::detail {

struct key_rows {
  std::uint64_t rows = 0;  // rows of the key in the outbox table
  std::uint64_t last = 0;  // the newest seq appended for the key (see outbox::impl::keys)
};
using key_rows_map = std::unordered_map<std::string, key_rows>;

// "keys <n>\n" then per key "x<key in hex> <rows> <last>\n". Keys are blobs: hex keeps any byte.
std::string encode_key_rows(const key_rows_map& keys);
// The map written by encode_key_rows, or nullopt if `text` is not exactly that (an older marker,
// a truncated one): the caller then scans the file.
std::optional<key_rows_map> decode_key_rows(const std::string& text);

}  // namespace herd::buffer::detail
