#include "eval/evaluation.h"

namespace edgeloop::eval {

Result<EvalResult> run_ims_eval(const EvalOptions& options, const Registry& registry) {
  (void)options;
  (void)registry;
  return make_error(Errc::kInvalidArgument, "eval IMS: not implemented yet");
}

}  // namespace edgeloop::eval
