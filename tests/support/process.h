// Child processes for tests: start one (fork/exec, its own process group, output to a file),
// stop it by PID (TERM, then KILL after a deadline), and loopback port helpers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"

namespace edgeloop::test {

struct ProcessOptions {
  std::string log_file;        // stdout and stderr are appended here; empty: /dev/null
  std::string working_dir;     // empty: the current one
  std::vector<std::string> env;  // extra "NAME=value" entries
  // SIGKILL the child when the thread that started it exits (Linux PR_SET_PDEATHSIG), so a
  // crashed test leaves nothing behind. Start long-lived children from the main thread.
  bool die_with_parent = true;
};

// One child process, stopped (by PID, with its whole process group) when destroyed.
class Process {
 public:
  Process() = default;
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // argv[0] is the program's path (not searched in PATH).
  static Result<Process> start(const std::vector<std::string>& argv, const ProcessOptions& options = {});

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  // True while it runs; reaps it when it has exited.
  bool running();
  // SIGTERM to its process group, SIGKILL when still running after `grace`; reaps it.
  // Returns its wait status (see waitpid), or -1 when there was nothing to stop.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // SIGKILL at once (a crash), then reaps it.
  int kill();
  // Waits up to `timeout` for it to exit by itself; returns its wait status or -1.
  int wait(std::chrono::milliseconds timeout);
  // The wait status once it has exited (after running() returned false, stop(), kill(), wait()).
  int exit_status() const { return status_; }

 private:
  int signal_and_reap(int sig, std::chrono::milliseconds grace);
  pid_t pid_ = -1;
  int status_ = -1;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0 and read it back).
int free_port();
// Polls connect() to 127.0.0.1:port until it succeeds or `timeout` passes.
bool wait_port_open(int port, std::chrono::milliseconds timeout);
// Polls until connect() to 127.0.0.1:port is refused or `timeout` passes.
bool wait_port_closed(int port, std::chrono::milliseconds timeout);

// Polls `done` every `poll` until it returns true or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(2));

// A fresh directory under $TMPDIR (or /tmp), "<prefix>XXXXXX"; remove_tree() removes it.
Result<std::string> make_temp_dir(const std::string& prefix = "edgeloop-test-");
void remove_tree(const std::string& path);
// The whole file, or "" when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace edgeloop::test
