#include "app/serve.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <optional>

#include "api/http_server.h"
#include "api/live_routes.h"
#include "api/web_assets.h"
#include "config/yaml_loader.h"
#include "connectors/mqtt/mqtt_client.h"
#include "core/clock.h"
#include "models/serving/model_routes.h"
#include "runtime/runtime.h"
#include "store/store_routes.h"

namespace edgeloop {
namespace {

Result<ApiOptions> api_options(const AppConfig& config, const ServeOptions& options) {
  ApiOptions api;
  if (config.http) {
    EDGELOOP_ASSIGN_OR_RETURN(api, ApiOptions::from_node(*config.http, "http"));
  } else {
    api.enabled = false;
  }
  if (options.http_port >= 0) {
    api.enabled = true;
    api.port = options.http_port;
  }
  return api;
}

HealthReport health_of(Runtime& rt) {
  HealthReport h;
  h.status = rt.status();
  for (const auto& c : rt.components()) h.components.push_back({c.name, c.kind, health_name(c.health)});
  return h;
}

// dead_letter.topic: each dead letter is also published (QoS 1) on the broker of dead_letter.mqtt.
Result<std::unique_ptr<MqttClient>> dead_letter_publisher(const AppConfig& config) {
  if (!config.dead_letter) return std::unique_ptr<MqttClient>();
  const ConfigNode* topic = config.dead_letter->find("topic");
  if (!topic || !topic->is_scalar() || topic->str().empty()) return std::unique_ptr<MqttClient>();
  OptionTable table;
  add_mqtt_connect_options(table);
  const ConfigNode* mqtt = config.dead_letter->find("mqtt");
  EDGELOOP_ASSIGN_OR_RETURN(Options opts, Options::parse(table, mqtt ? *mqtt : ConfigNode(), "dead_letter.mqtt"));
  EDGELOOP_ASSIGN_OR_RETURN(MqttConnectConfig connect, mqtt_connect_config(opts));
  if (connect.client_id.empty()) connect.client_id = default_client_id("dead-letters");
  return std::make_unique<MqttClient>("dead letters", connect, MqttClient::Callbacks{});
}

}  // namespace

Status check_config(const AppConfig& config, const Registry& registry) {
  EDGELOOP_ASSIGN_OR_RETURN(auto rt, Runtime::build(config, registry));
  EDGELOOP_ASSIGN_OR_RETURN(ApiOptions api, api_options(config, ServeOptions{}));
  (void)api;
  EDGELOOP_ASSIGN_OR_RETURN(auto dl, dead_letter_publisher(config));
  (void)dl;
  return Status::Ok();
}

ValidateFn config_validator(const Registry& registry) {
  return [&registry](const std::string& yaml) -> Status {
    YamlLoadOptions load;
    load.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    EDGELOOP_ASSIGN_OR_RETURN(ConfigNode root, load_yaml_string(yaml, kValidateDocumentName, load));
    EDGELOOP_ASSIGN_OR_RETURN(AppConfig config, parse_app_config(root));
    return check_config(config, registry);
  };
}

Status serve(const AppConfig& config, const Registry& registry, const ServeOptions& options, const sigset_t& signals) {
  EDGELOOP_ASSIGN_OR_RETURN(auto rt, Runtime::build(config, registry));
  EDGELOOP_ASSIGN_OR_RETURN(ApiOptions api_opts, api_options(config, options));
  Runtime& runtime = *rt;
  EDGELOOP_ASSIGN_OR_RETURN(std::unique_ptr<MqttClient> dl_client, dead_letter_publisher(config));
  if (dl_client) {
    EDGELOOP_TRY(dl_client->start());
    const std::string topic = config.dead_letter->find("topic")->str();
    runtime.dead_letters().add_output([client = dl_client.get(), topic](const DeadLetter&, const std::string& json) {
      client->publish(topic.c_str(), json.data(), static_cast<int>(json.size()), 1, false);
    });
  }
  // The live side (api/live_routes.h): op.live's readings, the alerts, the SSE feed. Made
  // before the server, so that the server (whose feeds read it) stops first.
  LiveHubOptions live_opts;
  live_opts.client_buffer = static_cast<std::size_t>(api_opts.live_buffer);
  LiveHub live(live_opts, runtime.metrics());
  attach_live_hub(runtime, live);
  ApiServer api(api_opts, runtime.metrics(), [&runtime] { return health_of(runtime); });
  register_live_routes(api, runtime, live, pipeline_thresholds(config));
  register_pipeline_routes(api, runtime, config);
  live.start();
  // The stores that op.store / action.store opened: GET /api/v1/readings and /api/v1/events.
  store::register_store_routes(api, store::Store::open_stores());
  // The web dashboard at / (web/, embedded at build time).
  register_dashboard_routes(api);
  register_config_routes(api, config_validator(registry));
  register_model_routes(api);
  EDGELOOP_TRY(api.start());
  EDGELOOP_TRY(runtime.start());
  if (api_opts.enabled) {
    spdlog::info("edgeloop: dashboard at {}://{}:{}/ (metrics at /metrics, health at /healthz)",
                 api.tls() ? "https" : "http", api.host(), api.port());
  }
  spdlog::info("edgeloop: {} sources, {} pipelines, {} actions, {}", config.sources.size(), config.pipelines.size(),
               config.actions.size(),
               runtime.inline_mode() ? std::string("pipelines inline on source threads")
                                     : std::to_string(config.runtime.shards) + " shard thread(s)");
  if (options.banner) {
    spdlog::info("demo: a simulated plant; watch a bearing on line1/pump-1 wear, the alert, and the command. Ctrl-C stops.");
  }

  const int64_t deadline = options.duration_ns > 0 ? mono_now_ns() + options.duration_ns : 0;
  while (true) {
    int64_t wait_ns = 1'000'000'000;
    if (deadline) {
      const int64_t left = deadline - mono_now_ns();
      if (left <= 0) break;
      wait_ns = std::min(wait_ns, left);
    }
    timespec ts{static_cast<time_t>(wait_ns / kNsPerSec), static_cast<long>(wait_ns % kNsPerSec)};
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) {
      spdlog::info("edgeloop: signal {}, stopping", sig);
      break;
    }
  }
  runtime.stop();
  if (dl_client) dl_client->stop();
  live.stop();  // after the runtime's last events; closes the live feeds
  api.stop();
  spdlog::info("edgeloop: stopped; {}", runtime.summary_line());
  return Status::Ok();
}

}  // namespace edgeloop
