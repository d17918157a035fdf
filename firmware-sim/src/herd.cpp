// The realistic herd's devices, faults and send order (physiology.cpp has the animals).
#include "herd/sim/herd.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <limits>
#include <queue>
#include <stdexcept>
#include <utility>

#include "fixed_math.hpp"
#include "herd/core/ids.hpp"
#include "herd/core/time_format.hpp"
#include "herd/sim/ids.hpp"
#include "physiology.hpp"

namespace herd::sim {

using namespace detail;

namespace {

struct window {
  std::int64_t from_ms, to_ms;
};

struct pending {
  std::int64_t send_ms;
  std::string payload;
  bool batched;
  bool duplicate;
  bool malformed = false;
};

struct device_state {
  device_kind kind = device_kind::collar;
  int interval_s = 600;
  std::uint32_t seq = 0;
  std::int64_t next_ms = 0;  // next sample
  std::string topic;
  std::int32_t bias_milli = 0;   // HERD.md: per-device bias up to ~0.4 °C
  std::int32_t drift_ppm = 0;    // clock drift [guess: ±40 ppm], resynced daily
  std::int64_t sync_phase_ms = 0;
  std::int64_t batt_start_micro = 0;
  std::int64_t drain_micro_day = 0;
  std::int64_t batt_swap_ms = 0;  // a new battery (100 %) from then on; 0 = none in the run
  std::int32_t rssi_base = 0;
  rng r{0};
  std::vector<window> offline;
  std::size_t off_i = 0;
  std::vector<window> falls;
  std::size_t fall_i = 0;
  std::vector<std::pair<std::int64_t, int>> owners;  // (from, animal), first from = min
  std::deque<pending> queue;
  std::size_t buffered = 0;  // batched entries in the queue

  std::int64_t key() const { return queue.empty() ? next_ms : std::min(queue.front().send_ms, next_ms); }
};

std::string iso(std::int64_t ms) { return core::iso8601_utc_ms(ms); }

// Replaces a payload by a corrupt frame (radio noise, a firmware bug); which kind from `h`.
std::string corrupt(const std::string& payload, std::uint32_t seq, std::uint64_t h) {
  switch (h % 5) {
    case 0: return payload.substr(0, 1 + (h >> 8) % (payload.size() - 1));  // truncated
    case 1: {  // the decimal point lost: temperature out of range
      std::string p = payload;
      const auto at = p.find("\"temp_c\":");
      if (at != std::string::npos) {
        const auto dot = p.find('.', at);
        if (dot != std::string::npos) p.erase(dot, 1);
        return p;
      }
      return "{\"seq\":" + std::to_string(seq) + ",\"ts\":-5}";
    }
    case 2: {  // wrong type
      std::string p = payload;
      const std::string num = std::to_string(seq);
      return p.replace(p.find(num), num.size(), "\"" + num + "\"");
    }
    case 3: {  // radio noise: bytes that are not even UTF-8
      std::string p(24, '\0');
      std::uint64_t x = h;
      for (auto& c : p) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        c = static_cast<char>(0x80 | (x >> 57));
      }
      return p;
    }
    default:  // the required seq missing
      return "{" + payload.substr(payload.find(',') + 1);
  }
}

}  // namespace

std::string_view to_string(episode_kind k) {
  switch (k) {
    case episode_kind::fever: return "fever";
    case episode_kind::estrus: return "estrus";
    case episode_kind::lameness: return "lameness";
    case episode_kind::ketosis: return "ketosis";
    case episode_kind::displaced_abomasum: return "displaced_abomasum";
    case episode_kind::calving: return "calving";
    case episode_kind::heat_stress: return "heat_stress";
    case episode_kind::offline: return "offline";
    case episode_kind::fall_off: return "fall_off";
    case episode_kind::collar_move: return "collar_move";
  }
  return "?";
}

std::optional<episode_kind> episode_kind_from(std::string_view s) {
  for (int k = 0; k <= static_cast<int>(episode_kind::collar_move); ++k) {
    if (to_string(static_cast<episode_kind>(k)) == s) return static_cast<episode_kind>(k);
  }
  return std::nullopt;
}

