// Fuzz target: bytes as YAML text -> load_yaml_string -> parse_app_config. Neither may crash,
// leak or hang, and every error must name the file (a message a user can act on).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "config/app_config.h"
#include "config/yaml_loader.h"

namespace {

const edgeloop::YamlLoadOptions& fuzz_options() {
  static const edgeloop::YamlLoadOptions options = [] {
    edgeloop::YamlLoadOptions o;
    // Deterministic: the real environment would make findings irreproducible.
    o.env = [](const std::string& name) -> std::optional<std::string> {
      if (name == "SET") return std::string("value");
      if (name == "EMPTY") return std::string();
      if (name == "DOLLAR") return std::string("${SET}");  // substituted once, not again
      return std::nullopt;
    };
    return o;
  }();
  return options;
}

void check_error(const edgeloop::Error& e) {
  if (e.message.rfind("fuzz.yaml", 0) != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto root = edgeloop::load_yaml_string(text, "fuzz.yaml", fuzz_options());
  if (!root.ok()) {
    check_error(root.error());
    return 0;
  }
  auto config = edgeloop::parse_app_config(*root);
  if (!config.ok()) {
    check_error(config.error());
    return 0;
  }
  // A valid config holds what the checks promise.
  if (config->sources.empty() || config->pipelines.empty()) std::abort();
  for (const auto& p : config->pipelines) {
    if (p.steps.empty() || p.from.empty()) std::abort();
  }
  for (const auto& a : config->actions) {
    if (a.on_pipeline.empty() || a.on_event.empty()) std::abort();
  }
  return 0;
}
