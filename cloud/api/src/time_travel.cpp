#include "herd/api/time_travel.hpp"

#include <limits>

#include "herd/events/v1/envelope.pb.h"
#include "herd/projector/applier.hpp"
#include "herd/read_model/sqlite_store.hpp"
#include "herd/rules/fold.hpp"
#include "herd/rules/herd_context.hpp"

namespace herd::api {

namespace {
constexpr std::size_t k_page = 5000;
// The projector's advance step (herd/projector/applier.hpp).
constexpr std::int64_t k_step_ms = projector::k_advance_step_ms;
}  // namespace

namespace {

// The exact replay: the animal's events merged by partition offset with the partition's advance
// rounds (queries::advances), each round applied BEFORE the record whose reading crossed its
// boundary, with the herd context the projector used, to an animal already known to the
// partition (one with an applied event), as the projector's applier does.
core::result<replay_result> replay_with_rounds(read_model::queries& q, const std::string& animal_id,
                                               std::int64_t at_ms, const std::string& topic, std::int32_t partition,
                                               const std::vector<read_model::advance_row>& rounds,
                                               std::uint64_t max_events) {
  replay_result out;
  std::size_t next = 0;
  auto advance_through = [&](std::int64_t offset) {
    for (; next < rounds.size() && rounds[next].offset <= offset; ++next) {
      if (out.state.animal_id.empty()) continue;  // not in the partition's animals yet
      const auto& r = rounds[next];
      rules::herd_context ctx;
      ctx.at_ms = r.ctx_at_ms;
      ctx.temp_excess_centi = r.temp_excess_centi;
      ctx.rum_drop_pct = r.rum_drop_pct;
      ctx.temp_vs_recent_centi = r.temp_vs_recent_centi;
      ctx.rum6_drop_pct = r.rum6_drop_pct;
      ctx.animals = r.animals;
      rules::advance(out.state, r.boundary_ms, ctx);
    }
  };
  std::int64_t after = 0;
  const std::int64_t to_us = at_ms * 1000 + 1;
  for (;;) {
    auto page = q.animal_events(animal_id, std::numeric_limits<std::int64_t>::min(), to_us, after, k_page);
    if (!page) return page.err();
    for (const auto& e : *page) {
      after = e.store_seq;
      if (++out.events > max_events) {
        return core::error::permanent("more than " + std::to_string(max_events) + " events to replay");
      }
      if (e.topic == topic && e.partition == partition) advance_through(e.offset);
      events::v1::EventEnvelope env;
      if (!env.ParseFromString(e.envelope) || rules::apply(out.state, env).status != rules::apply_status::applied) {
        ++out.rejected;
      }
    }
    if (page->size() < k_page) break;
  }
  advance_through(std::numeric_limits<std::int64_t>::max());  // rounds after its last event, up to T
  out.exact = true;
  return out;
}

}  // namespace

core::result<replay_result> state_at(read_model::queries& q, const std::string& animal_id, std::int64_t at_ms,
                                     std::int64_t final_advance_ms, std::uint64_t max_events) {
  // The animal's home partition and the rounds the projector recorded there.
  auto row = q.animal(animal_id);
  if (!row) return row.err();
  if (*row) {
    auto rounds = q.advances((*row)->topic, (*row)->partition, at_ms * 1000);
    if (!rounds) return rounds.err();
    if (!rounds->empty()) {
      return replay_with_rounds(q, animal_id, at_ms, (*row)->topic, (*row)->partition, *rounds, max_events);
    }
  }
  // The projector's own applier over a private in-memory read model, fed the animal's events as
  // the records of one partition: the same fold, the same advance rounds, whatever version of
  // them this build has.
  read_model::sqlite_options o;
  o.path = ":memory:";
  o.cache_mib = 16;
  auto mem = read_model::open_sqlite_store(o);
  if (!mem) return mem.err();
  projector::applier ap(**mem);
  ap.set_dead_lettering(false);
  if (auto st = ap.load_positions(); !st) return st.err();
  replay_result out;
  std::int64_t after = 0;
  std::int64_t offset = 0;
  const std::int64_t to_us = at_ms * 1000 + 1;  // occurred_at <= T
  for (;;) {
    auto page = q.animal_events(animal_id, std::numeric_limits<std::int64_t>::min(), to_us, after, k_page);
    if (!page) return page.err();
    if (page->empty()) break;
    out.events += page->size();
    if (out.events > max_events) {
      return core::error::permanent("more than " + std::to_string(max_events) + " events to replay");
    }
    std::vector<projector::record> batch;
    batch.reserve(page->size());
    for (auto& e : *page) {
      after = e.store_seq;
      batch.push_back({"replay", 0, offset++, e.animal_id, std::move(e.envelope)});
    }
    auto prepared = ap.prepare(batch);
    if (!prepared) return prepared.err();
    if (auto st = ap.commit(); !st) return st.err();
    out.rejected += ap.counts().rejected + ap.counts().unknown_type + ap.counts().undecodable;
    if (page->size() < k_page) break;
  }
  std::vector<std::string> ids{animal_id};
  auto t = (*mem)->begin();
  if (!t) return t.err();
  auto rows = (*t)->load_animals(ids);
  if (!rows) return rows.err();
  if ((*rows)[0]) {
    auto st = rules::decode((*rows)[0]->state);
    if (!st) return st.err();
    out.state = std::move(*st);
  }
  // The projector also advances an animal when ITS PARTITION's watermark crosses a boundary;
  // the caller says how far that had got by T.
  if (final_advance_ms > 0 && out.state.events > 0) {
    const std::int64_t b = final_advance_ms / k_step_ms * k_step_ms;
    if (b > out.state.advanced_ms) {
      const rules::animal_state* one[] = {&out.state};
      rules::advance(out.state, b, rules::compute_herd_context(one, b));
    }
  }
  return out;
}

}  // namespace herd::api
