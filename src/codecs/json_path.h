// Field paths into a JSON object: dotted ("a.b.c") or JSON pointer ("/a/b", with ~0 and ~1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgeloop {

// The member names of a path, outermost first. Paths address object members only (no array
// indices). An empty path or an empty segment ("a..b", "/a//b") is an error.
Result<std::vector<std::string>> parse_field_path(std::string_view path);

// The path as the user should read it in messages: the segments joined with dots.
std::string field_path_text(const std::vector<std::string>& segments);

}  // namespace edgeloop
