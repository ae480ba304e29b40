#include "models/builtins.h"

namespace edgeloop {

void register_models(Registry& registry) { (void)registry; }

}  // namespace edgeloop
