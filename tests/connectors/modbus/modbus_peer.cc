#include "modbus_peer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace edgeloop::test {

namespace {

std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream in(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(in, dir, ':')) {
    const std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

}  // namespace

ModbusPeer::ModbusPeer() = default;

ModbusPeer::~ModbusPeer() {
  stop();
  if (!dir_.empty()) remove_tree(dir_);
}

Status ModbusPeer::start(const std::string& values_json, const std::vector<std::string>& extra_args) {
  const std::string peers = std::string(EDGELOOP_SOURCE_DIR) + "/tests/peers";
  const std::string node = find_in_path("node");
  if (node.empty()) return make_error(Errc::kNotFound, "node is not on PATH: install Node.js (scripts/setup.sh)");
  if (!exists(peers + "/node_modules/modbus-serial"))
    return make_error(Errc::kNotFound, peers + "/node_modules/modbus-serial is missing: run `npm ci` in " + peers);
  if (dir_.empty()) {
    auto d = make_temp_dir("edgeloop-modbus-");
    if (!d.ok()) return d.error();
    dir_ = *d;
  }
  if (port_ == 0) port_ = free_port();
  {
    std::ofstream out(dir_ + "/values.json");
    out << values_json;
  }
  std::vector<std::string> argv = {node, peers + "/modbus/server.js", "--port", std::to_string(port_), "--values",
                                   dir_ + "/values.json"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  ProcessOptions opt;
  opt.log_file = dir_ + "/peer.log";
  opt.working_dir = peers;
  opt.env = {"NODE_PATH=" + peers + "/node_modules"};
  std::remove(opt.log_file.c_str());
  auto p = Process::start(argv, opt);
  if (!p.ok()) return p.error();
  process_ = std::move(*p);
  if (!wait_until([&] { return output().find("READY") != std::string::npos || !process_.running(); },
                  std::chrono::seconds(15)) ||
      output().find("READY") == std::string::npos) {
    return make_error(Errc::kUnavailable, "the modbus peer did not start: " + output());
  }
  return Status::Ok();
}

void ModbusPeer::stop() {
  process_.stop(std::chrono::seconds(3));
  if (port_ > 0) wait_port_closed(port_, std::chrono::seconds(3));
}

void ModbusPeer::kill() {
  process_.kill();
  if (port_ > 0) wait_port_closed(port_, std::chrono::seconds(3));
}

std::string ModbusPeer::output() const { return dir_.empty() ? std::string() : read_file(dir_ + "/peer.log"); }

std::vector<std::string> ModbusPeer::writes() const {
  std::vector<std::string> out;
  std::stringstream in(output());
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("WRITE ", 0) == 0) out.push_back(line.substr(6));
  return out;
}

bool ModbusPeer::wait_write(const std::string& line, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        for (const auto& w : writes())
          if (w == line) return true;
        return false;
      },
      timeout, std::chrono::milliseconds(5));
}

}  // namespace edgeloop::test
