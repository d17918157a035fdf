#include "json_lines.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace herd::sim {

core::status json_lines::open(const std::filesystem::path& path) {
  path_ = path;
  if (path.empty()) return core::ok_v;
  out_.open(path, std::ios::binary | std::ios::trunc);
  if (!out_) {
    return core::error::fatal(
        fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  return core::ok_v;
}

void json_lines::write(std::string_view topic, std::string_view payload) {
  if (!out_.is_open()) return;
  const nlohmann::ordered_json line{{"topic", topic}, {"payload", payload}};  // topic first, as read
  // A malformed frame may not be UTF-8: such bytes are written as U+FFFD rather than throwing.
  out_ << line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
}

core::status json_lines::close() {
  if (!out_.is_open()) return core::ok_v;
  out_.close();
  if (!out_) return core::error::fatal(fmt::format("error writing {}", path_.string()));
  return core::ok_v;
}

}  // namespace herd::sim
