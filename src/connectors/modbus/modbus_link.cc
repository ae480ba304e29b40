#include "connectors/modbus/modbus_link.h"

#include <modbus.h>

#include <cerrno>

namespace edgeloop::modbus {

std::string IoStatus::reason() const {
  switch (fail) {
    case Fail::kNone: return "ok";
    case Fail::kException: return exception_name(exception);
    case Fail::kTimeout: return "timeout";
    case Fail::kBadResponse: return "bad_response";
    case Fail::kConnection: return "connection";
  }
  return "unknown";
}

Link::~Link() { close(); }

std::string Link::where() const {
  return config_.host + ":" + std::to_string(config_.port) + " unit " + std::to_string(config_.unit);
}

IoStatus Link::failed(int err) {
  IoStatus s;
  s.message = modbus_strerror(err);
  if (err > MODBUS_ENOBASE && err <= EMBXGTAR) {
    s.fail = Fail::kException;
    s.exception = err - MODBUS_ENOBASE;
  } else if (err == ETIMEDOUT) {
    s.fail = Fail::kTimeout;
  } else if (err >= EMBBADCRC && err <= EMBBADSLAVE) {
    s.fail = Fail::kBadResponse;
  } else {
    s.fail = Fail::kConnection;  // reset, refused, broken pipe, closed by the peer
  }
  return s;
}

IoStatus Link::connect() {
  close();
  ctx_ = modbus_new_tcp(config_.host.c_str(), config_.port);
  if (!ctx_) {
    IoStatus s;
    s.fail = Fail::kConnection;
    s.message = std::string("cannot create a context: ") + modbus_strerror(errno);
    return s;
  }
  const auto sec = static_cast<uint32_t>(config_.timeout_ns / 1'000'000'000);
  const auto usec = static_cast<uint32_t>((config_.timeout_ns % 1'000'000'000) / 1000);
  modbus_set_response_timeout(ctx_, sec, usec);
  modbus_set_byte_timeout(ctx_, sec, usec);
  modbus_set_slave(ctx_, config_.unit);
  if (modbus_connect(ctx_) != 0) {
    IoStatus s = failed(errno);
    s.fail = Fail::kConnection;
    close();
    return s;
  }
  return {};
}

void Link::close() {
  if (!ctx_) return;
  modbus_close(ctx_);
  modbus_free(ctx_);
  ctx_ = nullptr;
}

void Link::flush() {
  if (ctx_) modbus_flush(ctx_);
}

IoStatus Link::read(Table table, uint16_t start, uint16_t count, uint16_t* out) {
  if (!ctx_) return {Fail::kConnection, 0, "not connected"};
  int rc = -1;
  switch (table) {
    case Table::kHolding: rc = modbus_read_registers(ctx_, start, count, out); break;
    case Table::kInput: rc = modbus_read_input_registers(ctx_, start, count, out); break;
    case Table::kCoil: rc = modbus_read_bits(ctx_, start, count, bits_); break;
    case Table::kDiscrete: rc = modbus_read_input_bits(ctx_, start, count, bits_); break;
  }
  if (rc < 0) return failed(errno);
  if (rc != count) return {Fail::kBadResponse, 0, "short answer: " + std::to_string(rc) + " of " + std::to_string(count)};
  if (is_bit_table(table))
    for (int i = 0; i < count; ++i) out[i] = bits_[i] ? 1 : 0;
  return {};
}

IoStatus Link::write_registers(uint16_t start, const uint16_t* words, int count) {
  if (!ctx_) return {Fail::kConnection, 0, "not connected"};
  const int rc = count == 1 ? modbus_write_register(ctx_, start, words[0]) : modbus_write_registers(ctx_, start, count, words);
  if (rc < 0) return failed(errno);
  return {};
}

IoStatus Link::write_coil(uint16_t address, bool on) {
  if (!ctx_) return {Fail::kConnection, 0, "not connected"};
  if (modbus_write_bit(ctx_, address, on ? 1 : 0) < 0) return failed(errno);
  return {};
}

}  // namespace edgeloop::modbus