std::string_view magnitude_unit(episode_kind k) {
  switch (k) {
    case episode_kind::fever: return "temp_rise_milli_c";
    case episode_kind::estrus: return "activity_peak_pct";
    case episode_kind::lameness: return "activity_drop_pct";
    case episode_kind::ketosis:
    case episode_kind::displaced_abomasum: return "rumination_drop_pct";
    case episode_kind::calving: return "temp_drop_milli_c";
    case episode_kind::heat_stress: return "thi_max_deci";
    case episode_kind::offline: return "readings_affected";
    default: return "";
  }
}

core::status validate(const herd_options& o) {
  std::string problems;
  const auto add = [&](const std::string& p) { problems += (problems.empty() ? "" : "; ") + p; };
  if (o.animals < 1 || o.animals > k_max_collars) add(fmt::format("animals must be 1..{}, got {}", k_max_collars, o.animals));
  if (o.days < 1 || o.days > 3660) add(fmt::format("days must be 1..3660, got {}", o.days));
  if (o.bolus_pct < 0 || o.bolus_pct > 100) add(fmt::format("bolus_pct must be 0..100, got {}", o.bolus_pct));
  for (const int iv : {o.bolus_interval_s, o.collar_interval_s}) {
    if (iv < 1 || iv > 86'400) add(fmt::format("device intervals must be 1..86400 s, got {}", iv));
  }
  if (!core::is_valid_topic_id(o.farm_id)) add(fmt::format("farm id '{}' must be 1-64 of [A-Za-z0-9._:-]", o.farm_id));
  if (o.start_ms < 0 || o.start_ms > 200'000'000'000'000) add("start must be 1970..8000");
  for (const auto& v : {o.milking_min, o.feeding_min}) {
    for (const int m : v) {
      if (m < 0 || m >= 1440) add(fmt::format("milking/feeding times must be 00:00..23:59, got minute {}", m));
    }
  }
  const auto& f = o.faults;
  if (f.offline_min_s < 1 || f.offline_max_s < f.offline_min_s) add("faults: need 1 <= offline_min_s <= offline_max_s");
  if (f.buffer_readings < 0) add("faults: buffer_readings must be >= 0");
  for (const double p : {f.duplicate_pct, f.malformed_pct, o.rates.ketosis_pct, o.rates.displaced_abomasum_pct,
                         o.rates.metritis_pct, o.rates.silent_estrus_pct, o.rates.conception_pct}) {
    if (!(p >= 0 && p <= 100)) add(fmt::format("percentages must be 0..100, got {}", p));
  }
  for (const double r : {f.offline_per_device_day, f.fall_off_per_collar_year, f.move_per_collar_year,
                         o.rates.fever_per_animal_year, o.rates.lameness_per_animal_year}) {
    if (!(r >= 0 && r <= 1000)) add(fmt::format("rates must be 0..1000, got {}", r));
  }
  for (const auto& s : o.script) {
    if (s.animal < 0 || s.animal >= o.animals) add(fmt::format("script: animal index {} outside the herd", s.animal));
    if (s.kind >= episode_kind::heat_stress) add(fmt::format("script: kind {} cannot be scripted", to_string(s.kind)));
  }
  for (std::size_t i = 1; i < o.thi.size(); ++i) {
    if (o.thi[i].at_ms <= o.thi[i - 1].at_ms) {
      add("thi: times must increase");
      break;
    }
  }
  if (!problems.empty()) return core::error::permanent(problems);
  return core::ok_v;
}

struct herd::impl {
  explicit impl(herd_options o) : phys(o) {}
  physiology phys;
  std::vector<device_state> dev;
  herd_stats stats;
  std::priority_queue<std::pair<std::int64_t, int>, std::vector<std::pair<std::int64_t, int>>,
                      std::greater<>>
      heap;
  std::vector<registry_entry> moves;
  std::vector<std::vector<std::pair<std::int64_t, int>>> wearer;  // per animal: (from, device)

  void build_devices();
  void schedule_device_faults();
  void sample(int d);
  int owner(int d, std::int64_t t) const {
    const auto& o = dev[static_cast<std::size_t>(d)].owners;
    auto it = std::upper_bound(o.begin(), o.end(), t, [](std::int64_t x, const auto& p) { return x < p.first; });
    return it == o.begin() ? o.front().second : std::prev(it)->second;
  }
};

void herd::impl::build_devices() {
  const auto& o = phys.opts();
  dev.resize(static_cast<std::size_t>(o.animals));
  for (int d = 0; d < o.animals; ++d) {
    auto& s = dev[static_cast<std::size_t>(d)];
    rng r(derive_seed(o.seed, s_device, static_cast<std::uint64_t>(d)));
    s.kind = r.uniform(0, 99) < o.bolus_pct ? device_kind::bolus : device_kind::collar;
    s.interval_s = s.kind == device_kind::bolus ? o.bolus_interval_s : o.collar_interval_s;
    s.topic = fmt::format("farm/{}/collar/{}/telemetry", o.farm_id, collar_id(d));
    s.seq = o.first_seq ? *o.first_seq : static_cast<std::uint32_t>(r.uniform(0, 999'999));
    s.next_ms = o.start_ms + r.uniform(1, s.interval_s) * 1000;  // devices are not in step
    s.bias_milli = static_cast<std::int32_t>(s.kind == device_kind::bolus ? r.uniform(-200, 200) : r.uniform(-100, 100));
    s.drift_ppm = static_cast<std::int32_t>(r.uniform(-40, 40));
    s.sync_phase_ms = r.uniform(0, 1439) * k_min_ms;
    // A herd's devices are of all ages: the battery at the start is anywhere in its usable range
    // (HERD.md: battery decline), 21-100 % [guess; a device found below the 20 % warning is
    // serviced]. It was 70-100 %, so no battery of a 60-day run reached the warning.
    s.batt_start_micro = r.uniform(21, 100) * 1'000'000;
    s.drain_micro_day = r.uniform(100'000, 500'000);
    {
      // The farmer changes the battery 3-10 days after it reaches 20 % [guess]. Its own stream, so
      // the device's other draws are as before.
      rng rb(derive_seed(o.seed, s_battery, static_cast<std::uint64_t>(d)));
      const std::int64_t low_ms = (s.batt_start_micro - 20'000'000) / s.drain_micro_day * k_day_ms +
                                  (s.batt_start_micro - 20'000'000) % s.drain_micro_day * k_day_ms / s.drain_micro_day;
      s.batt_swap_ms = o.start_ms + low_ms + rb.uniform(3 * 1440, 10 * 1440) * k_min_ms;
    }
    s.rssi_base = static_cast<std::int32_t>(r.uniform(-90, -60));
    s.r = rng(derive_seed(o.seed, s_sample, static_cast<std::uint64_t>(d)));
    s.owners.push_back({std::numeric_limits<std::int64_t>::min(), d});
  }
  wearer.resize(dev.size());
  for (int d = 0; d < o.animals; ++d) wearer[static_cast<std::size_t>(d)].push_back({std::numeric_limits<std::int64_t>::min(), d});
}

void herd::impl::schedule_device_faults() {
  const auto& o = phys.opts();
  const std::int64_t S = o.start_ms, E = phys.end_ms();
  const auto& f = o.faults;
  std::vector<int> collars;
  for (int d = 0; d < o.animals; ++d) {
    if (dev[static_cast<std::size_t>(d)].kind == device_kind::collar) collars.push_back(d);
  }
  // Collar moves: two collars swapped between their animals (boluses are swallowed and stay).
  {
    rng r(derive_seed(o.seed, s_moves, 0));
    const std::int64_t rate = fx::ppm(f.move_per_collar_year) * static_cast<std::int64_t>(collars.size());
    if (rate > 0 && collars.size() >= 2) {
      const std::int64_t mean_min = 365LL * 1440 * 1'000'000 / rate;
      for (std::int64_t t = S;;) {
        t += std::max<std::int64_t>(1, fx::exponential(r, std::max<std::int64_t>(mean_min, 1))) * k_min_ms;
        if (t >= E) break;
        const auto n = static_cast<std::int64_t>(collars.size());
        const int a = collars[static_cast<std::size_t>(r.uniform(0, n - 1))];
        int b = collars[static_cast<std::size_t>(r.uniform(0, n - 2))];
        if (b == a) b = collars.back();
        const int an = owner(a, t), bn = owner(b, t);
        auto& da = dev[static_cast<std::size_t>(a)];
        auto& db = dev[static_cast<std::size_t>(b)];
        if (da.owners.back().first == t || db.owners.back().first == t) continue;
        da.owners.push_back({t, bn});
        db.owners.push_back({t, an});
        wearer[static_cast<std::size_t>(bn)].push_back({t, a});
        wearer[static_cast<std::size_t>(an)].push_back({t, b});
        for (const auto& [c, from, to] : {std::tuple{a, an, bn}, std::tuple{b, bn, an}}) {
          episode e;
          e.kind = episode_kind::collar_move;
          e.animal = from;
          e.other_animal = to;
          e.device = c;
          e.onset_ms = e.peak_ms = e.end_ms = t;
          phys.episodes().push_back(e);
          moves.push_back({collar_id(c), animal_id(to), t});
        }
      }
    }
  }
  for (int d = 0; d < o.animals; ++d) {
    auto& s = dev[static_cast<std::size_t>(d)];
    rng r(derive_seed(o.seed, s_faults, static_cast<std::uint64_t>(d)));
    // Offline gaps: a Poisson process per device.
    const std::int64_t off_rate = fx::ppm(f.offline_per_device_day);
    if (off_rate > 0) {
      const std::int64_t mean_s = 86'400LL * 1'000'000 / off_rate;
      for (std::int64_t t = S;;) {
        t += std::max<std::int64_t>(1, fx::exponential(r, std::max<std::int64_t>(mean_s, 1))) * 1000;
        if (t >= E) break;
        const std::int64_t len = r.uniform(f.offline_min_s, f.offline_max_s) * 1000;
        s.offline.push_back({t, t + len});
        episode e;
        e.kind = episode_kind::offline;
        e.device = d;
        e.animal = owner(d, t);
        e.onset_ms = t;
        e.end_ms = t + len;
        // Readings measured during the gap (the batch, plus those lost from a full buffer).
        const std::int64_t first = s.next_ms + std::max<std::int64_t>(0, (t - s.next_ms + s.interval_s * 1000LL - 1) / (s.interval_s * 1000LL)) * s.interval_s * 1000LL;
        e.magnitude = first >= t + len ? 0 : static_cast<std::int32_t>((t + len - 1 - first) / (s.interval_s * 1000LL) + 1);
        e.peak_ms = t + len;  // the batch upload
        phys.episodes().push_back(e);
        t += len;
      }
    }
    // Falls: collars only, found and refitted after 6 h .. 3 days [guess].
    const std::int64_t fall_rate = fx::ppm(f.fall_off_per_collar_year);
    if (s.kind == device_kind::collar && fall_rate > 0) {
      const std::int64_t mean_min = 365LL * 1440 * 1'000'000 / fall_rate;
      for (std::int64_t t = S;;) {
        t += std::max<std::int64_t>(1, fx::exponential(r, std::max<std::int64_t>(mean_min, 1))) * k_min_ms;
        if (t >= E) break;
        const std::int64_t len = r.uniform(6 * 60, 72 * 60) * k_min_ms;
        s.falls.push_back({t, t + len});
        episode e;
        e.kind = episode_kind::fall_off;
        e.device = d;
        e.animal = owner(d, t);
        e.onset_ms = t;
        e.diagnosis_ms = t + len;  // found
        e.end_ms = t + len;
        phys.episodes().push_back(e);
        t += len;
      }
    }
  }
  // Health episodes name the device on the animal at onset.
  for (auto& e : phys.episodes()) {
    if (e.device >= 0 || e.animal < 0) continue;
    const auto& w = wearer[static_cast<std::size_t>(e.animal)];
    auto it = std::upper_bound(w.begin(), w.end(), e.onset_ms, [](std::int64_t x, const auto& p) { return x < p.first; });
    e.device = it == w.begin() ? w.front().second : std::prev(it)->second;
  }
}

herd::herd(herd_options opts) {
  if (auto st = validate(opts); !st) throw std::invalid_argument(st.err().message);
  std::sort(opts.thi.begin(), opts.thi.end(), [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
  impl_ = std::make_unique<impl>(std::move(opts));
  auto& s = *impl_;
  s.build_devices();
  s.schedule_device_faults();
  s.phys.finish_episodes();
  for (int d = 0; d < static_cast<int>(s.dev.size()); ++d) s.heap.push({s.dev[static_cast<std::size_t>(d)].key(), d});
}

herd::~herd() = default;
herd::herd(herd&&) noexcept = default;
herd& herd::operator=(herd&&) noexcept = default;

void herd::impl::sample(int d) {
  auto& s = dev[static_cast<std::size_t>(d)];
  const auto& o = phys.opts();
  const std::int64_t t = s.next_ms;
  s.next_ms += s.interval_s * 1000LL;
  ++stats.sampled;
  while (s.fall_i < s.falls.size() && s.falls[s.fall_i].to_ms <= t) ++s.fall_i;
  while (s.off_i < s.offline.size() && s.offline[s.off_i].to_ms <= t) ++s.off_i;
  const bool fallen = s.fall_i < s.falls.size() && s.falls[s.fall_i].from_ms <= t;
  const bool offline = s.off_i < s.offline.size() && s.offline[s.off_i].from_ms <= t;

  collar_values v;
  if (fallen) {
    // In the bedding: flat activity, no rumination, the sensor at ambient temperature.
    ++stats.fallen_readings;
    v.temp_centi_c = static_cast<std::int32_t>((phys.ambient_milli_c(t) + fx::normal(s.r, 300)) / 10);
  } else {
    v = phys.measure(owner(d, t), t, s.interval_s, s.kind);
    v.temp_centi_c += s.bias_milli / 10;
  }
  // The format's range is 25..45 °C; firmware leaves temp_c out beyond it.
  v.has_temp = v.temp_centi_c >= 2500 && v.temp_centi_c <= 4500;
  if (!v.has_temp) ++stats.no_temp;
  const bool swapped = t >= s.batt_swap_ms;
  const std::int64_t elapsed = t - (swapped ? s.batt_swap_ms : o.start_ms);
  const std::int64_t batt = (swapped ? 100'000'000 : s.batt_start_micro) - elapsed / 1000 * s.drain_micro_day / 86'400;
  v.batt_pct = static_cast<std::uint32_t>((std::max<std::int64_t>(batt, 0) + 999'999) / 1'000'000);
  // HERD.md: RSSI varies with barn position (a new position every 2 h) [guess: ±8 dB].
  const std::int64_t pos = fx::uniform_from(fx::hash4(o.seed, s_rssi, static_cast<std::uint64_t>(d),
                                                      static_cast<std::uint64_t>(t / (2 * k_hour_ms))), -8, 8);
  v.rssi_dbm = static_cast<std::int32_t>(fx::clamp(s.rssi_base + pos + s.r.uniform(-3, 3), -110, -40));
  // Clock drift since the last daily resync.
  std::int64_t since_sync = (t - s.sync_phase_ms) % k_day_ms;
  if (since_sync < 0) since_sync += k_day_ms;
  const std::int64_t ts = t + since_sync * s.drift_ppm / 1'000'000;
  const std::uint32_t seq = s.seq++;
  std::string payload = format_payload(seq, ts, s.interval_s, v);
  // Per-reading faults; the draws are made for every reading so rates do not shift the rest.
  const std::uint64_t fault_draw = s.r.next();
  const bool malformed = static_cast<std::int64_t>(fault_draw % 1'000'000) < fx::ppm(o.faults.malformed_pct / 100.0);
  const bool duplicate = static_cast<std::int64_t>((fault_draw >> 24) % 1'000'000) < fx::ppm(o.faults.duplicate_pct / 100.0);
  const std::int64_t dup_delay = s.r.uniform(1, 30) * 1000;
  if (malformed) {
    payload = corrupt(payload, seq, fx::remix(fault_draw, 7));
  }
  if (offline) {
    const std::int64_t at = s.offline[s.off_i].to_ms;
    if (static_cast<int>(s.buffered) >= o.faults.buffer_readings) {
      // The buffer is full: the oldest buffered reading is lost.
      for (auto it = s.queue.begin(); it != s.queue.end(); ++it) {
        if (it->batched && !it->duplicate) {
          s.queue.erase(it);
          --s.buffered;
          ++stats.lost;
          break;
        }
      }
    }
    if (o.faults.buffer_readings > 0) {
      s.queue.push_back({at, payload, true, false, malformed});
      ++s.buffered;
    } else {
      ++stats.lost;
    }
    if (duplicate && o.faults.buffer_readings > 0) s.queue.push_back({at, payload, true, true, malformed});
  } else {
    s.queue.push_back({t, payload, false, false, malformed});
    if (duplicate) {
      // A resend after a lost acknowledgement, before the next reading.
      s.queue.push_back({t + std::min<std::int64_t>(dup_delay, std::max<std::int64_t>(0, s.interval_s * 1000LL - 1)), std::move(payload), false, true, malformed});
    }
  }
}

std::optional<message> herd::next() {
  auto& s = *impl_;
  const std::int64_t end = s.phys.end_ms();
  while (!s.heap.empty()) {
    const auto [key, d] = s.heap.top();
    if (key >= end) return std::nullopt;
    s.heap.pop();
    auto& dv = s.dev[static_cast<std::size_t>(d)];
    if (!dv.queue.empty() && dv.queue.front().send_ms <= dv.next_ms) {
      pending p = std::move(dv.queue.front());
      dv.queue.pop_front();
      if (p.batched && !p.duplicate) --dv.buffered;
      ++s.stats.sent;
      if (p.malformed) ++s.stats.malformed;
      if (!p.malformed && !p.duplicate) ++s.stats.valid;
      if (p.duplicate) ++s.stats.duplicates;
      else if (p.batched) ++s.stats.batched;
      else ++s.stats.live;
      s.heap.push({dv.key(), d});
      return message{dv.topic, std::move(p.payload), p.send_ms};
    }
    s.sample(d);
    s.heap.push({dv.key(), d});
  }
  return std::nullopt;
}

const herd_options& herd::options() const { return impl_->phys.opts(); }
std::int64_t herd::end_ms() const { return impl_->phys.end_ms(); }
const herd_stats& herd::stats() const { return impl_->stats; }
int herd::devices() const { return static_cast<int>(impl_->dev.size()); }
device_kind herd::kind(int d) const { return impl_->dev.at(static_cast<std::size_t>(d)).kind; }
int herd::interval_s(int d) const { return impl_->dev.at(static_cast<std::size_t>(d)).interval_s; }
const animal_profile& herd::profile(int a) const { return impl_->phys.animal(a).p; }
std::int64_t herd::days_in_milk(int a, std::int64_t t) const { return impl_->phys.days_in_milk(a, t); }
int herd::animal_of(int d, std::int64_t at_ms) const { return impl_->owner(d, at_ms); }
const std::vector<episode>& herd::episodes() const { return impl_->phys.episodes(); }

collar_values herd::measure(int a, std::int64_t t_ms, int interval_s, device_kind k) const {
  return impl_->phys.measure(a, t_ms, interval_s, k);
}
std::int32_t herd::core_temp_milli_c(int a, std::int64_t t_ms, bool reticulum) const {
  return impl_->phys.core_temp_milli_c(a, t_ms, reticulum);
}
std::int32_t herd::thi_deci(std::int64_t t_ms) const { return impl_->phys.thi_deci(t_ms); }
std::vector<herd::drink> herd::drinking_bouts(int a, std::int64_t day_start_ms) const {
  return impl_->phys.drinking_bouts(a, day_start_ms / k_day_ms);
}

std::vector<registry_entry> herd::registry() const {
  const auto& o = options();
  const std::int64_t valid_from = registry_valid_from_ms(o.start_ms);
  std::vector<registry_entry> rows;
  for (int d = 0; d < devices(); ++d) rows.push_back({collar_id(d), animal_id(d), valid_from});
  for (const auto& m : impl_->moves) rows.push_back(m);
  return rows;
}

core::status herd::write_registry(const std::filesystem::path& path) const {
  // Same file format as the fleet's: reuse its writer through a temporary file.
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return core::error::fatal(fmt::format("cannot write registry {}", tmp.string()));
    out << "collar_id,animal_id,valid_from\n";
    for (const auto& r : registry()) {
      // Second precision: moves are on whole minutes.
      std::string when = iso(r.valid_from_ms);
      const auto dot = when.find('.');
      if (dot != std::string::npos) when = when.substr(0, dot) + "Z";
      out << r.collar_id << ',' << r.animal_id << ',' << when << '\n';
    }
    out.flush();
    if (!out) return core::error::fatal(fmt::format("cannot write registry {}", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return core::error::fatal(fmt::format("cannot move registry into place at {}: {}", path.string(), ec.message()));
  return core::ok_v;
}

std::string ground_truth_line(const episode& e, const herd& h) {
  nlohmann::ordered_json j;
  const auto t = [](std::int64_t ms) { return ms == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(iso(ms)); };
  j["id"] = e.id;
  j["kind"] = to_string(e.kind);
  j["subtype"] = e.subtype.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(e.subtype);
  j["animal_id"] = e.animal >= 0 ? nlohmann::ordered_json(animal_id(e.animal)) : nlohmann::ordered_json(nullptr);
  j["collar_id"] = e.device >= 0 ? nlohmann::ordered_json(collar_id(e.device)) : nlohmann::ordered_json(nullptr);
  j["device"] = e.device >= 0 ? nlohmann::ordered_json(h.kind(e.device) == device_kind::bolus ? "bolus" : "collar")
                              : nlohmann::ordered_json(nullptr);
  j["onset"] = t(e.onset_ms);
  j["prodrome"] = t(e.prodrome_ms);
  j["peak"] = t(e.peak_ms);
  j["diagnosis"] = t(e.diagnosis_ms);
  j["end"] = t(e.end_ms);
  j["magnitude"] = e.magnitude;
  j["unit"] = magnitude_unit(e.kind);
  j["silent"] = e.silent;
  j["to_animal_id"] = e.other_animal >= 0 ? nlohmann::ordered_json(animal_id(e.other_animal)) : nlohmann::ordered_json(nullptr);
  if (e.animal >= 0 && e.kind < episode_kind::heat_stress) {
    const auto& p = h.profile(e.animal);
    j["days_in_milk"] = h.days_in_milk(e.animal, e.onset_ms);
    j["parity"] = p.parity;
  }
  j["source"] = e.scripted ? "script" : "seed";
  return j.dump();
}

core::status herd::write_ground_truth(const std::filesystem::path& path, std::int64_t until_ms) const {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return core::error::fatal(fmt::format("cannot write ground truth {}", tmp.string()));
    for (const auto& e : episodes()) {
      if (e.onset_ms >= until_ms) break;
      out << ground_truth_line(e, *this) << '\n';
    }
    out.flush();
    if (!out) return core::error::fatal(fmt::format("cannot write ground truth {}", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return core::error::fatal(fmt::format("cannot move ground truth into place at {}: {}", path.string(), ec.message()));
  return core::ok_v;
}

namespace {

// The herd's animals behind the collar_model interface, for the round-robin fleet.
class herd_model final : public collar_model {
 public:
  herd_model(herd_options o, int interval_s) : interval_s_(interval_s), h_(std::move(o)) {}
  collar_values sample(int collar, std::uint64_t k) override {
    const std::int64_t t = h_.options().start_ms + static_cast<std::int64_t>(k + 1) * interval_s_ * 1000;
    collar_values v = h_.measure(collar, t, interval_s_, device_kind::collar);
    v.temp_centi_c = static_cast<std::int32_t>(fx::clamp(v.temp_centi_c, 2500, 4500));
    const std::uint64_t hsh = fx::hash4(h_.options().seed, s_rssi, static_cast<std::uint64_t>(collar), k);
    v.batt_pct = static_cast<std::uint32_t>(100 - static_cast<std::int64_t>(k) * interval_s_ / (86'400 * 4) % 100);
    v.rssi_dbm = static_cast<std::int32_t>(fx::uniform_from(hsh, -90, -60));
    return v;
  }

 private:
  int interval_s_;
  herd h_;
};

}  // namespace

std::unique_ptr<collar_model> make_herd_model(std::uint64_t seed, int collars, int interval_s,
                                              std::int64_t start_ms) {
  herd_options o;
  o.seed = seed;
  o.animals = collars;
  o.start_ms = start_ms;
  o.days = 365;
  o.bolus_pct = 0;
  o.faults = fault_rates{0, 1800, 1800, 0, 0, 0, 0, 0};
  return std::make_unique<herd_model>(std::move(o), interval_s);
}

}  // namespace herd::sim
