#include "rules/builtins.h"

#include "rules/rule_stage.h"

namespace edgeloop {

void register_rules(Registry& registry) { registry.add_stage(RuleStage::info(), &RuleStage::create); }

}  // namespace edgeloop
