#include "eval/evaluation.h"

namespace edgeloop::eval {

Result<EvalResult> run_bearing_sim_eval(const EvalOptions& options, const Registry& registry) {
  (void)options;
  (void)registry;
  return make_error(Errc::kInvalidArgument, "eval bearing-sim: not implemented yet");
}

}  // namespace edgeloop::eval
