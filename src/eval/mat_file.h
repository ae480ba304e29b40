// A reader for MATLAB level-5 MAT-files (the format of the CWRU bearing data): the numeric,
// real arrays of a file (double, single and the integer classes, converted to double), by
// name. Compressed variables (miCOMPRESSED, MATLAB 7's default) are inflated with zlib.
// Cells, structs, objects, chars, sparse and complex arrays are skipped (listed by name).
// Every length and offset is checked against the bytes at hand: a truncated or corrupt file
// gives an Error (kParse, or kTooLarge past the bounds below), never a read out of bounds.
// Both byte orders ("IM" and "MI") are read. Not the HDF5-based v7.3 format.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgeloop::eval {

struct MatArray {
  std::string name;
  std::string class_name;         // MATLAB's class: "double", "single", "uint16", ...
  std::vector<std::size_t> dims;  // at least 2
  std::vector<double> data;       // column-major, every class converted to double

  std::size_t rows() const { return dims.empty() ? 0 : dims[0]; }
  std::size_t cols() const { return dims.size() < 2 ? 0 : data.size() / (dims[0] ? dims[0] : 1); }
  std::size_t numel() const { return data.size(); }
};

struct MatFile {
  std::string header;                // the 116-byte descriptive text, trailing spaces and NULs trimmed
  std::vector<MatArray> arrays;      // the numeric real arrays, in file order
  std::vector<std::string> skipped;  // the names of the other variables

  const MatArray* find(std::string_view name) const;
  // The value of a 1x1 array; kNotFound / kTypeMismatch otherwise.
  Result<double> scalar(std::string_view name) const;
};

struct MatLimits {
  std::size_t max_elements = std::size_t{1} << 28;  // per array (2 GiB as doubles)
  std::size_t max_inflated = std::size_t{1} << 30;  // bytes of one compressed variable, inflated
};

// `what` names the input in error messages (a path). `wanted`: decode only the arrays with
// these names (the others are skipped, still bounds-checked); empty: every array.
Result<MatFile> parse_mat(std::string_view bytes, const std::string& what, const std::vector<std::string>& wanted = {},
                          const MatLimits& limits = {});
Result<MatFile> read_mat_file(const std::string& path, const std::vector<std::string>& wanted = {},
                              const MatLimits& limits = {});

}  // namespace edgeloop::eval
