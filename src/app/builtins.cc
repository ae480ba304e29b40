#include "app/builtins.h"

#include "actions/builtins.h"
#include "api/builtins.h"
#include "codecs/builtins.h"
#include "connectors/http_ingest/builtins.h"
#include "connectors/images/builtins.h"
#include "connectors/modbus/builtins.h"
#include "connectors/mqtt/builtins.h"
#include "connectors/opcua/builtins.h"
#include "connectors/simulator/builtins.h"
#include "connectors/sparkplug/builtins.h"
#include "models/builtins.h"
#include "operators/builtins.h"
#include "operators/dsp/builtins.h"
#include "operators/image/builtins.h"
#include "outbox/builtins.h"
#include "rules/builtins.h"
#include "store/builtins.h"

namespace edgeloop {

void register_all(Registry& registry) {
  register_codecs(registry);
  register_mqtt(registry);
  register_opcua(registry);
  register_http_ingest(registry);
  register_images(registry);
  register_modbus(registry);
  register_simulator(registry);
  register_sparkplug(registry);
  register_operators(registry);
  register_dsp(registry);
  register_image_operators(registry);
  register_rules(registry);
  register_models(registry);
  register_actions(registry);
  register_outbox(registry);
  register_store(registry);
  register_api(registry);
}

}  // namespace edgeloop
