// A NAB-layout data folder: `data/<category>/<file>.csv` (timestamp,value) and
// `labels/combined_windows.json` (per file, its anomaly windows as [start, end] timestamps).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace edgeloop::eval {

// A window as rows of its file, both ends included.
struct RowWindow {
  std::size_t first = 0;
  std::size_t last = 0;
};

struct NabFile {
  std::string name;  // "<category>/<file>.csv", the key of the label file
  std::vector<int64_t> ts_ns;
  std::vector<double> values;
  std::vector<RowWindow> windows;
};

struct NabCorpus {
  std::vector<NabFile> files;  // sorted by name
  std::size_t rows() const;
  std::size_t windows() const;
};

// Reads one `timestamp,value` CSV (a header row, then rows).
Result<NabFile> load_nab_csv(const std::string& path, std::string name);
// Loads every CSV under DIR/data that the label file names (files it does not name are an error:
// their windows would be unknown). `only`: if not empty, keep the files whose name contains it.
Result<NabCorpus> load_nab_corpus(const std::string& dir, const std::string& only = "");
// Maps [start, end] timestamps onto rows: the first row at or after start, the last at or before
// end. kInvalidArgument when no row falls inside.
Result<RowWindow> window_rows(const std::vector<int64_t>& ts_ns, int64_t start_ns, int64_t end_ns);

}  // namespace edgeloop::eval
