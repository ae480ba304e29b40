#include "core/result.h"

namespace edgeloop {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kInvalidConfig: return "invalid config";
    case Errc::kParse: return "parse error";
    case Errc::kTypeMismatch: return "type mismatch";
    case Errc::kTooLarge: return "too large";
    case Errc::kNotFound: return "not found";
    case Errc::kAlreadyExists: return "already exists";
    case Errc::kUnavailable: return "unavailable";
    case Errc::kIo: return "i/o error";
    case Errc::kInternal: return "internal error";
  }
  return "unknown error";
}

}  // namespace edgeloop
