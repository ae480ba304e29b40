#include "eval/nab_corpus.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "eval/text_io.h"

namespace edgeloop::eval {

std::size_t NabCorpus::rows() const {
  std::size_t n = 0;
  for (const auto& f : files) n += f.values.size();
  return n;
}

std::size_t NabCorpus::windows() const {
  std::size_t n = 0;
  for (const auto& f : files) n += f.windows.size();
  return n;
}

Result<NabFile> load_nab_csv(const std::string& path, std::string name) {
  EDGELOOP_ASSIGN_OR_RETURN(std::string text, read_file(path));
  NabFile f;
  f.name = std::move(name);
  const auto ls = lines(text);
  if (ls.empty()) return make_error(Errc::kParse, path + ": empty file");
  std::vector<std::string_view> cols;
  split(ls[0], ',', cols);
  int ts_col = -1, v_col = -1;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (cols[i] == "timestamp") ts_col = static_cast<int>(i);
    if (cols[i] == "value") v_col = static_cast<int>(i);
  }
  if (ts_col < 0 || v_col < 0) return make_error(Errc::kParse, path + ": the header has no 'timestamp' and 'value' columns");
  f.ts_ns.reserve(ls.size());
  f.values.reserve(ls.size());
  for (std::size_t i = 1; i < ls.size(); ++i) {
    split(ls[i], ',', cols);
    if (cols.size() <= static_cast<std::size_t>(std::max(ts_col, v_col))) {
      return make_error(Errc::kParse, path + ":" + std::to_string(i + 1) + ": too few columns");
    }
    auto ts = parse_timestamp_ns(cols[static_cast<std::size_t>(ts_col)]);
    if (!ts.ok()) return make_error(Errc::kParse, path + ":" + std::to_string(i + 1) + ": " + ts.error().message);
    auto v = to_number(cols[static_cast<std::size_t>(v_col)]);
    if (!v.ok()) return make_error(Errc::kParse, path + ":" + std::to_string(i + 1) + ": " + v.error().message);
    if (!f.ts_ns.empty() && *ts < f.ts_ns.back()) {
      return make_error(Errc::kParse, path + ":" + std::to_string(i + 1) + ": timestamps go back in time");
    }
    f.ts_ns.push_back(*ts);
    f.values.push_back(*v);
  }
  if (f.values.empty()) return make_error(Errc::kParse, path + ": no rows");
  return f;
}

Result<RowWindow> window_rows(const std::vector<int64_t>& ts, int64_t start_ns, int64_t end_ns) {
  const auto lo = std::lower_bound(ts.begin(), ts.end(), start_ns);
  const auto hi = std::upper_bound(ts.begin(), ts.end(), end_ns);
  if (lo >= hi) return make_error(Errc::kInvalidArgument, "no row inside the window");
  return RowWindow{static_cast<std::size_t>(lo - ts.begin()), static_cast<std::size_t>(hi - ts.begin()) - 1};
}

Result<NabCorpus> load_nab_corpus(const std::string& dir, const std::string& only) {
  namespace fs = std::filesystem;
  const std::string labels_path = dir + "/labels/combined_windows.json";
  EDGELOOP_ASSIGN_OR_RETURN(std::string labels_text, read_file(labels_path));
  nlohmann::json labels;
  try {
    labels = nlohmann::json::parse(labels_text);
  } catch (const std::exception& e) {
    return make_error(Errc::kParse, labels_path + ": " + e.what());
  }
  if (!labels.is_object()) return make_error(Errc::kParse, labels_path + ": expected an object of file -> windows");

  std::vector<std::string> names;
  std::error_code ec;
  const fs::path data = fs::path(dir) / "data";
  if (!fs::is_directory(data, ec)) return make_error(Errc::kNotFound, data.string() + ": not a folder (expected NAB's layout)");
  for (fs::recursive_directory_iterator it(data, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".csv") continue;
    names.push_back(fs::relative(it->path(), data).generic_string());
  }
  if (ec) return make_error(Errc::kIo, data.string() + ": " + ec.message());
  std::sort(names.begin(), names.end());

  NabCorpus corpus;
  for (const auto& name : names) {
    if (!only.empty() && name.find(only) == std::string::npos) continue;
    auto entry = labels.find(name);
    if (entry == labels.end()) return make_error(Errc::kNotFound, labels_path + ": no windows for " + name);
    EDGELOOP_ASSIGN_OR_RETURN(NabFile f, load_nab_csv((data / name).string(), name));
    if (!entry->is_array()) return make_error(Errc::kParse, labels_path + ": " + name + ": expected a list of windows");
    for (const auto& w : *entry) {
      if (!w.is_array() || w.size() != 2 || !w[0].is_string() || !w[1].is_string()) {
        return make_error(Errc::kParse, labels_path + ": " + name + ": a window is [start, end]");
      }
      auto a = parse_timestamp_ns(w[0].get<std::string>());
      auto b = parse_timestamp_ns(w[1].get<std::string>());
      if (!a.ok() || !b.ok()) return make_error(Errc::kParse, labels_path + ": " + name + ": bad window timestamp");
      auto rows = window_rows(f.ts_ns, *a, *b);
      if (!rows.ok()) return make_error(Errc::kParse, labels_path + ": " + name + ": a window holds no row");
      f.windows.push_back(*rows);
    }
    std::sort(f.windows.begin(), f.windows.end(), [](const RowWindow& x, const RowWindow& y) { return x.first < y.first; });
    corpus.files.push_back(std::move(f));
  }
  if (corpus.files.empty()) return make_error(Errc::kNotFound, data.string() + ": no CSV files" + (only.empty() ? "" : " matching '" + only + "'"));
  return corpus;
}

}  // namespace edgeloop::eval
