// The Modbus peer for tests: tests/peers/modbus/server.js (npm modbus-serial's ServerTCP) run
// with node on a free loopback port, stopped by PID. Its stdout (READY, WRITE lines) goes to a
// file that the test reads. A missing node or node_modules is an error with a clear message
// (the test fails: CI installs them).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"
#include "process.h"

namespace edgeloop::test {

class ModbusPeer {
 public:
  ModbusPeer();
  ~ModbusPeer();
  // `values_json`: {"holding": {"0": 17}, "input": {...}, "coils": {...}, "discrete": {...}}.
  // Picks a free port on the first start; later starts reuse it.
  Status start(const std::string& values_json = "{}", const std::vector<std::string>& extra_args = {});
  void stop();
  void kill();
  int port() const { return port_; }
  std::string output() const;
  // The "WRITE ..." lines so far, without the prefix: "holding 10 90", "coil 3 1".
  std::vector<std::string> writes() const;
  bool wait_write(const std::string& line, std::chrono::milliseconds timeout);

 private:
  std::string dir_;
  int port_ = 0;
  Process process_;
};

}  // namespace edgeloop::test
