#include "herd/core/time_format.hpp"

#include <chrono>
#include <cstdio>

namespace herd::core {

void iso8601_utc_ms_into(std::int64_t epoch_ms, std::string& out) {
  using namespace std::chrono;
  const sys_time<milliseconds> tp{milliseconds{epoch_ms}};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> hms{tp - day};
  const int year = static_cast<int>(ymd.year());
  const int fields[] = {static_cast<int>(static_cast<unsigned>(ymd.month())), static_cast<int>(static_cast<unsigned>(ymd.day())),
                        static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                        static_cast<int>(hms.seconds().count())};
  if (year < 0 || year > 9999) {  // not a time the event contract allows; written as printf would
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, fields[0], fields[1], fields[2],
                  fields[3], fields[4], static_cast<int>(hms.subseconds().count()));
    out.assign(buf);
    return;
  }
  // Digits written in place: the forwarder formats one per event (ce_time), where snprintf's
  // format parsing was a visible share of the drain's CPU (issue 15, goal 6).
  char buf[24];
  const auto put = [&buf](std::size_t at, int value, std::size_t width) {
    for (std::size_t i = width; i-- > 0; value /= 10) buf[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  buf[4] = '-';
  put(5, fields[0], 2);
  buf[7] = '-';
  put(8, fields[1], 2);
  buf[10] = 'T';
  put(11, fields[2], 2);
  buf[13] = ':';
  put(14, fields[3], 2);
  buf[16] = ':';
  put(17, fields[4], 2);
  buf[19] = '.';
  put(20, static_cast<int>(hms.subseconds().count()), 3);
  buf[23] = 'Z';
  out.assign(buf, sizeof buf);
}

std::string iso8601_utc_ms(std::int64_t epoch_ms) {
  std::string out;
  iso8601_utc_ms_into(epoch_ms, out);
  return out;
}

std::optional<std::int64_t> parse_iso8601_utc(std::string_view text) {
  using namespace std::chrono;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, consumed = 0;
  const std::string str(text);
  if (str.size() == 10) {
    if (std::sscanf(str.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3 || consumed != 10)
      return std::nullopt;
  } else if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
                         &consumed) != 6) {
    return std::nullopt;
  }
  int ms = 0;
  std::size_t pos = static_cast<std::size_t>(consumed);
  if (str.size() != 10) {
    if (pos < str.size() && str[pos] == '.') {
      ++pos;
      int digits = 0;
      while (pos < str.size() && str[pos] >= '0' && str[pos] <= '9') {
        if (digits < 3) ms = ms * 10 + (str[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return std::nullopt;
      for (int i = digits; i < 3; ++i) ms *= 10;
    }
    if (pos + 1 != str.size() || str[pos] != 'Z') return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  const auto tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
  return duration_cast<milliseconds>(tp.time_since_epoch()).count();
}

}  // namespace herd::core
