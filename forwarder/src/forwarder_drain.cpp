// The backlog drain of the forwarder loop (forwarder.hpp, "Backlog drain"): drain_planner decides
// the split, the holds, the release order and the rate; these run its decisions on the forwarder
// thread.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "forwarder_impl.hpp"

namespace herd::forwarder {

void forwarder::impl::start_drain() {
  // The outbox's split needs no scan, from the start too (outbox.hpp, split_backlog).
  planner.start(outbox.split_backlog(cursor), cursor);
  forget_read_to_end();  // the lanes' cursors are new
  const std::uint64_t newest = planner.backlog_end();
  log->info("draining a backlog of up to {} events (seq {}..{}, {} animals){}; live events go first",
            newest - cursor, cursor + 1, newest, planner.backlog_animals(),
            opts.drain_rate > 0 ? fmt::format(" at most {}/s", opts.drain_rate) : std::string());
}

// Held events whose animal's backlog is produced go next, in order (never into a producer
// about to be rebuilt: everything is resent then anyway).
bool forwarder::impl::release_held() {
  while (const buffer::record* r = planner.next_release()) {
    if (rebuild) return false;
    if (!produce_event(*r)) return false;
    planner.release_produced();
  }
  return true;
}

void forwarder::impl::fill_backlog() {
  if (!release_held()) return;
  const std::uint64_t backlog_end = planner.backlog_end();
  while (!rebuild && cursor < backlog_end) {
    // window_room() is at most max_in_flight: what counts against the window is the rest.
    const std::size_t allowance = planner.allowance(opts.max_in_flight - window_room(),
                                                    window.beyond_share(opts.drain_max_queued, mono.now_ms(), true));
    if (allowance == 0) return;
    auto& rows = backlog_rows;
    if (!read_outbox(cursor, allowance, rows)) return;
    for (const auto& r : rows) {
      if (r.seq > backlog_end) {  // the backlog's remaining events were evicted or dead-lettered
        cursor = backlog_end;
        break;
      }
      const std::uint64_t before = produced;
      if (!produce_event(r)) return;
      cursor = r.seq;
      // A dead-lettered row is done too, but no delivery report will come for it.
      planner.backlog_produced(r.key, r.seq, produced != before);
      if (!release_held()) return;
    }
    if (rows.empty()) cursor = backlog_end;
  }
  if (cursor < backlog_end) return;
  // Every backlog event is produced (animals still listed had their last ones evicted): release all.
  planner.backlog_done();
  if (!release_held()) return;
  const double took = static_cast<double>(planner.ms_since_start()) / 1000.0;
  log->info("backlog drained: {} events in {:.1f} s ({:.0f}/s)", planner.produced_since_start(), took,
            took > 0 ? static_cast<double>(planner.produced_since_start()) / took : 0.0);
  drains.fetch_add(1);
  std::vector<buffer::record>().swap(backlog_rows);  // up to `batch` rows' memory: not kept between drains
  cursor = planner.live_cursor();
  planner.reset();
  forget_read_to_end();  // the plain lane takes over from the live lane
}

void forwarder::impl::fill_window() {
  if (!planner.draining()) {
    switch (planner.next_step(outbox.last_seq(), cursor, in_flight() - std::min(in_flight(), window.in_excused(mono.now_ms())),
                              window.last_ack_ms())) {
      case drain_planner::step::in_order:
        fill_in_order(false);
        return;
      case drain_planner::step::wait_for_acks:
        return;
      case drain_planner::step::split:
        start_drain();
        if (!planner.draining()) {
          fill_in_order(false);
          return;
        }
        break;
    }
  }
  fill_in_order(true);  // live first: its latency is what the drain must not hurt
  fill_backlog();
}

}  // namespace herd::forwarder
