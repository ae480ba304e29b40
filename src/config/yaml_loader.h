// Loads a YAML config file into edgeloop's ConfigNode tree (core/config_node.h), with a Mark
// (file, 1-based line and column) on every node and `${VAR}` substitution in every scalar.
// The only place in edgeloop that talks to yaml-cpp: its exceptions stop here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "config/env_subst.h"
#include "core/config_node.h"
#include "core/result.h"

namespace edgeloop {

// Bounds that keep a hostile or broken file from exhausting memory or the stack.
inline constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;
inline constexpr int kMaxConfigDepth = 64;              // nested maps and lists
inline constexpr std::size_t kMaxAliasNodes = 100'000;  // nodes copied in by aliases, in all
inline constexpr std::size_t kMaxAliasBytes = 16 * 1024 * 1024;  // scalar bytes copied by aliases
// ConfigNode::set() looks for an existing key, so building a map costs keys^2 / 2 compares:
// this keeps a 4 MiB file of one flat map from taking minutes.
inline constexpr std::size_t kMaxMapKeys = 10'000;

struct YamlLoadOptions {
  EnvLookup env = process_env();  // where ${NAME} is looked up
  std::size_t max_bytes = kMaxConfigBytes;
  int max_depth = kMaxConfigDepth;
};

// Parses one YAML document. Every value is a scalar string, a list or a map (keys in document
// order); YAML nulls (`~`, `null`, nothing) become null nodes. Anchors and aliases work (an
// alias is a copy of the anchored node; the copy's own mark is the alias, its children keep
// the anchor's); merge keys (`<<`) are not interpreted.
// Errors (message "file:line:col: [path: ]what"):
//   kInvalidConfig  YAML syntax, duplicate map key, non-scalar map key, more than one document,
//                   unset ${VAR} or a malformed ${...}
//   kTooLarge       input over max_bytes, nesting deeper than max_depth, a map of more than
//                   kMaxMapKeys keys, aliases expanding past kMaxAliasNodes / kMaxAliasBytes
//   kNotFound, kIo  (files) cannot open or read
// An empty document gives a null node marked name:1:1.
Result<ConfigNode> load_yaml_string(std::string_view text, const std::string& name,
                                    const YamlLoadOptions& options = {});
Result<ConfigNode> load_yaml_file(const std::string& path, const YamlLoadOptions& options = {});

}  // namespace edgeloop
