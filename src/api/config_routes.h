// POST /api/v1/config/validate: the body is a config (YAML); the answer says whether
// `edgeloop check` would accept it. The checks live in the app (they need the Registry):
// it passes them in, so that src/api does not depend on app/.
#pragma once

#include <functional>
#include <string>

#include "api/auth.h"
#include "core/result.h"

namespace edgeloop {

class ApiServer;

// Checks a config document; an error's message is "file:line:col: path: what".
using ValidateFn = std::function<Status(const std::string& yaml)>;

// Answers {"ok":true} or {"ok":false,"errors":[{"message","line","column"}]} (200 both:
// the request worked; line and column are there when the message starts with the
// document's name and a place). Size bounds are the YAML loader's (kMaxConfigBytes).
// Validation builds the whole runtime as `edgeloop check` does (plugins may open files,
// such as a store's database), hence admin by default.
void register_config_routes(ApiServer& api, ValidateFn validate, Role need = Role::kAdmin);

// The document name the app should give the body in its messages ("<request>").
inline constexpr const char* kValidateDocumentName = "<request>";

}  // namespace edgeloop
