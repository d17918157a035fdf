#include "herd/sim/fleet.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

#include "herd/core/ids.hpp"
#include "herd/sim/ids.hpp"
#include "herd/sim/rng.hpp"
#include "seed_streams.hpp"

namespace herd::sim {

namespace {

const core::clock& system_wall() {
  static const core::system_clock c;
  return c;
}

}  // namespace

core::status validate(const fleet_options& opts) {
  std::string problems;
  const auto add = [&](const std::string& p) { problems += (problems.empty() ? "" : "; ") + p; };
  if (opts.collars < 1 || opts.collars > k_max_collars) {
    add(fmt::format("collars must be 1..{}, got {}", k_max_collars, opts.collars));
  }
  if (opts.interval_s < 1 || opts.interval_s > 86'400) {
    add(fmt::format("interval_s must be 1..86400, got {}", opts.interval_s));
  }
  if (!core::is_valid_topic_id(opts.farm_id)) {
    add(fmt::format("farm id '{}' must be 1-64 of [A-Za-z0-9._:-]", opts.farm_id));
  }
  // The collar format's ts ends with year 9999.
  if (opts.start_ms < 0 || opts.start_ms > 253'402'300'799'999) {
    add(fmt::format("start_ms must be 0..253402300799999 (1970..9999), got {}", opts.start_ms));
  }
  if (!problems.empty()) return core::error::permanent(problems);
  return core::ok_v;
}

std::string format_payload(std::uint32_t seq, std::int64_t ts_ms, int interval_s,
                           const collar_values& v) {
  // Fixed-point values are printed as integer part and fraction: no float rounding anywhere.
  const std::int32_t t = v.temp_centi_c;
  const char* sign = t < 0 ? "-" : "";
  const std::int32_t abs_t = t < 0 ? -t : t;
  if (!v.has_temp) {
    return fmt::format(
        R"({{"seq":{},"ts":{},"steps":{},"rum_min":{}.{},"interval_s":{},"batt_pct":{},)"
        R"("rssi_dbm":{}}})",
        seq, ts_ms, v.steps, v.rum_deci_min / 10, v.rum_deci_min % 10, interval_s, v.batt_pct,
        v.rssi_dbm);
  }
  return fmt::format(
      R"({{"seq":{},"ts":{},"temp_c":{}{}.{:02},"steps":{},"rum_min":{}.{},"interval_s":{},)"
      R"("batt_pct":{},"rssi_dbm":{}}})",
      seq, ts_ms, sign, abs_t / 100, abs_t % 100, v.steps, v.rum_deci_min / 10,
      v.rum_deci_min % 10, interval_s, v.batt_pct, v.rssi_dbm);
}

struct fleet::impl {
  fleet_options opts;
  std::unique_ptr<collar_model> model;
  const core::clock* wall;
  std::vector<std::string> topics;      // per collar, built once
  std::vector<std::uint32_t> next_seq;  // per collar
  int cursor = 0;                       // the collar whose turn it is
  std::uint64_t round = 0;              // k of the current round
  std::uint64_t generated = 0;
};

fleet::fleet(fleet_options opts, const core::clock* wall) : fleet(std::move(opts), nullptr, wall) {}

fleet::fleet(fleet_options opts, std::unique_ptr<collar_model> model, const core::clock* wall) {
  if (auto st = validate(opts); !st) throw std::invalid_argument(st.err().message);
  impl_ = std::make_unique<impl>();
  auto& s = *impl_;
  s.model = model ? std::move(model) : make_baseline_model(opts.seed, opts.collars, opts.interval_s);
  s.wall = wall ? wall : &system_wall();
  s.topics.reserve(static_cast<std::size_t>(opts.collars));
  s.next_seq.reserve(static_cast<std::size_t>(opts.collars));
  for (int c = 0; c < opts.collars; ++c) {
    s.topics.push_back(fmt::format("farm/{}/collar/{}/telemetry", opts.farm_id, collar_id(c)));
    if (opts.first_seq) {
      s.next_seq.push_back(*opts.first_seq);
    } else {
      rng r(derive_seed(opts.seed, k_stream_seq, static_cast<std::uint64_t>(c)));
      s.next_seq.push_back(static_cast<std::uint32_t>(r.uniform(0, 999'999)));
    }
  }
  s.opts = std::move(opts);
}

fleet::~fleet() = default;
fleet::fleet(fleet&&) noexcept = default;
fleet& fleet::operator=(fleet&&) noexcept = default;

message fleet::next() {
  auto& s = *impl_;
  const int c = s.cursor;
  const auto ci = static_cast<std::size_t>(c);
  const collar_values v = s.model->sample(c, s.round);
  const std::int64_t ts = s.opts.ts == ts_mode::now
                              ? s.wall->now_ms()
                              : s.opts.start_ms + static_cast<std::int64_t>(s.round) *
                                                      s.opts.interval_s * 1000;
  const std::uint32_t seq = s.next_seq[ci]++;  // unsigned: wraps at 2^32 as firmware does
  message m{s.topics[ci], format_payload(seq, ts, s.opts.interval_s, v)};
  if (++s.cursor == s.opts.collars) {
    s.cursor = 0;
    ++s.round;
  }
  ++s.generated;
  return m;
}

const fleet_options& fleet::options() const { return impl_->opts; }

std::uint64_t fleet::generated() const { return impl_->generated; }

}  // namespace herd::sim
