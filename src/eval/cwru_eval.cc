#include "eval/evaluation.h"

namespace edgeloop::eval {

Result<EvalResult> run_cwru_eval(const EvalOptions& options, const Registry& registry) {
  (void)options;
  (void)registry;
  return make_error(Errc::kInvalidArgument, "eval CWRU: not implemented yet");
}

}  // namespace edgeloop::eval
