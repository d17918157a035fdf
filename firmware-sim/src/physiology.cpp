// The herd's physiology. Constants marked "HERD.md" come from ../shared/HERD.md; "[guess]" marks
// an estimate (as there).
#include "physiology.hpp"

#include <algorithm>

#include "fixed_math.hpp"

namespace herd::sim::detail {

namespace {

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// 0 at a, 1000 at b, linear in between, clamped.
std::int64_t ramp(std::int64_t t, std::int64_t a, std::int64_t b) {
  if (t <= a) return 0;
  if (t >= b) return 1000;
  return (t - a) * 1000 / (b - a);
}

// 0 outside [a, c], 1000 at b, linear on both sides.
std::int64_t triangle(std::int64_t t, std::int64_t a, std::int64_t b, std::int64_t c) {
  if (t <= a || t >= c) return 0;
  return t <= b ? ramp(t, a, b) : 1000 - ramp(t, b, c);
}

// A triangle bump of height h centred at `at` with half-width hw, on a circular day.
void add_bump(std::array<std::int64_t, 1440>& w, int at, int hw, std::int64_t h) {
  for (int d = -hw; d <= hw; ++d) {
    const int m = ((at + d) % 1440 + 1440) % 1440;
    w[static_cast<std::size_t>(m)] += h * (hw - (d < 0 ? -d : d)) / hw;
  }
}

bool night(int m) { return m < 300 || m >= 1260; }  // 21:00-05:00

}  // namespace

void day_curve::finish() {
  cum[0] = 0;
  for (std::size_t m = 0; m < 1440; ++m) cum[m + 1] = cum[m] + w[m];
}

std::int64_t day_curve::integral(std::int64_t t0_s, std::int64_t t1_s) const {
  // F(t) = ∫ from the epoch to t; the difference is the integral.
  const auto F = [&](std::int64_t t) {
    const std::int64_t day = floor_div(t, 86'400);
    const std::int64_t in_day = t - day * 86'400;
    const std::int64_t m = in_day / 60;
    const auto mi = static_cast<std::size_t>(m);
    return day * per_day() + cum[mi] * 60 + w[mi] * (in_day - m * 60);
  };
  return F(t1_s) - F(t0_s);
}

physiology::physiology(const herd_options& o)
    : o_(o), end_ms_(o.start_ms + static_cast<std::int64_t>(o.days) * k_day_ms) {
  build_curves();
  animals_.resize(static_cast<std::size_t>(o.animals));
  for (int a = 0; a < o.animals; ++a) {
    rng r(derive_seed(o.seed, s_profile, static_cast<std::uint64_t>(a)));
    auto& s = animals_[static_cast<std::size_t>(a)];
    // HERD.md: rectal 38.3-38.8 °C in adults.
    s.p.temp_base_milli_c = static_cast<std::int32_t>(r.uniform(38'300, 38'800));
    // HERD.md: rumination 441 ± 71 min/day, between cows SD 70-90.
    s.p.rum_min_day = static_cast<std::int32_t>(fx::clamp(441 + fx::normal(r, 75), 280, 640));
    // HERD.md: activity 2,500-3,000 steps/day.
    s.p.steps_day = static_cast<std::int32_t>(r.uniform(2'500, 3'000));
    // HERD.md: lying median 11.4 h/day.
    s.p.lying_min_day = static_cast<std::int32_t>(fx::clamp(684 + fx::normal(r, 60), 480, 840));
    // Calving interval 395 days [guess]: days in milk spread over it.
    s.p.dim_at_start = static_cast<std::int32_t>(r.uniform(0, 394));
    const std::int64_t pr = r.uniform(0, 99);  // parity 1: 35 %, 2: 25 %, 3: 20 %, 4-6: 20 % [guess]
    s.p.parity = pr < 35 ? 1 : pr < 60 ? 2 : pr < 80 ? 3 : static_cast<std::int32_t>(4 + pr % 3);
    s.heat_sensitivity_pct = static_cast<std::int32_t>(r.uniform(70, 130));
  }
  for (int a = 0; a < o.animals; ++a) schedule(a);
  add_heat_stress_episodes();
}

void physiology::build_curves() {
  for (int lact = 0; lact < 2; ++lact) {
    auto& act = act_[lact].w;
    for (int m = 0; m < 1440; ++m) act[static_cast<std::size_t>(m)] = night(m) ? 15 : 50;
    // HERD.md: activity peaks at feeding and milking [guess].
    if (lact) {
      for (int mk : o_.milking_min) add_bump(act, mk + 15, 45, 250);
    }
    for (int f : o_.feeding_min) add_bump(act, f + 20, 60, 180);
    act_[lact].finish();

    // Two harmonics, highest in the evening, two daily rises (HERD.md), plus a bump at milking.
    for (int m = 0; m < 1440; ++m) {
      const std::int64_t h1 = 280 * fx::cos_micro(m - 1080, 1440) / 1'000'000;
      const std::int64_t h2 = 120 * fx::cos_micro(2 * (m - 1080), 1440) / 1'000'000;
      rhythm_[lact][static_cast<std::size_t>(m)] = static_cast<std::int32_t>(h1 + h2);
    }
    if (lact) {
      for (int mk : o_.milking_min) {
        for (int d = 0; d < 90; ++d) {
          const auto m = static_cast<std::size_t>((mk + d) % 1440);
          rhythm_[lact][m] += static_cast<std::int32_t>(150 * triangle(d, -1, 30, 90) / 1000);
        }
      }
    }
  }
  // HERD.md: rumination mostly at night, peak ~4 h after feeding; little while being milked.
  for (int m = 0; m < 1440; ++m) rum_.w[static_cast<std::size_t>(m)] = night(m) ? 100 : 45;
  for (int f : o_.feeding_min) add_bump(rum_.w, f + 240, 120, 70);
  for (int mk : o_.milking_min) {
    for (int d = -20; d <= 40; ++d) rum_.w[static_cast<std::size_t>(((mk + d) % 1440 + 1440) % 1440)] /= 5;
  }
  rum_.finish();
  // HERD.md: lying mostly at night; standing while milked and at the fresh feed.
  for (int m = 0; m < 1440; ++m) lie_.w[static_cast<std::size_t>(m)] = night(m) ? 90 : 35;
  for (int mk : o_.milking_min) {
    for (int d = -45; d <= 45; ++d) lie_.w[static_cast<std::size_t>(((mk + d) % 1440 + 1440) % 1440)] = 0;
  }
  for (int f : o_.feeding_min) {
    for (int d = 0; d <= 60; ++d) lie_.w[static_cast<std::size_t>((f + d) % 1440)] = 10;
  }
  lie_.finish();
}

std::uint64_t physiology::secondary(const episode& e, std::uint64_t what) const {
  return fx::hash4(o_.seed, s_secondary,
                   static_cast<std::uint64_t>(e.animal) * 64 + static_cast<std::uint64_t>(e.kind),
                   static_cast<std::uint64_t>(e.onset_ms) * 8 + what);
}

// One episode of `kind` starting at onset_ms, its timeline and size drawn from r.
episode physiology::make(episode_kind kind, int a, std::int64_t onset_ms, rng& r) const {
  episode e;
  e.kind = kind;
  e.animal = a;
  e.onset_ms = onset_ms;
  const auto hours = [&](std::int64_t lo, std::int64_t hi) { return r.uniform(lo * 60, hi * 60) * k_min_ms; };
  switch (kind) {
    case episode_kind::fever: {
      // HERD.md: onset up to 4 days before diagnosis; rumination and activity fall and lying
      // rises 1.6-3 days before it.
      e.diagnosis_ms = onset_ms + hours(24, 96);
      e.prodrome_ms = e.diagnosis_ms - r.uniform(16 * 144, 30 * 144) * k_min_ms;  // 1.6..3.0 d
      e.peak_ms = std::max(onset_ms + 4 * k_hour_ms, e.diagnosis_ms - hours(0, 12));
      e.end_ms = e.diagnosis_ms + hours(48, 120);
      e.subtype = r.uniform(0, 99) < 70 ? "mastitis" : "pneumonia";
      // HERD.md: +1 to +2.5 °C; mastitis cases averaged 41.1 °C.
      e.magnitude = static_cast<std::int32_t>(e.subtype == "mastitis" ? r.uniform(1'800, 2'500)
                                                                       : r.uniform(1'000, 2'000));
      break;
    }
    case episode_kind::estrus: {
      // HERD.md: 8-15 h, triangular activity profile peaking at 3-4x baseline.
      const std::int64_t len = hours(8, 15);
      e.peak_ms = onset_ms + len * r.uniform(40, 60) / 100;
      e.end_ms = onset_ms + len;
      e.silent = r.uniform(0, 999'999) < fx::ppm(o_.rates.silent_estrus_pct / 100.0);
      e.magnitude = static_cast<std::int32_t>(e.silent ? r.uniform(100, 120) : r.uniform(300, 400));
      break;
    }
    case episode_kind::lameness: {
      // HERD.md: gradual over days.
      e.peak_ms = onset_ms + hours(72, 240);
      e.diagnosis_ms = e.peak_ms + hours(0, 72);
      e.end_ms = e.diagnosis_ms + hours(7 * 24, 21 * 24);
      e.magnitude = static_cast<std::int32_t>(r.uniform(25, 50));  // activity drop, %
      break;
    }
    case episode_kind::ketosis: {
      // HERD.md: rumination ~30 % lower, temperature normal; a rumination+activity health index
      // finds 91 % of ketoses 1.6 d before the clinical diagnosis. Rumination falls over 2 days;
      // the farm's fresh-cow checks find the clinical signs 0.5-3 days after it is fully down
      // [guess], so the diagnosis comes 2.5-5 days after the onset: an index that sees the
      // drop ~1.5 days in is then ~1.6 d ahead, as published. (It was 1.6-4 days: a 1.6-d lead
      // then meant alerting, for half of the cases, less than 29 h into the 2-day decline, when
      // the last 24 h of rumination are ~10 % down, within the cow's day-to-day variation.)
      e.peak_ms = onset_ms + 48 * k_hour_ms;
      e.diagnosis_ms = onset_ms + hours(60, 120);
      e.end_ms = e.diagnosis_ms + hours(72, 168);
      e.magnitude = static_cast<std::int32_t>(r.uniform(25, 35));  // rumination drop, %
      break;
    }
    case episode_kind::displaced_abomasum: {
      // HERD.md: sharper than ketosis; health index lead time 3 d.
      e.peak_ms = onset_ms + 12 * k_hour_ms;
      e.diagnosis_ms = onset_ms + hours(60, 96);
      e.end_ms = e.diagnosis_ms + 48 * k_hour_ms;
      e.magnitude = static_cast<std::int32_t>(r.uniform(50, 60));
      break;
    }
    case episode_kind::calving: {
      // onset = 24 h before the birth (peak); HERD.md: temperature -0.3 to -0.5 °C over it.
      e.peak_ms = onset_ms + 24 * k_hour_ms;
      e.diagnosis_ms = e.peak_ms;
      e.end_ms = e.peak_ms + 24 * k_hour_ms;
      e.magnitude = static_cast<std::int32_t>(r.uniform(300, 500));  // temperature drop, milli-°C
      break;
    }
    default:
      e.end_ms = onset_ms;
      break;
  }
  return e;
}

void physiology::schedule(int a) {
  auto& s = animals_[static_cast<std::size_t>(a)];
  rng r(derive_seed(o_.seed, s_episodes, static_cast<std::uint64_t>(a)));
  const std::int64_t S = o_.start_ms;
  const std::int64_t E = end_ms_;
  const auto minute = [](std::int64_t t) { return floor_div(t, k_min_ms) * k_min_ms; };
  const auto day_ms = [](std::int64_t d) { return d * k_day_ms; };
  std::vector<episode> mine;

  // Scripted episodes of this animal.
  for (const auto& sc : o_.script) {
    if (sc.animal != a) continue;
    episode e = make(sc.kind, a, sc.onset_ms, r);
    if (sc.subtype) e.subtype = *sc.subtype;
    if (sc.kind == episode_kind::fever && e.subtype == "metritis") e.magnitude = static_cast<std::int32_t>(r.uniform(1'000, 2'000));
    if (sc.peak_ms) e.peak_ms = *sc.peak_ms;
    if (sc.diagnosis_ms) e.diagnosis_ms = *sc.diagnosis_ms;
    if (sc.end_ms) e.end_ms = *sc.end_ms;
    if (sc.magnitude) e.magnitude = *sc.magnitude;
    if (sc.silent) e.silent = *sc.silent;
    if (e.prodrome_ms == 0 && e.kind == episode_kind::fever) e.prodrome_ms = e.onset_ms;
    e.scripted = true;
    if (e.kind == episode_kind::calving) s.calving_ms = e.peak_ms;
    mine.push_back(e);
  }

  if (o_.random_episodes) {
    const std::int64_t dim0 = s.p.dim_at_start;
    const bool pregnant = dim0 >= 115;  // 395 - 280 days of gestation
    std::int64_t calving_day0 = S - day_ms(dim0);  // the last calving
    // Calving: pregnant cows calve 395 days after the last calving [guess], at any hour.
    if (o_.rates.calving && pregnant && s.calving_ms == 0) {
      const std::int64_t c = minute(calving_day0 + day_ms(395) + r.uniform(-10 * 1440, 10 * 1440) * k_min_ms);
      if (c - 24 * k_hour_ms >= S && c < E) {
        mine.push_back(make(episode_kind::calving, a, c - 24 * k_hour_ms, r));
        s.calving_ms = c;
      }
    }
    if (s.calving_ms != 0) calving_day0 = s.calving_ms;
    // Fresh-cow problems after the last calving (HERD.md: 5-20 days in milk [guess]).
    const bool fresh_in_run = calving_day0 + day_ms(20) >= S;
    if (fresh_in_run) {
      if (r.uniform(0, 999'999) < fx::ppm(o_.rates.ketosis_pct / 100.0)) {
        const std::int64_t on = minute(calving_day0 + r.uniform(5 * 1440, 20 * 1440) * k_min_ms);
        if (on >= S && on < E) mine.push_back(make(episode_kind::ketosis, a, on, r));
      }
      if (r.uniform(0, 999'999) < fx::ppm(o_.rates.displaced_abomasum_pct / 100.0)) {
        const std::int64_t on = minute(calving_day0 + r.uniform(5 * 1440, 20 * 1440) * k_min_ms);
        if (on >= S && on < E) mine.push_back(make(episode_kind::displaced_abomasum, a, on, r));
      }
      if (r.uniform(0, 999'999) < fx::ppm(o_.rates.metritis_pct / 100.0)) {
        const std::int64_t on = minute(calving_day0 + r.uniform(3 * 1440, 14 * 1440) * k_min_ms);
        if (on >= S && on < E) {
          episode e = make(episode_kind::fever, a, on, r);
          e.subtype = "metritis";
          e.magnitude = static_cast<std::int32_t>(r.uniform(1'000, 2'000));
          mine.push_back(e);
        }
      }
    }
    // Estrus: every 21 days (20-22), the first at 29-34 days in milk (HERD.md), until conception.
    if (o_.rates.estrus && (!pregnant || s.calving_ms != 0)) {
      std::int64_t next = 0;
      if (s.calving_ms != 0) {
        next = s.calving_ms + r.uniform(29 * 1440, 34 * 1440) * k_min_ms;
      } else if (dim0 < 29) {
        next = calving_day0 + r.uniform(29 * 1440, 34 * 1440) * k_min_ms;
      } else {
        next = S + r.uniform(0, 21 * 1440) * k_min_ms;
      }
      while (next < E) {
        next = minute(next);
        episode e = make(episode_kind::estrus, a, next, r);
        if (next >= S) mine.push_back(e);
        const std::int64_t dim = (next - calving_day0) / k_day_ms;
        if (dim >= 50 && r.uniform(0, 999'999) < fx::ppm(o_.rates.conception_pct / 100.0)) break;
        next += r.uniform(20 * 1440, 22 * 1440) * k_min_ms;
      }
    }
    // Fever and lameness: Poisson processes over the run.
    const auto poisson = [&](double per_year, episode_kind kind) {
      const std::int64_t rate = fx::ppm(per_year);  // per million animal-years
      if (rate <= 0) return;
      const std::int64_t mean_min = 365LL * 1440 * 1'000'000 / rate;
      std::int64_t t = S;
      for (;;) {
        t += fx::exponential(r, mean_min) * k_min_ms;
        if (t >= E) break;
        mine.push_back(make(kind, a, minute(t), r));
      }
    };
    poisson(o_.rates.fever_per_animal_year, episode_kind::fever);
    poisson(o_.rates.lameness_per_animal_year, episode_kind::lameness);
  }
  for (auto& e : mine) episodes_.push_back(std::move(e));
}

void physiology::add_heat_stress_episodes() {
  // HERD.md: THI breakpoints 68 / 72 / 74. A heat-stress episode: THI >= 72 (moderate), periods
  // less than 2 h apart merged; the peak is the highest THI.
  const std::int64_t step = 10 * k_min_ms;
  episode cur;
  bool open = false;
  std::int64_t last_hot = 0;
  for (std::int64_t t = o_.start_ms; t < end_ms_; t += step) {
    const std::int32_t thi = thi_deci(t);
    if (thi >= 720) {
      if (open && t - last_hot > 2 * k_hour_ms) {
        episodes_.push_back(cur);
        open = false;
      }
      if (!open) {
        cur = episode{};
        cur.kind = episode_kind::heat_stress;
        cur.onset_ms = t;
        cur.peak_ms = t;
        cur.magnitude = thi;
        open = true;
      }
      if (thi > cur.magnitude) {
        cur.magnitude = thi;
        cur.peak_ms = t;
      }
      last_hot = t;
      cur.end_ms = t + step;
    }
  }
  if (open) episodes_.push_back(cur);
}

void physiology::finish_episodes() {
  std::stable_sort(episodes_.begin(), episodes_.end(), [](const episode& x, const episode& y) {
    if (x.onset_ms != y.onset_ms) return x.onset_ms < y.onset_ms;
    if (x.animal != y.animal) return x.animal < y.animal;
    return x.device < y.device;
  });
  for (auto& s : animals_) s.episodes.clear();
  for (std::size_t i = 0; i < episodes_.size(); ++i) {
    auto& e = episodes_[i];
    e.id = i + 1;
    const bool physiological = e.kind < episode_kind::heat_stress;
    if (physiological && e.animal >= 0) animals_[static_cast<std::size_t>(e.animal)].episodes.push_back(i);
  }
}

std::int64_t physiology::days_in_milk(int a, std::int64_t t) const {
  const auto& s = animal(a);
  if (s.calving_ms != 0 && t >= s.calving_ms) return (t - s.calving_ms) / k_day_ms;
  return s.p.dim_at_start + (t - o_.start_ms) / k_day_ms;
}

bool physiology::lactating(int a, std::int64_t t) const {
  return days_in_milk(a, t) < 305;  // a 305-day lactation, then dry until calving
}

effects physiology::effects_at(int a, std::int64_t t) const {
  effects fx_;
  const auto& s = animal(a);
  std::int64_t act_drop = 0, rum_drop = 0, lie_up = 0, act_up = 0;
  for (const std::size_t i : s.episodes) {
    const episode& e = episodes_[i];
    if (e.onset_ms > t + 4 * k_day_ms) break;  // sorted by onset; a prodrome is at most ~3 d earlier
    const std::int64_t first = e.prodrome_ms != 0 ? std::min(e.onset_ms, e.prodrome_ms) : e.onset_ms;
    if (first > t) continue;
    if (t >= e.end_ms + k_day_ms) continue;
    switch (e.kind) {
      case episode_kind::fever: {
        std::int64_t f = 0;
        if (t < e.peak_ms) f = ramp(t, e.onset_ms, e.peak_ms);
        else if (t < e.diagnosis_ms) f = 1000 - 100 * ramp(t, e.peak_ms, e.diagnosis_ms) / 1000;
        else f = 900 - 900 * ramp(t, e.diagnosis_ms, e.end_ms) / 1000;
        fx_.temp_milli += e.magnitude * f / 1000;
        // Behaviour: falls from the prodrome on, worst at the diagnosis, recovers by the end.
        std::int64_t b = t < e.diagnosis_ms ? ramp(t, e.prodrome_ms, e.diagnosis_ms)
                                            : 1000 - ramp(t, e.diagnosis_ms, e.end_ms);
        const std::uint64_t h = secondary(e, 1);
        rum_drop += b * fx::uniform_from(h, 25, 50) / 1000;          // % [guess]
        act_drop += b * fx::uniform_from(fx::remix(h, 20), 20, 40) / 1000;    // % [guess]
        lie_up += b * 15 / 1000;
        break;
      }
      case episode_kind::estrus: {
        const std::int64_t f = triangle(t, e.onset_ms, e.peak_ms, e.end_ms);
        if (f == 0) break;
        const std::uint64_t h = secondary(e, 2);
        act_up += (e.magnitude - 100) * f / 1000;             // ratio percent - 100
        fx_.temp_milli += fx::uniform_from(h, 300, 600) * f / 1000;  // HERD.md +0.3-0.6 °C
        rum_drop += 20 * f / 1000;                            // "rumination dips" [guess]
        lie_up -= 30 * f / 1000;
        break;
      }
      case episode_kind::lameness: {
        const std::int64_t f = t < e.diagnosis_ms ? ramp(t, e.onset_ms, e.peak_ms)
                                                   : 1000 - ramp(t, e.diagnosis_ms, e.end_ms);
        act_drop += e.magnitude * f / 1000;
        lie_up += 9 * f / 1000;  // HERD.md: lying +0.6 h/day of ~11.4
        rum_drop += fx::uniform_from(secondary(e, 3), 5, 15) * f / 1000;
        break;
      }
      case episode_kind::ketosis:
      case episode_kind::displaced_abomasum: {
        const std::int64_t hold = e.diagnosis_ms + (e.kind == episode_kind::ketosis ? 48 : 0) * k_hour_ms;
        const std::int64_t f = t < hold ? ramp(t, e.onset_ms, e.peak_ms) : 1000 - ramp(t, hold, e.end_ms);
        rum_drop += e.magnitude * f / 1000;
        act_drop += (e.kind == episode_kind::ketosis ? 15 : 30) * f / 1000;
        break;
      }
      case episode_kind::calving: {
        const std::int64_t c = e.peak_ms;
        // HERD.md: temperature -0.3..-0.5 °C over the last 24 h; rumination -33 % over the day,
        // -27 % more in the last 6 h relative to the hours before; activity spike after.
        fx_.temp_milli -= t < c ? e.magnitude * ramp(t, e.onset_ms, c) / 1000
                                : e.magnitude * (1000 - ramp(t, c, c + 12 * k_hour_ms)) / 1000;
        if (t >= e.onset_ms && t < c - 6 * k_hour_ms) rum_drop += 28;
        else if (t >= c - 6 * k_hour_ms && t < c) rum_drop += 48;
        else if (t >= c) rum_drop += 30 * (1000 - ramp(t, c, e.end_ms)) / 1000;
        if (t >= c - 6 * k_hour_ms && t < c) act_up += 30;
        if (t >= c) act_up += 120 * (1000 - ramp(t, c, c + 8 * k_hour_ms)) / 1000;
        break;
      }
      default:
        break;
    }
  }
  // Heat stress (HERD.md: THI breakpoints 68 / 72 / 74): temperature up, rumination and lying
  // down; the size per THI unit is a [guess].
  const std::int64_t thi = thi_deci(t);
  if (thi > 680) {
    const std::int64_t over68 = thi - 680, over72 = std::max<std::int64_t>(thi - 720, 0),
                       over74 = std::max<std::int64_t>(thi - 740, 0);
    const std::int64_t sens = s.heat_sensitivity_pct;
    fx_.temp_milli += (over68 * 2 + over72 * 3 + over74 * 4) * sens / 100;  // per 0.1 THI
    rum_drop += over68 * 15 / 100 * sens / 100;   // 1.5 % per THI unit
    lie_up -= over68 * 10 / 100 * sens / 100;     // 1 % per THI unit
  }
  fx_.act_permille = std::max<std::int64_t>(0, 1000 - act_drop * 10) * (100 + act_up) / 100;
  fx_.rum_permille = std::max<std::int64_t>(0, 1000 - rum_drop * 10);
  fx_.lie_permille = std::max<std::int64_t>(0, 1000 + lie_up * 10);
  return fx_;
}

std::int32_t physiology::thi_deci(std::int64_t t) const {
  if (!o_.thi.empty()) {
    const auto& p = o_.thi;
    if (t <= p.front().at_ms) return p.front().thi_deci;
    if (t >= p.back().at_ms) return p.back().thi_deci;
    const auto it = std::upper_bound(p.begin(), p.end(), t,
                                     [](std::int64_t x, const thi_point& q) { return x < q.at_ms; });
    const auto& b = *it;
    const auto& a = *std::prev(it);
    return static_cast<std::int32_t>(a.thi_deci + (b.thi_deci - a.thi_deci) * (t - a.at_ms) / (b.at_ms - a.at_ms));
  }
  // Central European season [guess]: THI ~45 in January, ~70 at the end of July; ±6 over the
  // day, highest at 15:00; weather swings of ±5 drawn per 3-day block.
  const std::int64_t season = 575 + 125 * fx::cos_micro(t / 8'640 - 2'000'000, 3'652'425) / 1'000'000;
  const std::int64_t m = floor_div(t, k_min_ms) % 1440;
  const std::int64_t daily = 60 * fx::cos_micro(m - 900, 1440) / 1'000'000;
  const std::int64_t block_ms = 3 * k_day_ms;
  const std::int64_t b = floor_div(t, block_ms);
  const auto swing = [&](std::int64_t blk) {
    return fx::uniform_from(fx::hash4(o_.seed, s_thi, static_cast<std::uint64_t>(blk), 0), -50, 50);
  };
  const std::int64_t w0 = swing(b), w1 = swing(b + 1);
  const std::int64_t weather = w0 + (w1 - w0) * (t - b * block_ms) / block_ms;
  return static_cast<std::int32_t>(season + daily + weather);
}

std::int32_t physiology::ambient_milli_c(std::int64_t t) const {
  // THI = 0.8 T + RH (T - 14.4) + 46.4; at RH 70 % [guess]: THI = 1.5 T + 36.3.
  return static_cast<std::int32_t>((static_cast<std::int64_t>(thi_deci(t)) * 100 - 36'300) * 10 / 15);
}

std::vector<herd::drink> physiology::drinking_bouts(int a, std::int64_t day) const {
  // HERD.md: 5-12 drinking bouts a day, 80 % between 05:00 and 21:00; dips of 2.3 ± 1.8 °C
  // (up to 8.5 °C), recovery 30-103 min. More bouts in heat (HERD.md: drinking up).
  const auto ua = static_cast<std::uint64_t>(a);
  const auto ud = static_cast<std::uint64_t>(day);
  std::uint64_t h = fx::hash4(o_.seed, s_drink, ua, ud * 64);
  std::int64_t n = fx::uniform_from(h, 5, 12);
  const std::int64_t thi = thi_deci(day * k_day_ms + 15 * k_hour_ms);
  if (thi > 680) n += (thi - 680) / 30;
  std::vector<herd::drink> out;
  out.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    h = fx::hash4(o_.seed, s_drink, ua, ud * 64 + 1 + static_cast<std::uint64_t>(i));
    const bool day_time = fx::uniform_from(h, 0, 99) < 80;
    const std::int64_t sec = day_time ? fx::uniform_from(fx::remix(h, 8), 5 * 3600, 21 * 3600 - 1)
                                      : (21 * 3600 + fx::uniform_from(fx::remix(h, 8), 0, 8 * 3600 - 1)) % 86'400;
    const std::uint64_t h2 = fx::hash4(o_.seed, s_drink, ua, ud * 64 + 40 + static_cast<std::uint64_t>(i));
    const std::int64_t dip = fx::clamp(2'100 + fx::normal_from(h2, 1'600), 300, 8'500);
    const std::int64_t rec = fx::uniform_from(fx::remix(h2, 3), 30, 103) * 60;
    out.push_back({day * k_day_ms + sec * 1000, static_cast<std::int32_t>(dip), static_cast<std::int32_t>(rec)});
  }
  return out;
}

std::int32_t physiology::drinking_dip_milli_c(int a, std::int64_t t) const {
  const std::int64_t day = floor_div(t, k_day_ms);
  std::int64_t dip = 0;
  for (std::int64_t d = day - 1; d <= day; ++d) {
    for (const auto& b : drinking_bouts(a, d)) {
      const std::int64_t dt = (t - b.at_ms) / 1000;
      if (dt < 0 || dt >= b.recovery_s) continue;
      // Cold water in the reticulum: the full dip at once, then a quadratic recovery.
      const std::int64_t left = b.recovery_s - dt;
      dip = std::max(dip, b.dip_milli_c * left / b.recovery_s * left / b.recovery_s);
    }
  }
  return static_cast<std::int32_t>(dip);
}

std::int32_t physiology::core_temp_milli_c(int a, std::int64_t t, bool reticulum) const {
  const auto& s = animal(a);
  const std::int64_t day = floor_div(t, k_day_ms);
  const auto m = static_cast<std::size_t>(floor_div(t, k_min_ms) - day * 1440);
  const std::uint64_t hd = fx::hash4(o_.seed, s_day, static_cast<std::uint64_t>(a), static_cast<std::uint64_t>(day));
  std::int64_t v = s.p.temp_base_milli_c + fx::normal_from(hd, 60) + rhythm_[lactating(a, t) ? 1 : 0][m] +
                   effects_at(a, t).temp_milli;
  if (reticulum) v -= drinking_dip_milli_c(a, t);
  return static_cast<std::int32_t>(v);
}

collar_values physiology::measure(int a, std::int64_t t_end, int interval_s, device_kind kind) const {
  const auto& s = animal(a);
  const std::int64_t t1 = floor_div(t_end, 1000);
  const std::int64_t t0 = t1 - interval_s;
  const std::int64_t mid = t_end - interval_s * 500LL;
  const effects e = effects_at(a, mid);
  const bool lact = lactating(a, mid);
  const std::int64_t day = floor_div(mid, k_day_ms);
  const auto ua = static_cast<std::uint64_t>(a);
  const std::uint64_t hd = fx::hash4(o_.seed, s_day, ua, static_cast<std::uint64_t>(day) + (1ULL << 40));
  const std::uint64_t hn = fx::hash4(o_.seed, s_noise, ua, static_cast<std::uint64_t>(t1));
  // Per-interval noise shrinks with longer intervals (averaging).
  const std::int64_t noise_sd = interval_s <= 900 ? 250 : interval_s <= 3600 ? 120 : 80;

  collar_values v;
  // Steps: the animal's daily total (HERD.md: small day-to-day variation within a cow), shaped
  // by the day curve.
  const day_curve& act = act_[lact ? 1 : 0];
  const std::int64_t day_steps = s.p.steps_day * (1000 + fx::normal_from(hd, 60)) / 1000;
  std::int64_t steps = day_steps * act.integral(t0, t1) / act.per_day();
  steps = steps * e.act_permille / 1000 * std::max<std::int64_t>(0, 1000 + fx::normal_from(hn, noise_sd)) / 1000;
  v.steps = static_cast<std::uint32_t>(fx::clamp(steps, 0, 100'000));
  // Rumination in tenths of minutes: daily minutes (HERD.md: within a cow SD 30-50 min/day
  // [guess]) over the rumination day curve.
  const std::int64_t day_rum = std::max<std::int64_t>(0, s.p.rum_min_day + fx::normal_from(fx::remix(hd, 1), 40));
  std::int64_t rum = day_rum * 10 * rum_.integral(t0, t1) / rum_.per_day();
  rum = rum * e.rum_permille / 1000 *
        std::max<std::int64_t>(0, 1000 + fx::normal_from(fx::remix(hn, 3), noise_sd * 3 / 5)) / 1000;
  v.rum_deci_min = static_cast<std::uint32_t>(fx::clamp(rum, 0, interval_s / 6));
  std::int64_t lie = static_cast<std::int64_t>(s.p.lying_min_day) * 10 * lie_.integral(t0, t1) / lie_.per_day();
  lie = lie * e.lie_permille / 1000;
  v.lying_deci_min = static_cast<std::uint32_t>(fx::clamp(lie, 0, interval_s / 6));
  // Temperature: a bolus reads the reticulum at the sampling instant (drinking dips, more noise);
  // a collar reports a smoothed body temperature.
  const bool bolus = kind == device_kind::bolus;
  const std::int64_t temp = core_temp_milli_c(a, t_end, bolus) + fx::normal_from(fx::remix(hn, 5), bolus ? 50 : 30);
  v.temp_centi_c = static_cast<std::int32_t>(floor_div(temp + 5, 10));
  return v;
}

}  // namespace herd::sim::detail
