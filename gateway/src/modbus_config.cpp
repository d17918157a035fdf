#include "modbus_config.hpp"

#include <cmath>
#include <filesystem>
#include <map>

#include "herd/core/ids.hpp"
#include "table_reader.hpp"

namespace herd::gateway {

namespace {
namespace mb = sensors::modbus;

// Shallow merge: keys of the profile the device does not set itself; `records` one level deep.
toml::table merged(const toml::table& device, const toml::table& profile) {
  toml::table out = device;
  for (auto&& [k, v] : profile) {
    if (k.str() == "records" && out.contains("records") && out["records"].is_table() && v.is_table()) {
      auto* rec = out["records"].as_table();
      for (auto&& [rk, rv] : *v.as_table()) {
        if (!rec->contains(rk.str())) rec->insert(rk, rv);
      }
    } else if (!out.contains(k.str())) {
      out.insert(k, v);
    }
  }
  return out;
}

template <class E>
bool pick(table_reader& r, const char* key, const std::string& s, E& out,
          std::initializer_list<std::pair<const char*, E>> choices) {
  std::string names;
  for (const auto& [name, value] : choices) {
    if (s == name) {
      out = value;
      return true;
    }
    names += names.empty() ? name : std::string(", ") + name;
  }
  r.error(key, fmt::format("unknown value '{}': one of {}", s, names));
  return false;
}

std::uint32_t width(const mb::register_field& f) {
  return f.tab == mb::table::coil || f.tab == mb::table::discrete ? 1u
                                                                  : static_cast<std::uint32_t>(mb::register_count(f.type));
}

void parse_register(const toml::table* t, const std::string& path, mb::device& d,
                    std::vector<std::string>& errors) {
  table_reader r(t, path, errors);
  mb::register_field f;
  r.str("field", f.field, true);
  std::int64_t address = -1;
  r.integer("address", address, 0, 65535);
  if (address < 0 && r.node("address") == nullptr) r.error("address", "is required");
  std::string tab = "holding", type = "u16", words = "big", bytes = "big";
  r.str("table", tab);
  r.str("type", type);
  r.str("word_order", words);
  r.str("byte_order", bytes);
  pick(r, "table", tab, f.tab, {{"holding", mb::table::holding}, {"input", mb::table::input},
                                {"coil", mb::table::coil}, {"discrete", mb::table::discrete}});
  pick(r, "type", type, f.type, {{"u16", mb::data_type::u16}, {"i16", mb::data_type::i16},
                                 {"u32", mb::data_type::u32}, {"i32", mb::data_type::i32},
                                 {"f32", mb::data_type::f32}, {"u48", mb::data_type::u48}});
  pick(r, "word_order", words, f.words, {{"big", mb::order::big}, {"little", mb::order::little}});
  pick(r, "byte_order", bytes, f.bytes, {{"big", mb::order::big}, {"little", mb::order::little}});
  r.number("scale", f.scale);
  r.number("offset", f.offset);
  if (!std::isfinite(f.scale) || f.scale == 0) r.error("scale", "must be a finite number other than 0");
  if (!std::isfinite(f.offset)) r.error("offset", "must be a finite number");
  r.str("unit", f.unit);
  std::int64_t absent = -1, mask = 0;
  r.integer("absent", absent, 0, (std::int64_t{1} << 48) - 1);
  if (absent >= 0) f.absent = static_cast<std::uint64_t>(absent);
  r.integer("mask", mask, 1, (std::int64_t{1} << 48) - 1);
  f.mask = static_cast<std::uint64_t>(mask);
  r.finish();
  if (address >= 0) f.address = static_cast<std::uint16_t>(address);

  const bool bits = f.tab == mb::table::coil || f.tab == mb::table::discrete;
  if (bits && (f.type != mb::data_type::u16 || words != "big" || bytes != "big")) {
    r.error("type", "a coil or discrete input is one bit: leave type, word_order and byte_order out");
  }
  if (f.absent && f.absent >= (std::uint64_t{1} << (16 * mb::register_count(f.type)))) {
    r.error("absent", fmt::format("does not fit in a {}", type));
  }
  if (!f.field.empty()) {
    const mb::field_spec* spec = nullptr;
    for (const auto& s : mb::fields_of(d.kind)) {
      if (f.field == s.name) spec = &s;
    }
    if (spec == nullptr) {
      std::string names;
      for (const auto& s : mb::fields_of(d.kind)) names += (names.empty() ? "" : ", ") + std::string(s.name);
      r.error("field", fmt::format("unknown field '{}' for a {}: one of {}", f.field, mb::to_string(d.kind), names));
    } else {
      if (spec->flag && f.mask == 0) r.error("mask", fmt::format("is required: '{}' is a status bit", f.field));
      if (!spec->flag && f.mask != 0) r.error("mask", fmt::format("only status bits take a mask, not '{}'", f.field));
      if (!f.unit.empty() && f.unit != spec->unit) {
        r.error("unit", fmt::format("'{}' is in '{}' after scale and offset, not '{}'", f.field,
                                    spec->unit, f.unit));
      }
    }
  }
  if (address >= 0 && address + width(f) > 65536) {
    r.error("address", fmt::format("{} + {} register(s) goes past 65535", address, width(f)));
  }
  d.registers.push_back(std::move(f));
}

void check_map(const mb::device& d, const std::string& path, const std::string& map_path,
               std::vector<std::string>& errors) {
  const auto err = [&](const std::string& what) { errors.push_back(path + ": " + what); };
  std::map<std::string, std::size_t> seen;
  std::uint32_t span = 0;
  for (std::size_t i = 0; i < d.registers.size(); ++i) {
    const auto& f = d.registers[i];
    const std::string at = fmt::format("{}.register[{}]", map_path, i);
    if (auto [it, fresh] = seen.emplace(f.field, i); !fresh && !f.field.empty()) {
      errors.push_back(fmt::format("{}.field: '{}' is already filled by register[{}]", at, f.field, it->second));
    }
    span = std::max(span, f.address + width(f));
    for (std::size_t j = 0; j < i; ++j) {
      const auto& g = d.registers[j];
      if (g.tab != f.tab) continue;
      const bool apart = f.address + width(f) <= g.address || g.address + width(g) <= f.address;
      // Status bits of one register may share it.
      const bool bits_of_one = f.mask != 0 && g.mask != 0 && f.address == g.address && f.type == g.type;
      if (!apart && !bits_of_one) {
        errors.push_back(fmt::format("{}.address: {} ({} register(s)) overlaps register[{}] ('{}' at {})", at,
                                     f.address, width(f), j, g.field, g.address));
      }
    }
  }
  for (const auto& s : mb::fields_of(d.kind)) {
    if (s.required && !seen.count(s.name)) {
      err(fmt::format("{}: the required field '{}' of a {} is not mapped", map_path, s.name, mb::to_string(d.kind)));
    }
  }
  if (d.records.count > 1 && d.records.stride < span) {
    err(fmt::format("records.stride: {} is less than the {} registers one record spans", d.records.stride, span));
  }
  const std::uint64_t last = d.records.first + std::uint64_t{d.records.stride} * (d.records.count - 1) + span;
  if (last > 65536) err(fmt::format("records: the last record ends at {}, past 65535", last - 1));
}

void parse_device(const toml::table& dt, std::size_t index, const std::string& base_dir,
                  mb::device& d, std::vector<std::string>& errors) {
  const std::string path = fmt::format("modbus.device[{}]", index);
  toml::table t = dt;
  std::string map_path = path;
  if (const auto* p = dt.get("profile"); p != nullptr) {
    if (!p->is_string()) {
      errors.push_back(path + ".profile: must be a string (a profile file)");
    } else {
      std::filesystem::path file = *p->value<std::string>();
      if (file.is_relative()) file = std::filesystem::path(base_dir) / file;
      try {
        const toml::table profile = toml::parse_file(file.string());
        if (!dt.contains("register")) map_path = fmt::format("{}.profile({})", path, file.string());
        t = merged(dt, profile);
      } catch (const toml::parse_error& e) {
        errors.push_back(fmt::format("{}.profile: {}:{}: {}", path, file.string(), e.source().begin.line,
                                     e.description()));
        return;
      }
    }
  }
  table_reader r(&t, path, errors);
  std::string ignored;
  r.str("profile", ignored);
  r.str("name", d.name, true);
  if (!d.name.empty() && !core::is_valid_topic_id(d.name)) r.error("name", "must be 1-64 of [A-Za-z0-9._:-]");
  std::string kind;
  r.str("kind", kind, true);
  if (!kind.empty()) {
    pick(r, "kind", kind, d.kind, {{"collar_base_station", mb::device_kind::collar_base_station},
                                   {"walkover_scale", mb::device_kind::walkover_scale}});
  }
  std::string via;
  r.str("transport", via, true);
  if (!via.empty()) pick(r, "transport", via, d.via, {{"tcp", mb::transport::tcp}, {"rtu", mb::transport::rtu}});
  if (d.via == mb::transport::tcp) {
    r.str("host", d.host, true);
    r.integer("port", d.port, 1, 65535);
    r.integer("unit_id", d.unit_id, 0, 255);
  } else {
    r.str("serial", d.line.device, true);
    r.integer("baud", d.line.baud, 300, 4000000);
    std::string parity(1, d.line.parity);
    r.str("parity", parity);
    if (parity != "N" && parity != "E" && parity != "O") r.error("parity", "must be N, E or O");
    d.line.parity = parity.empty() ? 'E' : parity[0];
    r.integer("data_bits", d.line.data_bits, 7, 8);
    r.integer("stop_bits", d.line.stop_bits, 1, 2);
    // Modbus over serial line v1.02, 2.3.1: unit 0 is broadcast, 248-255 reserved.
    r.integer("unit_id", d.unit_id, 1, 247);
  }
  std::int64_t poll = d.poll_interval.count(), timeout = d.response_timeout.count();
  r.integer("poll_interval_ms", poll, 10, 86'400'000);
  r.integer("response_timeout_ms", timeout, 10, 60'000);
  d.poll_interval = std::chrono::milliseconds(poll);
  d.response_timeout = std::chrono::milliseconds(timeout);
  r.str("farm_id", d.farm_id, d.kind == mb::device_kind::collar_base_station);
  if (!d.farm_id.empty() && !core::is_valid_topic_id(d.farm_id)) r.error("farm_id", "must be 1-64 of [A-Za-z0-9._:-]");
  r.str("collar_id_prefix", d.collar_id_prefix);
  r.integer("collar_id_digits", d.collar_id_digits, 1, 10);
  table_reader rec(r.table("records"), r.child("records"), errors);
  rec.integer("first", d.records.first, 0, 65535);
  rec.integer("stride", d.records.stride, 0, 65535);
  rec.integer("count", d.records.count, 1, 3200);
  rec.finish();
  if (d.kind == mb::device_kind::walkover_scale && d.records.count != 1) {
    rec.error("count", "a walk-over scale shows one weighing: 1");
  }
  const toml::node* regs = r.node("register");
  if (regs == nullptr || !regs->is_array_of_tables() || regs->as_array()->empty()) {
    r.error("register", "is required: an array of tables ([[...register]]), one per mapped value");
  } else {
    std::size_t i = 0;
    for (const auto& e : *regs->as_array()) {
      parse_register(e.as_table(), fmt::format("{}.register[{}]", map_path, i++), d, errors);
    }
    check_map(d, path, map_path, errors);
  }
  r.finish();
}

void check_buses(const std::vector<mb::device>& devs, std::vector<std::string>& errors) {
  for (std::size_t i = 0; i < devs.size(); ++i) {
    const auto& d = devs[i];
    for (std::size_t j = 0; j < i; ++j) {
      const auto& o = devs[j];
      const std::string at = fmt::format("modbus.device[{}]", i);
      if (d.name == o.name && !d.name.empty()) {
        errors.push_back(fmt::format("{}.name: '{}' is already modbus.device[{}]", at, d.name, j));
      }
      if (d.via != o.via) continue;
      const bool same_line = d.via == mb::transport::rtu ? d.line.device == o.line.device
                                                         : d.host == o.host && d.port == o.port;
      if (!same_line) continue;
      if (d.unit_id == o.unit_id) {
        errors.push_back(fmt::format("{}.unit_id: {} is already modbus.device[{}] ('{}') on {}", at, d.unit_id, j,
                                     o.name, d.via == mb::transport::rtu ? d.line.device : d.host + ":" + std::to_string(d.port)));
      }
      if (d.via != mb::transport::rtu) continue;
      const auto differs = [&](const char* key, auto a, auto b) {
        if (a != b) {
          errors.push_back(fmt::format("{}.{}: {} differs from modbus.device[{}] ('{}': {}) on the same serial line {}",
                                       at, key, a, j, o.name, b, d.line.device));
        }
      };
      differs("baud", d.line.baud, o.line.baud);
      differs("parity", d.line.parity, o.line.parity);
      differs("data_bits", d.line.data_bits, o.line.data_bits);
      differs("stop_bits", d.line.stop_bits, o.line.stop_bits);
    }
  }
}

}  // namespace

void parse_modbus(const toml::table* t, const std::string& base_dir, modbus_section& out,
                  std::vector<std::string>& errors) {
  table_reader r(t, "modbus", errors);
  auto& o = out.poller;
  std::int64_t bmin = o.backoff_min.count(), bmax = o.backoff_max.count(), gap = o.inter_frame_gap.count();
  r.integer("backoff_min_ms", bmin, 10, 600'000);
  r.integer("backoff_max_ms", bmax, 10, 3'600'000);
  r.integer("inter_frame_gap_us", gap, 0, 1'000'000);
  r.integer("merge_gap", o.merge_gap, 0, 124);
  r.integer("max_failing_s", out.max_failing_s, 1, 30 * 24 * 3600);
  if (bmax < bmin) r.error("backoff_max_ms", "must be at least backoff_min_ms");
  o.backoff_min = std::chrono::milliseconds(bmin);
  o.backoff_max = std::chrono::milliseconds(bmax);
  o.inter_frame_gap = std::chrono::microseconds(gap);
  if (const toml::node* devs = r.node("device"); devs != nullptr) {
    if (!devs->is_array_of_tables()) {
      r.error("device", "must be an array of tables ([[modbus.device]])");
    } else {
      std::size_t i = 0;
      for (const auto& e : *devs->as_array()) {
        mb::device d;
        parse_device(*e.as_table(), i++, base_dir, d, errors);
        o.devices.push_back(std::move(d));
      }
      check_buses(o.devices, errors);
    }
  }
  r.finish();
}

}  // namespace herd::gateway
