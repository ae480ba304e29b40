#include "opcua_peer.h"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace edgeloop::test {

namespace {
std::string find_node() {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/usr/local/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    const std::string p = dir + "/node";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}
}  // namespace

Result<OpcuaPeer> OpcuaPeer::start(int port, int fast_items, int fast_interval_ms) {
  const std::string peers = std::string(EDGELOOP_SOURCE_DIR) + "/tests/peers";
  const std::string node = find_node();
  if (node.empty()) return make_error(Errc::kNotFound, "node is not on PATH: install nodejs (scripts/setup.sh)");
  if (::access((peers + "/node_modules/node-opcua/package.json").c_str(), R_OK) != 0) {
    return make_error(Errc::kNotFound, "node-opcua missing: run `npm ci` in " + peers);
  }
  OpcuaPeer p;
  p.port_ = port ? port : free_port();
  EDGELOOP_ASSIGN_OR_RETURN(p.dir_, make_temp_dir("edgeloop-opcua-"));
  p.log_file_ = p.dir_ + "/server.log";
  ProcessOptions o;
  o.log_file = p.log_file_;
  o.working_dir = peers;
  o.env = {"NODE_PATH=" + peers + "/node_modules"};
  EDGELOOP_ASSIGN_OR_RETURN(p.proc_, Process::start({node, peers + "/opcua/server.js", std::to_string(p.port_),
                                                     std::to_string(fast_items), std::to_string(fast_interval_ms)},
                                                    o));
  if (!wait_until([&] { return p.log().find("READY") != std::string::npos || !p.proc_.running(); },
                  std::chrono::seconds(30), std::chrono::milliseconds(20)) ||
      p.log().find("READY") == std::string::npos) {
    return make_error(Errc::kUnavailable, "OPC UA peer did not start: " + p.log());
  }
  return p;
}

void OpcuaPeer::stop() {
  if (proc_.started()) proc_.stop(std::chrono::seconds(3));
}

OpcuaPeer::~OpcuaPeer() {
  stop();
  if (!dir_.empty()) remove_tree(dir_);
}

}  // namespace edgeloop::test
