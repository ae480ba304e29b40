#include "api/config_routes.h"

#include <httplib.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <string_view>

#include "api/http_server.h"

namespace edgeloop {

namespace {

// Reads "<name>:LINE:COL:" at the start of `message`; false when it is not there.
bool place_of(std::string_view message, int& line, int& column) {
  const std::string_view prefix = std::string_view(kValidateDocumentName);
  if (message.substr(0, prefix.size()) != prefix) return false;
  std::string_view rest = message.substr(prefix.size());
  int values[2] = {0, 0};
  for (int& v : values) {
    if (rest.empty() || rest.front() != ':') return false;
    rest.remove_prefix(1);
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc() || ptr == rest.data()) return false;
    rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()));
  }
  line = values[0];
  column = values[1];
  return true;
}

}  // namespace

void register_config_routes(ApiServer& api, ValidateFn validate, Role need) {
  api.add_post(
      "/api/v1/config/validate",
      [validate = std::move(validate)](const httplib::Request& req, httplib::Response& res) {
        nlohmann::json out;
        const Status st = validate ? validate(req.body) : Status(make_error(Errc::kInternal, "no validator"));
        if (st.ok()) {
          out = {{"ok", true}};
        } else {
          nlohmann::json err = {{"message", st.error().message}};
          int line = 0;
          int column = 0;
          if (place_of(st.error().message, line, column)) {
            err["line"] = line;
            err["column"] = column;
          }
          out = {{"ok", false}, {"errors", nlohmann::json::array({err})}};
        }
        // The message may quote the body, which need not be UTF-8.
        res.set_content(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
      },
      need);
}

}  // namespace edgeloop
