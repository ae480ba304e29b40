// Linked into every test binary: creates spdlog's registry during static initialisation, on
// the main thread, before any test starts a thread. spdlog creates it lazily on first use;
// when that first use is on a connector's thread while another thread logs, ThreadSanitizer
// sees the uninstrumented libspdlog's initialisation race with the reads (the edgeloop binary
// does the same at the top of main()).
#include <spdlog/spdlog.h>

namespace {

const bool kLoggingReady = [] {
  spdlog::default_logger_raw();
  return true;
}();

}  // namespace
