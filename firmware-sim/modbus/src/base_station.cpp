#include "herd/sim_modbus/base_station.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace herd::sim_modbus {

namespace st = station;

namespace {

std::uint16_t bump(std::uint16_t v, std::uint32_t by) {  // saturating u16 counter
  return static_cast<std::uint16_t>(std::min<std::uint32_t>(v + by, 0xFFFFu));
}

}  // namespace

base_station::base_station(int slots, std::int64_t start_ms)
    : slots_(slots), start_ms_(start_ms), now_ms_(start_ms) {
  if (slots < 1 || slots > st::k_max_slots) {
    throw std::invalid_argument("base station slots must be 1.." +
                                std::to_string(st::k_max_slots) + ", got " +
                                std::to_string(slots));
  }
  state_.resize(static_cast<std::size_t>(slots));
  regs_.assign(st::register_count(slots), 0);
  put_u16(regs_, st::device_type, st::k_device_type);
  put_u16(regs_, st::map_version, st::k_map_version);
  put_u16(regs_, st::firmware, st::k_firmware);
  put_u16(regs_, st::slot_count, static_cast<std::uint16_t>(slots));
  put_u16(regs_, st::slot_size, st::k_slot_size);
  put_u16(regs_, st::first_slot, st::k_first_slot);
  write_header();
}

void base_station::reject() {
  ++rejected_;
  write_header();
}

void base_station::receive(const collar_frame& f) {
  ++received_;
  if (f.collar_number < 1 || f.collar_number > static_cast<std::uint32_t>(slots_)) {
    ++rejected_;
    write_header();
    return;
  }
  const int i = static_cast<int>(f.collar_number - 1);
  auto& s = state_[static_cast<std::size_t>(i)];
  const std::size_t base = st::k_first_slot + st::k_slot_size * static_cast<std::size_t>(i);
  s.status &= static_cast<std::uint16_t>(~(st::st_seq_gap | st::st_duplicate));
  if (s.used && f.seq == s.seq && f.ts_ms == s.ts_ms) {  // a resend of the reading held
    s.duplicates = bump(s.duplicates, 1);
    s.status |= st::st_duplicate;
    put_u16(regs_, base + st::duplicates, s.duplicates);
    ++changes_;
    write_status(i);
    write_header();
    return;
  }
  if (s.used && f.ts_ms != 0 && f.ts_ms < s.ts_ms) {  // late (batch upload): keep the newer one
    ++s.readings;
    put_u32(regs_, base + st::readings, s.readings);
    ++changes_;
    write_status(i);
    write_header();
    return;
  }
  if (s.used) {
    const std::uint32_t gap = f.seq - s.seq - 1;  // unsigned: seq wraps at 2^32
    if (f.seq != s.seq + 1 && gap < 1'000'000) {
      s.missed = bump(s.missed, gap);
      s.status |= st::st_seq_gap;
    }
  } else {
    ++heard_;
  }
  s.used = true;
  s.seq = f.seq;
  s.ts_ms = f.ts_ms;
  s.interval_s = f.interval_s.value_or(0);
  ++s.readings;

  put_u32(regs_, base + st::collar_number, f.collar_number);
  put_u32(regs_, base + st::seq, f.seq);
  put_u32(regs_, base + st::ts_s, epoch_s(f.ts_ms));
  put_u16(regs_, base + st::ts_ms, static_cast<std::uint16_t>(f.ts_ms > 0 ? f.ts_ms % 1000 : 0));
  put_s16(regs_, base + st::temp_centi_c,
          f.temp_centi_c ? static_cast<std::int16_t>(std::clamp(*f.temp_centi_c, -32767, 32767))
                         : k_absent_s16);
  put_u32(regs_, base + st::steps, f.steps ? std::min(*f.steps, k_absent_u32 - 1) : k_absent_u32);
  put_u16(regs_, base + st::rum_deci_min,
          f.rum_deci_min ? static_cast<std::uint16_t>(std::min<std::uint32_t>(*f.rum_deci_min, 0xFFFEu))
                         : k_absent_u16);
  put_u32(regs_, base + st::interval_s, s.interval_s);
  put_u16(regs_, base + st::batt_pct,
          f.batt_pct ? static_cast<std::uint16_t>(std::min<std::uint32_t>(*f.batt_pct, 100))
                     : k_absent_u16);
  put_s16(regs_, base + st::rssi_dbm,
          f.rssi_dbm ? static_cast<std::int16_t>(std::clamp(*f.rssi_dbm, -32767, 32767))
                     : k_absent_s16);
  put_u32(regs_, base + st::readings, s.readings);
  put_u16(regs_, base + st::missed, s.missed);

  s.status = static_cast<std::uint16_t>(s.status & (st::st_seq_gap | st::st_duplicate));
  s.status |= st::st_in_use;
  if (f.batt_pct && *f.batt_pct < st::k_battery_low_pct) s.status |= st::st_battery_low;
  if (f.temp_centi_c && *f.temp_centi_c >= st::k_high_temp_centi_c) s.status |= st::st_high_temp;
  ++changes_;
  write_status(i);
  write_header();
}

void base_station::write_status(int i) {
  auto& s = state_[static_cast<std::size_t>(i)];
  s.status = static_cast<std::uint16_t>(s.status & ~st::st_stale);
  // Stale: nothing new for more than k_stale_intervals intervals of device time.
  if (s.used && s.interval_s > 0 && s.ts_ms > 0 &&
      now_ms_ - s.ts_ms > static_cast<std::int64_t>(st::k_stale_intervals) * s.interval_s * 1000) {
    s.status |= st::st_stale;
  }
  put_u16(regs_, st::k_first_slot + st::k_slot_size * static_cast<std::size_t>(i) + st::status,
          s.status);
}

void base_station::write_header() {
  put_u32(regs_, st::uptime_s, static_cast<std::uint32_t>((now_ms_ - start_ms_) / 1000));
  put_u32(regs_, st::change_counter, changes_);
  put_u32(regs_, st::clock_s, epoch_s(now_ms_));
  put_u16(regs_, st::collars_heard, heard_);
  put_u32(regs_, st::frames_received, received_);
  put_u32(regs_, st::frames_rejected, rejected_);
}

void base_station::advance_to(std::int64_t now_ms) {
  if (now_ms <= now_ms_) return;
  now_ms_ = now_ms;
  for (int i = 0; i < slots_; ++i) {
    if (state_[static_cast<std::size_t>(i)].used) write_status(i);
  }
  write_header();
}

}  // namespace herd::sim_modbus
