#include "eval_run.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>
#include <unordered_map>

#include <librdkafka/rdkafka.h>

#include "herd/gateway/event_factory.hpp"
#include "herd/rules/alert_events.hpp"
#include "herd/rules/fold.hpp"
#include "herd/rules/diagnostics.hpp"
#include "herd/rules/windows.hpp"
#include "herd/rules/herd_context.hpp"
#include "herd/rules/thresholds.hpp"
#include "herd/sensors/collar_format.hpp"
#include "herd/sim/ids.hpp"
#include "herd/core/time_format.hpp"
#include <cstdio>

namespace herd::eval {

namespace {

constexpr std::int64_t k_step_ms = rules::k_advance_step_ms;  // advance() at every 10-minute boundary

std::uint32_t fnv1a(const std::string& s) {
  std::uint32_t h = 2166136261u;
  for (const unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

struct registry_index {
  // collar -> (valid_from, animal), sorted
  std::unordered_map<std::string, std::vector<std::pair<std::int64_t, std::string>>> rows;
  const std::string* animal_at(const std::string& collar, std::int64_t t) const {
    auto it = rows.find(collar);
    if (it == rows.end()) return nullptr;
    const std::string* a = nullptr;
    for (const auto& [from, animal] : it->second) {
      if (from <= t) a = &animal;
    }
    return a;
  }
};

}  // namespace

int kafka_partition(const std::string& animal_id, int partitions) {
  return rd_kafka_msg_partitioner_murmur2_random(nullptr, animal_id.data(), animal_id.size(), partitions, nullptr,
                                                 nullptr);
}

run_output run_herd(sim::herd& h, const run_options& options) {
  const int partitions = options.partitions;
  const std::string& trace_animal = options.trace_animal;
  const auto t_start = std::chrono::steady_clock::now();
  run_output out;
  registry_index reg;
  for (const auto& r : h.registry()) reg.rows[r.collar_id].push_back({r.valid_from_ms, r.animal_id});
  for (auto& [c, v] : reg.rows) std::sort(v.begin(), v.end());
  for (int d = 0; d < h.devices(); ++d) {
    out.device_interval_s[sim::collar_id(d)] = h.interval_s(d);
    out.device_is_bolus[sim::collar_id(d)] = h.kind(d) == sim::device_kind::bolus;
    out.animal_has_bolus[sim::animal_id(h.animal_of(d, h.options().start_ms))] = h.kind(d) == sim::device_kind::bolus;
  }

  std::map<std::string, rules::animal_state> states;  // ordered: deterministic advance order
  std::vector<std::vector<std::string>> part(static_cast<std::size_t>(partitions));
  std::set<std::tuple<std::string, std::uint32_t, std::int64_t>> seen;  // the gateway's dedup key
  gateway::event_factory factory("gw-eval");
  std::uint64_t gateway_seq = 0;
  std::int64_t watermark = 0, next_boundary = 0;
  std::int64_t traced_hour = 0;
  // as_projector: per partition, the watermark (rules::move_watermark) and the animals in id order.
  std::vector<std::int64_t> part_wm(static_cast<std::size_t>(partitions), 0);
  const auto partition_of = [&](const std::string& animal) {
    return options.as_projector ? kafka_partition(animal, partitions)
                                : static_cast<int>(fnv1a(animal) % static_cast<std::uint32_t>(partitions));
  };

  std::unordered_map<std::string, std::size_t> raised_index;  // alert_id -> index in out.raised
  const auto collect = [&](const std::vector<rules::alert_change>& changes) {
    for (const auto& c : changes) {
      ++out.changes[std::string(rules::to_string(c.change))];
      if (c.animal_id == trace_animal) {
        std::printf("TRACEALERT %s %s %s %s %s\n", trace_animal.c_str(), std::string(rules::to_string(c.change)).c_str(),
                    std::string(rules::to_string(c.alert.kind)).c_str(),
                    core::iso8601_utc_ms(c.change == rules::alert_change_kind::resolved ? c.alert.resolved_at_ms
                                                                                       : c.alert.updated_at_ms)
                        .substr(0, 16)
                        .c_str(),
                    c.alert.evidence.c_str());
      }
      out.lifecycle.push_back({c.animal_id, rules::alert_event(c).event_id()});
      if (c.change == rules::alert_change_kind::raised) {
        raised_index[c.alert.alert_id] = out.raised.size();
        out.raised.push_back({c.animal_id, c.alert.kind, c.alert.device_id, c.alert.alert_id, c.alert.started_at_ms,
                              c.alert.evidence});
      } else if (auto it = raised_index.find(c.alert.alert_id); it != raised_index.end()) {
        // Resolved, or re-opened (a heat resuming within the merge gap: open again).
        out.raised[it->second].resolved_ms = c.alert.resolved_at_ms;
      }
    }
  };
  const auto advance_part = [&](const std::vector<std::string>& animals, std::int64_t b) {
    std::vector<const rules::animal_state*> ptrs;
    ptrs.reserve(animals.size());
    for (const auto& a : animals) ptrs.push_back(&states[a]);
    const rules::herd_context ctx = rules::compute_herd_context(ptrs, b);
    for (const auto& a : animals) collect(rules::advance(states[a], b, ctx));
  };
  const auto advance_to = [&](std::int64_t b) {
    for (const auto& animals : part) advance_part(animals, b);
  };

  while (auto m = h.next()) {
    ++out.messages;
    auto r = sensors::decode_collar_message(m->topic, m->payload);
    if (!r) {
      ++out.undecodable;
      continue;
    }
    if (!seen.insert({r->collar_id, r->seq, r->ts_ms}).second) {
      ++out.duplicates;
      continue;
    }
    const auto occ = gateway::resolve_occurred_at(r->ts_ms, m->send_ms);
    const std::string* animal = reg.animal_at(r->collar_id, occ.ms);
    if (animal == nullptr) {
      ++out.unassigned;
      continue;
    }
    if (r->batt_pct && static_cast<std::int32_t>(*r->batt_pct) <= rules::thresholds::low_battery_pct) {
      out.low_battery.emplace(r->collar_id, occ.ms);
    }
    gateway::envelope_meta meta;
    meta.event_id = std::to_string(++gateway_seq);
    meta.aggregate_id = *animal;
    meta.occurred = occ;
    meta.ingested_ms = m->send_ms;
    meta.gateway_seq = gateway_seq;
    meta.clock_quality = events::v1::CLOCK_QUALITY_SYNCED;
    const auto env = factory.collar_reading_event(*r, meta);
    auto [it, fresh] = states.try_emplace(*animal);
    if (options.as_projector) {
      // herd-projector's partition time (rules::move_watermark): the partition's animals advance
      // (in id order) to every boundary it crosses, before the event is applied.
      const auto p = static_cast<std::size_t>(partition_of(*animal));
      auto moved = rules::move_watermark(part_wm[p], it->second, env);
      part_wm[p] = moved.watermark_ms;
      for (const std::int64_t b : moved.boundaries_ms) advance_part(part[p], b);
    } else if (occ.ms > watermark) {
      // Boundaries the watermark crosses before this event: advance first, as a projector would
      // on seeing the event's time.
      watermark = occ.ms;
      if (next_boundary == 0) next_boundary = (watermark / k_step_ms + 1) * k_step_ms;
      while (next_boundary <= watermark) {
        advance_to(next_boundary);
        next_boundary += k_step_ms;
      }
    }
    if (fresh) {
      auto& members = part[static_cast<std::size_t>(partition_of(*animal))];
      members.insert(std::lower_bound(members.begin(), members.end(), *animal), *animal);
    }
    const auto res = rules::apply(it->second, env);
    if (*animal == trace_animal && rules::hour_of(it->second.newest_ms) != traced_hour) {
      // The rumination rule's view once an hour (--trace-animal, for tuning).
      traced_hour = rules::hour_of(it->second.newest_ms);
      const auto t = rules::trace_rumination(it->second, it->second.newest_ms);
      if (t.valid) {
        std::printf("TRACERUM %s %s rum %lld/%lld min drop %d%% (herd %d%%) act %d%% cv %d/%d index %.1f%s%s%s%s\n",
                    trace_animal.c_str(), core::iso8601_utc_ms(it->second.newest_ms).substr(0, 16).c_str(),
                    static_cast<long long>(t.actual_min), static_cast<long long>(t.expected_min), t.drop_pct,
                    t.herd_drop_pct, t.act_drop_pct, t.rum_cv_pct, t.act_cv_pct, t.index_x10 / 10.0,
                    t.fresh ? " fresh" : "", t.by_rumination ? " BY_RUM" : "", t.by_index ? " BY_INDEX" : "", t.by_persistence ? " BY_PERSIST" : "");
      }
    }
    if (res.status == rules::apply_status::applied) ++out.applied;
    else ++out.rejected;
    collect(res.alert_changes);
  }
  if (!options.as_projector) advance_to((h.end_ms() / k_step_ms) * k_step_ms);
  for (const auto& [a, s] : states) out.state_bytes_total += rules::encode(s).size();
  if (auto it = states.find(trace_animal); it != states.end()) {
    for (const auto& b : it->second.hours) {
      std::printf("TRACE %s hour %s steps %u rum %u cov %u temp %d/%u dips %u\n", trace_animal.c_str(),
                  core::iso8601_utc_ms(b.hour * 3'600'000).substr(0, 13).c_str(), b.steps, b.rum_deci_min, b.covered_s,
                  b.temp_n ? b.temp_sum_centi / b.temp_n : 0, b.temp_n, b.dip_n);
    }
    // The daily figures the rumination rule's masks and CVs use (the 16-day daily window).
    const std::int64_t today = rules::day_of(std::max(it->second.newest_ms, it->second.advanced_ms));
    for (std::int64_t d = today - rules::k_day_window; d <= today; ++d) {
      if (const auto f = rules::figures_of_day(it->second, d, 0)) {
        std::printf("TRACEDAY %s day %s steps %d rum_min %d cov %u\n", trace_animal.c_str(),
                    core::iso8601_utc_ms(d * 86'400'000).substr(0, 10).c_str(), f->steps, f->rum_min, f->covered_s);
      }
    }
  }
  out.animals = static_cast<int>(states.size());
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return out;
}

}  // namespace herd::eval
