// Runs a config: builds the runtime, the HTTP API, starts everything and waits for a signal
// or the end of --duration, then stops in order.
#pragma once

#include <csignal>
#include <cstdint>

#include "api/config_routes.h"
#include "config/app_config.h"
#include "core/registry.h"

namespace edgeloop {

struct ServeOptions {
  int64_t duration_ns = 0;  // 0: until SIGINT/SIGTERM
  int http_port = -1;       // -1: as configured
  bool banner = false;      // the demo prints what it shows
};

// Builds everything the config names without starting it: `edgeloop check`.
Status check_config(const AppConfig& config, const Registry& registry);

// POST /api/v1/config/validate's check: the body as a config file named "<request>", then
// check_config. ${VAR} takes only its `:-default` (not the server's environment: an error
// message would echo a secret's value to the caller). `registry` must outlive it.
ValidateFn config_validator(const Registry& registry);

// `signals` must already be blocked in every thread.
Status serve(const AppConfig& config, const Registry& registry, const ServeOptions& options, const sigset_t& signals);

}  // namespace edgeloop
