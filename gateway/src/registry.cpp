#include "herd/gateway/registry.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "herd/core/bounded_file.hpp"
#include "herd/core/ids.hpp"
#include "herd/core/time_format.hpp"

namespace herd::gateway {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = line.find(',', start);
    out.push_back(trim(line.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

}  // namespace

core::result<collar_registry> collar_registry::parse_csv(std::string_view text,
                                                         const std::string& origin) {
  collar_registry reg;
  std::vector<std::string> errors;
  bool header_seen = false;
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto nl = text.find('\n', start);
    const auto line = trim(text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    start = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const auto cols = split(line);
    if (!header_seen) {
      header_seen = true;
      if (cols.size() != 3 || cols[0] != "collar_id" || cols[1] != "animal_id" ||
          cols[2] != "valid_from") {
        return core::error::permanent(
            fmt::format("{}:{}: header must be collar_id,animal_id,valid_from", origin, line_no));
      }
      continue;
    }
    if (cols.size() != 3 || cols[0].empty() || cols[1].empty()) {
      errors.push_back(fmt::format("{}:{}: expected collar_id,animal_id,valid_from", origin, line_no));
      continue;
    }
    if (!core::is_valid_topic_id(cols[0])) {
      errors.push_back(fmt::format("{}:{}: collar_id must be 1-64 characters of A-Z a-z 0-9 . _ - : "
                                   "(it must match the collar's MQTT topic)", origin, line_no));
      continue;
    }
    if (auto problem = core::animal_id_problem(cols[1])) {
      errors.push_back(fmt::format("{}:{}: animal_id {}", origin, line_no, *problem));
      continue;
    }
    const auto from = core::parse_iso8601_utc(cols[2]);
    if (!from) {
      errors.push_back(fmt::format("{}:{}: valid_from '{}' is not ISO-8601 UTC", origin, line_no, cols[2]));
      continue;
    }
    auto& list = reg.by_collar_[std::string(cols[0])];
    if (std::any_of(list.begin(), list.end(), [&](const auto& a) { return a.valid_from_ms == *from; })) {
      errors.push_back(fmt::format("{}:{}: collar {} has two assignments from the same time", origin,
                                   line_no, cols[0]));
      continue;
    }
    list.push_back({*from, std::string(cols[1])});
  }
  if (!header_seen) return core::error::permanent(origin + ": empty registry (no header)");
  if (!errors.empty()) {
    std::string msg = errors.front();
    for (std::size_t i = 1; i < errors.size() && i < 20; ++i) msg += "\n" + errors[i];
    return core::error::permanent(std::move(msg));
  }
  for (auto& [collar, list] : reg.by_collar_) {
    std::sort(list.begin(), list.end(),
              [](const auto& a, const auto& b) { return a.valid_from_ms < b.valid_from_ms; });
  }
  return reg;
}

core::result<collar_registry> collar_registry::load_csv(const std::string& path) {
  auto text = core::read_bounded_file(path, k_max_registry_bytes, "collar registry");
  if (!text) return text.err();
  return parse_csv(*text, path);
}

core::result<std::string> collar_registry::animal_at(const std::string& collar_id,
                                                     std::int64_t at_ms) const {
  const auto it = by_collar_.find(collar_id);
  if (it == by_collar_.end()) {
    return core::error::permanent(fmt::format("unknown collar '{}' (not in the registry)", collar_id));
  }
  const auto& list = it->second;
  // The last assignment that started at or before at_ms.
  const auto after = std::upper_bound(list.begin(), list.end(), at_ms,
                                      [](std::int64_t t, const auto& a) { return t < a.valid_from_ms; });
  if (after == list.begin()) {
    return core::error::permanent(fmt::format("collar '{}' was not assigned to an animal at {}",
                                              collar_id, core::iso8601_utc_ms(at_ms)));
  }
  return std::prev(after)->animal_id;
}

}  // namespace herd::gateway
