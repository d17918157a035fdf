#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "herd/sensors/modbus_decode.hpp"

namespace herd::sensors::modbus {

int register_count(data_type t) {
  switch (t) {
    case data_type::u16:
    case data_type::i16: return 1;
    case data_type::u32:
    case data_type::i32:
    case data_type::f32: return 2;
    case data_type::u48: return 3;
  }
  return 1;
}

int bits_per_char(const serial_line& line) {
  return 1 + line.data_bits + (line.parity == 'N' ? 0 : 1) + line.stop_bits;
}

std::chrono::microseconds frame_gap(const serial_line& line) {
  // Modbus over serial line v1.02, 2.5.1.1: 3.5 character times; above 19,200 baud a fixed 1.75 ms.
  if (line.baud > 19200 || line.baud <= 0) return std::chrono::microseconds(1750);
  const double us = 3.5 * bits_per_char(line) * 1e6 / line.baud;
  return std::chrono::microseconds(static_cast<std::int64_t>(us + 0.999));
}

std::uint64_t assemble(std::span<const std::uint16_t> regs, data_type type, order words, order bytes) {
  const std::size_t n = static_cast<std::size_t>(register_count(type));
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n && i < regs.size(); ++i) {
    std::uint16_t r = words == order::big ? regs[i] : regs[n - 1 - i];
    if (bytes == order::little) r = static_cast<std::uint16_t>((r >> 8) | (r << 8));
    v = (v << 16) | r;
  }
  return v;
}

double to_number(std::uint64_t raw, data_type type) {
  switch (type) {
    case data_type::i16: return static_cast<std::int16_t>(static_cast<std::uint16_t>(raw));
    case data_type::i32: return static_cast<std::int32_t>(static_cast<std::uint32_t>(raw));
    case data_type::f32: return std::bit_cast<float>(static_cast<std::uint32_t>(raw));
    default: return static_cast<double>(raw);
  }
}

decoded decode(const register_field& f, std::span<const std::uint16_t> regs) {
  decoded d;
  d.raw = f.tab == table::coil || f.tab == table::discrete
              ? (regs.empty() ? 0 : regs[0] != 0)
              : assemble(regs, f.type, f.words, f.bytes);
  if (f.absent && d.raw == *f.absent) return d;
  d.present = true;
  if (f.mask != 0) {
    d.value = (d.raw & f.mask) != 0 ? 1.0 : 0.0;
    return d;
  }
  // A decimal scale (0.1, 0.01) divides by its inverse, so 3862 * 0.01 is the double nearest to
  // 38.62, as a JSON "38.62" would be (a multiplication can land one ulp off).
  const double n = to_number(d.raw, f.type);
  const double inv = 1.0 / f.scale;
  d.value = (inv > 1 && std::fabs(inv - std::round(inv)) < 1e-9 ? n / std::round(inv) : n * f.scale) + f.offset;
  return d;
}

namespace {
std::uint32_t width(const register_field& f) {
  return f.tab == table::coil || f.tab == table::discrete ? 1u
                                                          : static_cast<std::uint32_t>(register_count(f.type));
}
std::uint32_t limit(table t) { return t == table::coil || t == table::discrete ? 2000u : 125u; }
}  // namespace

std::vector<block> plan_reads(const device& d, int merge_gap) {
  std::vector<block> out;
  for (table t : {table::holding, table::input, table::coil, table::discrete}) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;  // [begin, end)
    for (std::uint32_t r = 0; r < d.records.count; ++r) {
      for (const auto& f : d.registers) {
        if (f.tab != t) continue;
        const std::uint32_t a = d.records.first + r * d.records.stride + f.address;
        ranges.emplace_back(a, a + width(f));
      }
    }
    std::sort(ranges.begin(), ranges.end());
    const std::uint32_t max = limit(t);
    for (const auto& [b, e] : ranges) {
      if (!out.empty() && out.back().tab == t) {
        block& last = out.back();
        const std::uint32_t end = last.address + last.count;
        if (b <= end + static_cast<std::uint32_t>(merge_gap) && std::max(end, e) - last.address <= max) {
          last.count = std::max(end, e) - last.address;
          continue;
        }
      }
      out.push_back({t, b, e - b});
    }
  }
  return out;
}

void register_view::put(const block& b, std::vector<std::uint16_t> values) {
  chunks_.push_back({b, std::move(values)});
}

std::span<const std::uint16_t> register_view::at(const device& d, const register_field& f,
                                                 std::uint32_t record) const {
  const std::uint32_t a = d.records.first + record * d.records.stride + f.address;
  const std::uint32_t w = width(f);
  for (const auto& c : chunks_) {
    if (c.b.tab == f.tab && a >= c.b.address && a + w <= c.b.address + c.b.count) {
      return std::span<const std::uint16_t>(c.values).subspan(a - c.b.address, w);
    }
  }
  return {};
}

std::string register_view::hex_record(const device& d, std::uint32_t record) const {
  std::string out;
  for (const auto& f : d.registers) {
    const auto regs = at(d, f, record);
    out += f.field + "=";
    for (std::size_t i = 0; i < regs.size(); ++i) out += fmt::format("{}{:04x}", i ? " " : "", regs[i]);
    out += ";";
  }
  return out;
}

}  // namespace herd::sensors::modbus
