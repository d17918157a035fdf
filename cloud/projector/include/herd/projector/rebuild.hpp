#pragma once
// Rebuild from the event store: replays every stored event, in append order (= the order the
// fold first applied them), through the same applier into a fresh read model. The event store is
// copied along (same events, same source positions), and each partition's stored offset ends past
// its last stored event, so a projector started on the rebuilt read model goes on from there.
// Rejected events are counted again but not dead-lettered again. (A rebuild from the topic is the
// consumer loop without a group: consumer_options::use_group = false, stop_at_end = true.)
#include <cstddef>

#include "herd/core/result.hpp"
#include "herd/projector/applier.hpp"
#include "herd/read_model/store.hpp"

namespace herd::projector {

// `target` should be empty. `with_outbox`: also write the herd.alerts outbox messages of every
// alert change (false by default: they were published when first projected; tests use true to
// get the reference sequence of alert events). Thread: the caller's.
core::result<batch_counts> rebuild_from_store(read_model::store& source, read_model::store& target,
                                              std::size_t batch = 5000, bool with_outbox = false);

}  // namespace herd::projector
