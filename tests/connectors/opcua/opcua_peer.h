// The node-opcua test peer (tests/peers/opcua/server.js) on a free loopback port.
#pragma once

#include <string>

#include "core/result.h"
#include "process.h"

namespace edgeloop::test {

class OpcuaPeer {
 public:
  // Starts it and waits until it accepts connections; fails with a clear message when node or
  // tests/peers/node_modules is missing.
  static Result<OpcuaPeer> start(int port = 0, int fast_items = 0, int fast_interval_ms = 10);
  OpcuaPeer() = default;
  OpcuaPeer(OpcuaPeer&&) = default;
  OpcuaPeer& operator=(OpcuaPeer&&) = default;
  ~OpcuaPeer();
  std::string endpoint() const { return "opc.tcp://127.0.0.1:" + std::to_string(port_) + "/edgeloop"; }
  int port() const { return port_; }
  std::string log() const { return read_file(log_file_); }
  void stop();

 private:
  Process proc_;
  int port_ = 0;
  std::string dir_;
  std::string log_file_;
};

}  // namespace edgeloop::test
