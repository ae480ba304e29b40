// The fleet's state file: written whole to a temporary file, flushed to disk, then renamed
// over the old one (and the directory flushed), so that a crash leaves the old or the new
// state, never a torn one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace edgeloop::fleet {

Status write_file_atomic(const std::string& path, std::string_view content);
// The file's content; nullopt when it does not exist.
Result<std::optional<std::string>> read_state_file(const std::string& path);
// Removes the file (no error when it does not exist).
Status remove_state_file(const std::string& path);

}  // namespace edgeloop::fleet
