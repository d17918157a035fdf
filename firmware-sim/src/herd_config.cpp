// herd-sim's config file (TOML), the episode script (JSON lines) and the THI series (CSV).
#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "herd/core/time_format.hpp"
#include "herd/sim/herd.hpp"

namespace herd::sim {

namespace {

class reader {
 public:
  reader(const toml::table* t, std::string section, std::vector<std::string>& errors)
      : t_(t), section_(std::move(section)), errors_(errors) {}

  template <class Int>
  void integer(const char* key, Int& out, std::int64_t lo, std::int64_t hi) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (!n->is_integer()) return error(key, "must be an integer");
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < lo || v > hi) return error(key, fmt::format("must be between {} and {}, got {}", lo, hi, v));
    out = static_cast<Int>(v);
  }
  void number(const char* key, double& out, double lo, double hi) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (!n->is_number()) return error(key, "must be a number");
    const double v = *n->value<double>();
    if (!(v >= lo && v <= hi)) return error(key, fmt::format("must be between {} and {}, got {}", lo, hi, v));
    out = v;
  }
  void number(const char* key, std::optional<double>& out, double lo, double hi) {
    double v = 0;
    if (t_ == nullptr || t_->get(key) == nullptr) return (void)get(key);
    number(key, v, lo, hi);
    out = v;
  }
  void boolean(const char* key, bool& out) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (!n->is_boolean()) return error(key, "must be true or false");
    out = *n->value<bool>();
  }
  void boolean(const char* key, std::optional<bool>& out) {
    bool v = false;
    if (t_ == nullptr || t_->get(key) == nullptr) return (void)get(key);
    boolean(key, v);
    out = v;
  }
  bool str(const char* key, std::string& out) {
    const toml::node* n = get(key);
    if (n == nullptr) return false;
    if (!n->is_string()) {
      error(key, "must be a string");
      return false;
    }
    out = *n->value<std::string>();
    return true;
  }
  void str(const char* key, std::optional<std::string>& out) {
    std::string v;
    if (str(key, v)) out = v;
  }
  // "HH:MM" strings -> minutes of the day.
  void times(const char* key, std::vector<int>& out) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    const toml::array* a = n->as_array();
    if (a == nullptr) return error(key, "must be an array of \"HH:MM\" strings");
    std::vector<int> v;
    for (const auto& e : *a) {
      const auto s = e.value<std::string>();
      int h = -1, m = -1;
      if (!s || s->size() != 5 || (*s)[2] != ':' ||
          std::from_chars(s->data(), s->data() + 2, h).ec != std::errc{} ||
          std::from_chars(s->data() + 3, s->data() + 5, m).ec != std::errc{} || h > 23 || m > 59 || h < 0 || m < 0) {
        return error(key, "must be an array of \"HH:MM\" strings");
      }
      v.push_back(h * 60 + m);
    }
    out = std::move(v);
  }
  void finish() {
    if (t_ == nullptr) return;
    for (auto&& [k, v] : *t_) {
      if (!used_.count(std::string(k.str()))) error(std::string(k.str()), "unknown key");
    }
  }
  void error(const std::string& key, const std::string& what) {
    errors_.push_back(fmt::format("{}.{}: {}", section_, key, what));
  }

 private:
  const toml::node* get(const char* key) {
    used_.insert(key);
    return t_ != nullptr ? t_->get(key) : nullptr;
  }
  const toml::table* t_;
  std::string section_;
  std::vector<std::string>& errors_;
  std::set<std::string> used_;
};

std::optional<int> animal_index(std::string_view id) {
  // "276" + 12 digits, as animal_id() writes them.
  if (id.size() != 15 || id.substr(0, 3) != "276") return std::nullopt;
  std::int64_t n = 0;
  if (std::from_chars(id.data() + 3, id.data() + id.size(), n).ec != std::errc{} || n < 1 || n > 99'999) {
    return std::nullopt;
  }
  return static_cast<int>(n - 1);
}

}  // namespace

