// Environment substitution in config scalars: `${NAME}`, `${NAME:-default}` and `$$`.
// The YAML loader applies it to every scalar while it builds the tree, so an error still
// points at the scalar's place in the file.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace edgeloop {

// Looks a variable up: nullopt when it is unset. Injectable so tests need no real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
EnvLookup process_env();

// Rewrites `text`:
//   ${NAME}           the variable's value; an error when it is unset (empty is a value)
//   ${NAME:-default}  the value, or `default` (taken literally) when unset or empty
//   $$                a literal `$`
//   $ followed by anything else is kept as written ("$5", "a$b").
// NAME is [A-Za-z_][A-Za-z0-9_]*. Errors (kInvalidConfig) carry the message only: the caller
// prefixes file, line and path.
Result<std::string> substitute_env(std::string_view text, const EnvLookup& env);

}  // namespace edgeloop
