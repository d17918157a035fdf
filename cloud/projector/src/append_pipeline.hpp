#pragma once
// The event store append of one batch, in pieces that overlap with the fold (applier.cpp): the
// database stores piece k+1 while the projector folds the records of piece k, instead of the
// two waiting for each other (issue 9: one batch at a time left 27 % of 2 cores idle).
// store_txn::send_append / receive_appended carry the pieces (PostgreSQL: libpq pipeline mode).
//
// The flags are those one append_events call of the whole batch would return: a later piece's
// event_id already stored by an earlier piece is a duplicate (the same transaction sees it).
//
// While pieces are in flight the transaction takes no other statement: call drain() before any
// other use of it (loading an animal's state the prefetch missed). fresh() resumes sending.
//
// Thread: the applier's. Borrows the transaction and the events; both must outlive it.
#include <cstddef>
#include <span>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/read_model/store.hpp"

namespace herd::projector {

class append_pipeline {
 public:
  // Events per piece: small enough that the fold of the first piece starts early, large enough
  // that each INSERT's fixed cost stays small beside its rows.
  static constexpr std::size_t k_piece = 250;
  // Pieces sent and not yet received, at most (the results wait in the socket buffers).
  static constexpr std::size_t k_ahead = 2;

  append_pipeline(read_model::store_txn& txn, std::span<const read_model::stored_event> events)
      : txn_(txn), events_(events) {}

  // Whether events[k] was appended now (false: a duplicate), receiving pieces up to k's (and
  // sending the next ones) as needed. k in increasing order or not: both work.
  core::result<bool> fresh(std::size_t k);
  // Receives every piece in flight; the transaction is free for other statements until the
  // next fresh() that needs a piece not yet sent.
  core::status drain();

 private:
  core::status send_more();
  core::status receive_one();

  read_model::store_txn& txn_;
  std::span<const read_model::stored_event> events_;
  std::size_t sent_ = 0;        // events handed to send_append
  std::vector<bool> flags_;     // flags of the events received so far, in order
  std::size_t in_flight_ = 0;   // pieces sent and not received
};

}  // namespace herd::projector
