// One Modbus TCP connection (libmodbus): connect with a response timeout, typed reads and
// writes, and each failure classified (exception with its code, timeout, bad response, lost
// connection) so callers count and dead-letter it by reason. Blocking: use it on a
// connector's own thread. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "connectors/modbus/modbus_types.h"

struct _modbus;

namespace edgeloop::modbus {

enum class Fail : uint8_t { kNone, kException, kTimeout, kBadResponse, kConnection };

struct IoStatus {
  Fail fail = Fail::kNone;
  int exception = 0;     // kException: the Modbus exception code
  std::string message;   // libmodbus's text
  bool ok() const { return fail == Fail::kNone; }
  // The dead-letter reason: the exception's name, "timeout", "bad_response" or "connection".
  std::string reason() const;
};

struct LinkConfig {
  std::string host = "127.0.0.1";
  int port = 502;
  int unit = 1;
  int64_t timeout_ns = 1'000'000'000;  // response timeout (also bounds connect)
};

class Link {
 public:
  explicit Link(LinkConfig config) : config_(std::move(config)) {}
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  IoStatus connect();
  void close();
  bool connected() const { return ctx_ != nullptr; }
  // Discards whatever is left in the socket (a late answer after a timeout).
  void flush();

  // Registers (holding/input) or bits (coil/discrete, one word 0/1 per bit) into `out`.
  IoStatus read(Table table, uint16_t start, uint16_t count, uint16_t* out);
  // Holding registers: FC6 for one word, FC16 for more.
  IoStatus write_registers(uint16_t start, const uint16_t* words, int count);
  IoStatus write_coil(uint16_t address, bool on);  // FC5

  const LinkConfig& config() const { return config_; }
  std::string where() const;  // "host:port unit N"

 private:
  IoStatus failed(int err);

  LinkConfig config_;
  _modbus* ctx_ = nullptr;
  uint8_t bits_[kMaxReadBits];
};

}  // namespace edgeloop::modbus
