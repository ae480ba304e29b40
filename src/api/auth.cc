#include "api/auth.h"

#include <httplib.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace edgeloop {

namespace {

// The caller bound to the request being handled on this thread.
struct Bound {
  const httplib::Request* req = nullptr;
  Caller caller;
};
thread_local Bound t_bound;

const Caller& anonymous() {
  static const Caller caller;
  return caller;
}

std::vector<std::string> split_ws(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kRead:
      return "read";
    case Role::kOperate:
      return "operate";
    case Role::kAdmin:
      return "admin";
  }
  return "read";
}

Result<Role> parse_role(std::string_view text) {
  if (text == "read") return Role::kRead;
  if (text == "operate") return Role::kOperate;
  if (text == "admin") return Role::kAdmin;
  return make_error(Errc::kInvalidArgument,
                    "unknown role '" + std::string(text) + "' (expected read, operate or admin)");
}

Result<std::vector<ApiToken>> parse_token_lines(std::string_view text, const std::string& source) {
  std::vector<ApiToken> tokens;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::vector<std::string> words = split_ws(line);
    if (words.empty() || words[0][0] == '#') continue;
    const std::string where = source + ":" + std::to_string(line_no) + ": ";
    if (words.size() < 2 || words.size() > 3) {
      return make_error(Errc::kInvalidConfig,
                        where + "expected 'role token [name]', got " + std::to_string(words.size()) + " words");
    }
    auto role = parse_role(words[0]);
    // Not quoting the word: the file may be any file the config names (config/validate).
    if (!role.ok())
      return make_error(Errc::kInvalidConfig, where + "the first word is not a role (read, operate or admin)");
    tokens.push_back(ApiToken{words[1], *role, words.size() == 3 ? words[2] : std::string()});
  }
  return tokens;
}

Result<std::vector<ApiToken>> load_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::kInvalidConfig, "cannot read token file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(Errc::kInvalidConfig, "cannot read token file " + path);
  return parse_token_lines(text.str(), path);
}

bool tokens_equal(std::string_view secret, std::string_view presented) {
  if (secret.empty()) return false;
  // Walk the presented token only, folding the secret in cyclically: no branch depends on
  // the secret's bytes, and the loop length does not reveal the secret's length.
  unsigned diff = secret.size() == presented.size() ? 0U : 1U;
  for (std::size_t i = 0; i < presented.size(); ++i) {
    diff |= static_cast<unsigned>(static_cast<unsigned char>(secret[i % secret.size()]) ^
                                  static_cast<unsigned char>(presented[i]));
  }
  return diff == 0;
}

Result<Caller> TokenAuth::authenticate(std::string_view presented) const {
  if (!enabled()) return Caller{};
  if (presented.empty()) return make_error(Errc::kInvalidArgument, "missing token (Authorization: Bearer <token>)");
  const ApiToken* found = nullptr;
  for (const ApiToken& t : tokens_) {
    if (tokens_equal(t.token, presented) && found == nullptr) found = &t;
  }
  if (found == nullptr) return make_error(Errc::kInvalidArgument, "unknown token");
  Caller caller;
  caller.role = found->role;
  caller.name = found->name.empty() ? role_name(found->role) : found->name;
  caller.authenticated = true;
  return caller;
}

std::string request_token(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "bearer ";  // the scheme is case-insensitive (RFC 9110)
  bool bearer = auth.size() > kBearer.size();
  for (std::size_t i = 0; bearer && i < kBearer.size(); ++i) {
    bearer = std::tolower(static_cast<unsigned char>(auth[i])) == kBearer[i];
  }
  if (bearer) {
    std::string token = auth.substr(kBearer.size());
    while (!token.empty() && token.front() == ' ') token.erase(token.begin());
    while (!token.empty() && token.back() == ' ') token.pop_back();
    return token;
  }
  if (req.has_param("token")) return req.get_param_value("token");
  return std::string();
}

const Caller& caller_of(const httplib::Request& req) {
  if (t_bound.req == &req) return t_bound.caller;
  return anonymous();
}

CallerScope::CallerScope(const httplib::Request& req, Caller caller)
    : prev_req_(t_bound.req), prev_caller_(std::move(t_bound.caller)) {
  t_bound.req = &req;
  t_bound.caller = std::move(caller);
}

CallerScope::~CallerScope() {
  t_bound.req = prev_req_;
  t_bound.caller = std::move(prev_caller_);
}

}  // namespace edgeloop