core::status load_herd_config(const std::filesystem::path& path, herd_options& o, herd_run_config& run) {
  toml::table root;
  try {
    root = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    return core::error::permanent(fmt::format("{}: {} (line {})", path.string(), e.description(),
                                              e.source().begin.line));
  }
  std::vector<std::string> errors;
  const auto base = path.parent_path();
  const auto rel = [&](const std::string& p) { return std::filesystem::path(p).is_absolute() ? std::filesystem::path(p) : base / p; };
  const auto section = [&](const char* name) -> const toml::table* {
    const toml::node* n = root.get(name);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) {
      errors.push_back(fmt::format("{}: must be a table", name));
      return nullptr;
    }
    return n->as_table();
  };
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (key != "herd" && key != "episodes" && key != "faults" && key != "thi" && key != "run") {
      errors.push_back(fmt::format("{}: unknown section", key));
    }
  }
  {
    reader r(section("herd"), "herd", errors);
    r.integer("seed", o.seed, 0, std::numeric_limits<std::int64_t>::max());
    r.integer("animals", o.animals, 1, 99'999);
    r.str("farm", o.farm_id);
    std::string start;
    if (r.str("start", start)) {
      if (auto ms = core::parse_iso8601_utc(start)) o.start_ms = *ms;
      else r.error("start", "must be ISO-8601 UTC, e.g. 2026-07-01T00:00:00Z");
    }
    r.integer("days", o.days, 1, 3660);
    r.integer("bolus_pct", o.bolus_pct, 0, 100);
    r.integer("bolus_interval_s", o.bolus_interval_s, 1, 86'400);
    r.integer("collar_interval_s", o.collar_interval_s, 1, 86'400);
    r.times("milking", o.milking_min);
    r.times("feeding", o.feeding_min);
    std::uint32_t first_seq = 0;
    if (root["herd"]["first_seq"]) {
      r.integer("first_seq", first_seq, 0, 4'294'967'295LL);
      o.first_seq = first_seq;
    }
    r.finish();
  }
  {
    reader r(section("episodes"), "episodes", errors);
    auto& x = o.rates;
    r.boolean("random", o.random_episodes);
    std::string script;
    if (r.str("script", script)) {
      auto s = load_episode_script(rel(script), o.animals);
      if (!s) errors.push_back("episodes.script: " + s.err().message);
      else o.script = std::move(*s);
    }
    r.number("fever_per_animal_year", x.fever_per_animal_year, 0, 1000);
    r.number("lameness_per_animal_year", x.lameness_per_animal_year, 0, 1000);
    r.number("ketosis_pct", x.ketosis_pct, 0, 100);
    r.number("displaced_abomasum_pct", x.displaced_abomasum_pct, 0, 100);
    r.number("metritis_pct", x.metritis_pct, 0, 100);
    r.number("silent_estrus_pct", x.silent_estrus_pct, 0, 100);
    r.number("conception_pct", x.conception_pct, 0, 100);
    r.boolean("estrus", x.estrus);
    r.boolean("calving", x.calving);
    r.finish();
  }
  {
    reader r(section("faults"), "faults", errors);
    auto& f = o.faults;
    bool enabled = true;
    r.boolean("enabled", enabled);
    r.number("offline_per_device_day", f.offline_per_device_day, 0, 1000);
    r.integer("offline_min_s", f.offline_min_s, 1, 30 * 86'400);
    r.integer("offline_max_s", f.offline_max_s, 1, 30 * 86'400);
    r.integer("buffer_readings", f.buffer_readings, 0, 1'000'000);
    r.number("duplicate_pct", f.duplicate_pct, 0, 100);
    r.number("malformed_pct", f.malformed_pct, 0, 100);
    r.number("fall_off_per_collar_year", f.fall_off_per_collar_year, 0, 1000);
    r.number("move_per_collar_year", f.move_per_collar_year, 0, 1000);
    r.finish();
    if (!enabled) {
      f.offline_per_device_day = f.duplicate_pct = f.malformed_pct = 0;
      f.fall_off_per_collar_year = f.move_per_collar_year = 0;
    }
  }
  {
    reader r(section("thi"), "thi", errors);
    std::string file;
    if (r.str("file", file)) {
      auto t = load_thi_csv(rel(file));
      if (!t) errors.push_back("thi.file: " + t.err().message);
      else o.thi = std::move(*t);
    }
    r.finish();
  }
  {
    reader r(section("run"), "run", errors);
    r.str("broker", run.broker);
    r.number("speed", run.speed, 0, 1e9);
    r.boolean("realtime", run.realtime);
    r.number("rate", run.rate, 0, 1e9);
    std::optional<std::string> gt, reg, js;
    r.str("ground_truth", gt);
    r.str("registry", reg);
    r.str("json_out", js);
    // Outputs are relative to the working directory (inputs to the config file).
    run.ground_truth = gt;
    run.registry = reg;
    run.json_out = js;
    r.finish();
  }
  if (!errors.empty()) {
    std::string msg = path.string() + ": " + errors.front();
    for (std::size_t i = 1; i < errors.size(); ++i) msg += "; " + errors[i];
    return core::error::permanent(msg);
  }
  return core::ok_v;
}

core::result<std::vector<episode_script>> load_episode_script(const std::filesystem::path& path, int animals) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::error::permanent(fmt::format("cannot read {}", path.string()));
  std::vector<episode_script> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') continue;
    const auto where = fmt::format("{}:{}", path.string(), n);
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return core::error::permanent(where + ": not a JSON object");
    episode_script s;
    const auto kind = j.value("kind", std::string{});
    const auto k = episode_kind_from(kind);
    if (!k || *k >= episode_kind::heat_stress) {
      return core::error::permanent(fmt::format("{}: kind '{}' is not one of fever, estrus, lameness, ketosis, "
                                                "displaced_abomasum, calving", where, kind));
    }
    s.kind = *k;
    if (j.contains("animal_id") && j["animal_id"].is_string()) {
      const auto a = animal_index(j["animal_id"].get<std::string>());
      if (!a) return core::error::permanent(where + ": animal_id must be 276 + 12 digits");
      s.animal = *a;
    } else if (j.contains("animal") && j["animal"].is_number_integer()) {
      s.animal = j["animal"].get<int>();
    } else {
      return core::error::permanent(where + ": needs animal_id (or an animal index)");
    }
    if (s.animal < 0 || s.animal >= animals) {
      return core::error::permanent(fmt::format("{}: animal {} is not in a herd of {}", where, s.animal + 1, animals));
    }
    const auto time = [&](const char* key) -> core::result<std::optional<std::int64_t>> {
      if (!j.contains(key) || j[key].is_null()) return std::optional<std::int64_t>{};
      if (!j[key].is_string()) return core::error::permanent(fmt::format("{}: {} must be an ISO-8601 string", where, key));
      auto ms = core::parse_iso8601_utc(j[key].get<std::string>());
      if (!ms) return core::error::permanent(fmt::format("{}: {} must be ISO-8601 UTC", where, key));
      return std::optional<std::int64_t>{*ms};
    };
    auto onset = time("onset");
    if (!onset) return onset.err();
    if (!*onset) return core::error::permanent(where + ": onset is required");
    s.onset_ms = **onset;
    for (auto [key, dst] : {std::pair{"peak", &s.peak_ms}, std::pair{"diagnosis", &s.diagnosis_ms},
                            std::pair{"end", &s.end_ms}}) {
      auto t = time(key);
      if (!t) return t.err();
      *dst = *t;
    }
    if (j.contains("subtype") && j["subtype"].is_string()) s.subtype = j["subtype"].get<std::string>();
    if (j.contains("magnitude") && j["magnitude"].is_number_integer()) s.magnitude = j["magnitude"].get<std::int32_t>();
    if (j.contains("silent") && j["silent"].is_boolean()) s.silent = j["silent"].get<bool>();
    out.push_back(std::move(s));
  }
  return out;
}

core::result<std::vector<thi_point>> load_thi_csv(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::error::permanent(fmt::format("cannot read {}", path.string()));
  std::vector<thi_point> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const auto comma = line.find(',');
    const auto when = core::parse_iso8601_utc(line.substr(0, comma));
    if (!when) {
      if (n == 1) continue;  // a header
      return core::error::permanent(fmt::format("{}:{}: expected time,thi", path.string(), n));
    }
    double thi = 0;
    const std::string v = comma == std::string::npos ? "" : line.substr(comma + 1);
    const auto res = std::from_chars(v.data(), v.data() + v.size(), thi);
    if (res.ec != std::errc{} || !(thi >= 0 && thi <= 120)) {
      return core::error::permanent(fmt::format("{}:{}: THI must be a number 0..120", path.string(), n));
    }
    // Rounded once to tenths: integer from here on.
    out.push_back({*when, static_cast<std::int32_t>(thi * 10 + 0.5)});
    if (out.size() > 1 && out[out.size() - 2].at_ms >= out.back().at_ms) {
      return core::error::permanent(fmt::format("{}:{}: times must increase", path.string(), n));
    }
  }
  if (out.empty()) return core::error::permanent(path.string() + ": no THI points");
  return out;
}

}  // namespace herd::sim
