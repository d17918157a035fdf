// The outbox's dead letters: kept in their own bounded space (dead_letter_space.hpp), forwarded
// to the dead-letter topic, pruned by retention (README, "Dead letters").
#include "outbox_impl.hpp"

namespace herd::buffer {

core::result<std::int64_t> outbox::add_dead_letter(const std::string& source,
                                                   const std::string& reason,
                                                   const std::string& payload,
                                                   std::int64_t received_ms) {
  std::lock_guard lock(impl_->mu);
  auto& p = *impl_;
  const std::uint64_t bytes = source.size() + reason.size() + payload.size();
  // Never run_making_room: a dead letter must not evict events nor wait for space. When the file
  // is full, older dead letters make room; when none are left, this one is dropped (counted).
  for (;;) {
    std::int64_t id = 0;
    p.last_rc = SQLITE_OK;
    auto st = p.run_in_tx([&]() -> core::status {
      auto fits = p.dls->make_room(bytes);
      if (!fits) return fits.err();
      if (!*fits) return core::ok_v;  // larger than the whole dead-letter space: dropped below
      auto& ins = p.dl_insert;
      ins.bind(1, received_ms);
      ins.bind(2, std::string_view(source));
      ins.bind(3, std::string_view(reason));
      ins.bind_blob(4, payload);
      const int rc = ins.step();
      ins.reset();
      if (rc != SQLITE_DONE) return p.fail(rc, "dead letter");
      id = sqlite3_last_insert_rowid(p.db);
      p.dls->added(bytes);
      return core::ok_v;
    });
    if (!st) {  // rolled back: what make_room deleted is there again
      if (auto r = p.dls->refresh(); !r) return r.err();
    }
    if (st && id != 0) return id;
    if (st || (p.last_rc & 0xFF) == SQLITE_FULL) {
      auto freed = st ? core::result<std::uint64_t>(std::uint64_t{0}) : p.free_dead_letters();
      if (!freed) return freed.err();
      if (*freed > 0) continue;
      p.dls->count_dropped();
      p.log->warn("dead letter from {} dropped: no room for its {} bytes ({}); {} dropped since start",
                  source, bytes, reason, p.dls->dropped());
      return std::int64_t{0};
    }
    return st.err();
  }
}

core::result<std::vector<dead_letter>> outbox::dead_letters(bool unforwarded_only,
                                                            std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  auto& sel = unforwarded_only ? impl_->dl_select_unforwarded : impl_->dl_select_all;
  sel.bind(1, static_cast<std::int64_t>(limit));
  std::vector<dead_letter> out;
  int rc;
  while ((rc = sel.step()) == SQLITE_ROW) {
    out.push_back(dead_letter{sel.column_int(0), sel.column_int(1), sel.column_text(2),
                              sel.column_text(3), sel.column_blob(4), sel.column_int(5) != 0});
  }
  sel.reset();
  if (rc != SQLITE_DONE) return sqlite_error(impl_->db, rc, "dead letters");
  return out;
}

core::status outbox::mark_dead_letters_forwarded(std::span<const std::int64_t> ids) {
  if (ids.empty()) return core::ok_v;
  std::lock_guard lock(impl_->mu);
  auto st = impl_->run_in_tx([&]() -> core::status {
    auto& upd = impl_->dl_mark;
    for (const auto id : ids) {
      upd.bind(1, id);
      const int rc = upd.step();
      upd.reset();
      if (rc != SQLITE_DONE) return sqlite_error(impl_->db, rc, "mark forwarded");
    }
    return impl_->dls->prune_forwarded();  // retention: only the newest forwarded ones stay
  });
  (void)impl_->dls->refresh();
  return st;
}

std::uint64_t outbox::dead_letters_dropped() const { return impl_->dls->dropped(); }

}  // namespace herd::buffer
