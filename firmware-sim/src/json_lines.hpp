#pragma once
// Optional record of every published message, one JSON object per line:
// {"topic":"...","payload":"..."} with the payload as a string, byte for byte as sent.
#include <filesystem>
#include <fstream>
#include <string_view>

#include "herd/core/result.hpp"

namespace herd::sim {

class json_lines {
 public:
  // An empty path disables the record.
  core::status open(const std::filesystem::path& path);
  void write(std::string_view topic, std::string_view payload);
  core::status close();

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace herd::sim
