// Small helpers for the data sets the evaluation reads: whole files, CSV lines, numbers and
// "YYYY-MM-DD HH:MM:SS" timestamps (UTC), without exceptions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgeloop::eval {

Result<std::string> read_file(const std::string& path);
// Writes `data` to `path` through a temporary file and a rename (readers never see half a file).
Status write_file_atomic(const std::string& path, std::string_view data);

// Splits on `sep`; no quoting (none of the data sets quote fields).
void split(std::string_view line, char sep, std::vector<std::string_view>& out);
// The lines of a text, without their "\n" or "\r\n"; empty lines skipped.
std::vector<std::string_view> lines(std::string_view text);

// A decimal number ("0.0", "-1e-3", " 12 "); kParse otherwise.
Result<double> to_number(std::string_view text);
// "YYYY-MM-DD HH:MM:SS" (or with a 'T', and an optional fraction ".ffffff"), as UTC, to Unix ns.
Result<int64_t> parse_timestamp_ns(std::string_view text);
// The inverse, to whole seconds: "YYYY-MM-DD HH:MM:SS".
std::string format_timestamp(int64_t ts_ns);

}  // namespace edgeloop::eval
