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

// One line's fields. `sep` is the file's separator; a field in double quotes may hold the
// separator, and "" inside it is one quote (RFC 4180, as spreadsheets write it).
std::vector<std::string> split(std::string_view line, char sep) {
  std::vector<std::string> out;
  std::size_t i = 0;
  for (;;) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t') && line[i] != sep) ++i;
    std::string field;
    if (i < line.size() && line[i] == '"') {
      for (++i; i < line.size(); ++i) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            ++i;
          } else {
            ++i;
            break;
          }
        } else {
          field += line[i];
        }
      }
      const auto next = line.find(sep, i);
      i = next == std::string_view::npos ? line.size() : next;
    } else {
      const auto next = line.find(sep, i);
      field = std::string(trim(line.substr(i, next == std::string_view::npos ? next : next - i)));
      i = next == std::string_view::npos ? line.size() : next;
    }
    out.push_back(std::move(field));
    if (i >= line.size()) return out;
    ++i;  // past the separator
  }
}

// The separator a spreadsheet chose, from the header line: ',' (the documented format), ';' (Excel
// in locales with a decimal comma: most of continental Europe) or a tab.
char separator_of(std::string_view header) {
  if (header.find(',') != std::string_view::npos) return ',';
  if (header.find(';') != std::string_view::npos) return ';';
  if (header.find('\t') != std::string_view::npos) return '\t';
  return ',';
}

// A cell quoted back to the user: at most 64 bytes, anything but printable ASCII as '?' (no
// terminal escapes from a file into the log).
std::string shown(std::string_view v) {
  std::string out(v.substr(0, 64));
  for (auto& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  if (v.size() > 64) out += "...";
  return out;
}

// What a spreadsheet does to the columns, named so the user can act on it.
std::string date_hint(std::string_view v) {
  const bool reformatted = v.find('/') != std::string_view::npos ||
                           (v.size() >= 8 && v.find('.') != std::string_view::npos && v.find('T') == std::string_view::npos);
  return reformatted ? " (a spreadsheet seems to have reformatted the date: format the column as text and write "
                       "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"
                     : "";
}

std::string number_hint(std::string_view v) {
  const bool scientific = v.find("E+") != std::string_view::npos || v.find("e+") != std::string_view::npos;
  return scientific ? " (it looks like a number a spreadsheet rewrote in scientific notation: format the column "
                      "as text and enter the ids again)"
                    : "";
}

}  // namespace

core::result<collar_registry> collar_registry::parse_csv(std::string_view text,
                                                         const std::string& origin) {
  collar_registry reg;
  std::vector<std::string> errors;
  // Spreadsheet exports (issue 13, case 6): Excel's "CSV UTF-8" starts with a byte-order mark and
  // ends lines with CRLF (trim() drops the CR); its "Unicode Text" is UTF-16, which is refused
  // with that name.
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF")) {
    return core::error::permanent(fmt::format(
        "{}: the file is UTF-16 (a spreadsheet's \"Unicode Text\" export?); save it as \"CSV UTF-8\" or plain CSV",
        origin));
  }
  char sep = ',';
  bool header_seen = false;
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto nl = text.find('\n', start);
    const auto line = trim(text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    start = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (!header_seen) sep = separator_of(line);
    auto cols = split(line, sep);
    // Cells once used further right make a spreadsheet write empty columns at the end.
    while (cols.size() > 3 && cols.back().empty()) cols.pop_back();
    if (!header_seen) {
      header_seen = true;
      if (cols.size() != 3 || cols[0] != "collar_id" || cols[1] != "animal_id" ||
          cols[2] != "valid_from") {
        return core::error::permanent(
            fmt::format("{}:{}: header must be collar_id,animal_id,valid_from (separated by commas, or "
                        "semicolons as some spreadsheets write); found '{}'",
                        origin, line_no, shown(line)));
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
      errors.push_back(fmt::format("{}:{}: animal_id {}{}", origin, line_no, *problem, number_hint(cols[1])));
      continue;
    }
    const auto from = core::parse_iso8601_utc(cols[2]);
    if (!from) {
      errors.push_back(fmt::format("{}:{}: valid_from '{}' is not ISO-8601 UTC{}", origin, line_no,
                                   shown(cols[2]), date_hint(cols[2])));
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
