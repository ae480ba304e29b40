// "an array", "a string", ...: how the JSON codecs name a value's type in their error messages.
#pragma once

#include <simdjson.h>

namespace edgeloop {

inline const char* json_type_phrase(simdjson::ondemand::json_type t) {
  using T = simdjson::ondemand::json_type;
  switch (t) {
    case T::array: return "an array";
    case T::object: return "an object";
    case T::number: return "a number";
    case T::string: return "a string";
    case T::boolean: return "a boolean";
    case T::null: return "null";
  }
  return "an unknown value";
}

}  // namespace edgeloop
