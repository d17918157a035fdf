#pragma once
// herd-eval --score-db: scores the alerts a real herd-projector wrote into its read model
// (table `alerts`) against a herd-sim ground-truth file, with the same matching as herd-eval's
// own runs (scoring.hpp). The demo ends with it.
#include <cstdint>
#include <string>

#include "eval_run.hpp"
#include "herd/core/result.hpp"

namespace herd::eval {

// The alerts of a SQLite read model as a run_output: raised = one entry per alert row (its
// episode), device intervals from the animals' decoded states, low battery = devices whose newest
// reading was at or below the threshold (at their last-seen time).
core::result<run_output> run_from_read_model(const std::string& db_path);

}  // namespace herd::eval
