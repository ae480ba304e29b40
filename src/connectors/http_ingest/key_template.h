// The stream key of an ingested JSON object, from its fields: `{device}` is the value of the
// field `device`, `{site}/{device}` joins two, `line1/{meta.id}` adds literal text, a text
// without fields (`pump-1`) is one constant key. Field paths are dotted (`a.b`) or JSON
// pointers (`/a/b`); `{{` and `}}` are literal braces.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgeloop {

class KeyTemplate {
 public:
  struct Part {
    bool field = false;
    std::string text;  // literal text, or the field as a JSON pointer ("/a/b")
  };

  static Result<KeyTemplate> compile(std::string_view text);
  KeyTemplate() = default;

  const std::string& text() const { return text_; }
  const std::vector<Part>& parts() const { return parts_; }
  bool constant() const { return fields_ == 0; }

 private:
  std::string text_;
  std::vector<Part> parts_;
  int fields_ = 0;
};

// "a.b" -> "/a/b" (with ~ and / escaped); a path that starts with '/' is already a pointer.
std::string json_pointer_of(std::string_view path);

}  // namespace edgeloop
