// Result<T>: a value or an Error, returned instead of throwing across edgeloop's code.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace edgeloop {

// Error codes carry what the caller should do, not where it failed.
enum class Errc {
  kInvalidArgument,  // the caller's input is wrong: fix it
  kInvalidConfig,    // a config value is wrong: the message names file, line and key
  kParse,            // a payload or file could not be parsed
  kTypeMismatch,     // a value has the wrong type
  kTooLarge,         // over a configured or built-in bound
  kNotFound,
  kAlreadyExists,
  kUnavailable,      // transient: retry later (broker down, queue full)
  kIo,
  kInternal,         // a bug: counted and reported
};

const char* errc_name(Errc code);

struct Error {
  Errc code = Errc::kInternal;
  std::string message;

  std::string to_string() const { return std::string(errc_name(code)) + ": " + message; }
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }
  Error&& take_error() { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Status: a Result with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  static Status Ok() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

#define EDGELOOP_CONCAT_INNER(a, b) a##b
#define EDGELOOP_CONCAT(a, b) EDGELOOP_CONCAT_INNER(a, b)

// EDGELOOP_TRY(status_expr): returns the error from the enclosing function.
#define EDGELOOP_TRY(expr)                                       \
  do {                                                           \
    auto _edgeloop_status = (expr);                              \
    if (!_edgeloop_status.ok()) return _edgeloop_status.error(); \
  } while (0)

// EDGELOOP_ASSIGN_OR_RETURN(lhs, result_expr)
#define EDGELOOP_ASSIGN_OR_RETURN(lhs, expr)                               \
  auto EDGELOOP_CONCAT(_edgeloop_r, __LINE__) = (expr);                    \
  if (!EDGELOOP_CONCAT(_edgeloop_r, __LINE__).ok())                        \
    return EDGELOOP_CONCAT(_edgeloop_r, __LINE__).take_error();            \
  lhs = std::move(EDGELOOP_CONCAT(_edgeloop_r, __LINE__)).value()

}  // namespace edgeloop
