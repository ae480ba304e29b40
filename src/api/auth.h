// Bearer-token authentication of the HTTP API: tokens with a role (read < operate < admin),
// from the `http:` config node (`tokens:`) or a `token_file:` that keeps secrets out of the
// YAML. ApiServer checks every route's role; handlers learn who called with caller_of().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace httplib {
struct Request;
}  // namespace httplib

namespace edgeloop {

enum class Role { kRead, kOperate, kAdmin };

const char* role_name(Role role);  // "read", "operate", "admin"
Result<Role> parse_role(std::string_view text);
inline bool role_allows(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

struct ApiToken {
  std::string token;
  Role role = Role::kRead;
  std::string name;  // who holds it ("acked_by"); empty: the role's name stands in
};

// Who made the request being handled.
struct Caller {
  std::string name = "anonymous";  // the token's name, else its role's name; "anonymous" when auth is off
  Role role = Role::kAdmin;        // with no tokens configured everything is open
  bool authenticated = false;      // true when a configured token matched
};

// A token file: one `role token [name]` per line; blank lines and lines starting with '#'
// are skipped. `source` names the file in errors ("file:line: ...").
Result<std::vector<ApiToken>> parse_token_lines(std::string_view text, const std::string& source);
Result<std::vector<ApiToken>> load_token_file(const std::string& path);

// Equality whose time depends only on the length of `presented`, not on where the strings
// differ nor on the secret: a timing probe learns nothing about a configured token.
bool tokens_equal(std::string_view secret, std::string_view presented);

class TokenAuth {
 public:
  TokenAuth() = default;
  explicit TokenAuth(std::vector<ApiToken> tokens) : tokens_(std::move(tokens)) {}

  bool enabled() const { return !tokens_.empty(); }
  // The caller a presented token stands for; an error (401) when auth is on and the token is
  // missing or unknown. Every configured token is compared (no early exit).
  Result<Caller> authenticate(std::string_view presented) const;

 private:
  std::vector<ApiToken> tokens_;
};

// The token of a request: `Authorization: Bearer T`, else `?token=T` (an EventSource cannot
// set headers). Empty when neither is there.
std::string request_token(const httplib::Request& req);

// The caller of the request this thread is handling (set by ApiServer around each handler;
// an SSE content provider runs after its handler returned: copy the Caller in the handler).
// For a request that ApiServer did not authenticate: an unauthenticated "anonymous" admin.
const Caller& caller_of(const httplib::Request& req);

// ApiServer's side of caller_of(): binds `caller` to `req` on this thread for its lifetime.
class CallerScope {
 public:
  CallerScope(const httplib::Request& req, Caller caller);
  ~CallerScope();
  CallerScope(const CallerScope&) = delete;
  CallerScope& operator=(const CallerScope&) = delete;

 private:
  const httplib::Request* prev_req_;
  Caller prev_caller_;
};

}  // namespace edgeloop
