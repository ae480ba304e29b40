#include "eval/skab.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "eval/text_io.h"

namespace edgeloop::eval {

Result<SkabFile> load_skab_csv(const std::string& path, std::string name) {
  EDGELOOP_ASSIGN_OR_RETURN(std::string text, read_file(path));
  const auto ls = lines(text);
  if (ls.empty()) return make_error(Errc::kParse, path + ": empty file");
  std::vector<std::string_view> cols;
  split(ls[0], ';', cols);
  SkabFile f;
  f.name = std::move(name);
  int ts_col = -1, an_col = -1, cp_col = -1;
  std::vector<std::size_t> sensor_cols;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (cols[i] == "datetime") ts_col = static_cast<int>(i);
    else if (cols[i] == "anomaly") an_col = static_cast<int>(i);
    else if (cols[i] == "changepoint") cp_col = static_cast<int>(i);
    else {
      sensor_cols.push_back(i);
      f.columns.emplace_back(cols[i]);
    }
  }
  if (ts_col < 0 || an_col < 0) return make_error(Errc::kParse, path + ": the header has no 'datetime' and 'anomaly' columns");
  if (sensor_cols.empty()) return make_error(Errc::kParse, path + ": no sensor columns");
  for (std::size_t l = 1; l < ls.size(); ++l) {
    split(ls[l], ';', cols);
    if (cols.size() != f.columns.size() + 2 + (cp_col >= 0 ? 1 : 0)) {
      return make_error(Errc::kParse, path + ":" + std::to_string(l + 1) + ": expected " + std::to_string(f.columns.size() + 3) + " columns");
    }
    auto ts = parse_timestamp_ns(cols[static_cast<std::size_t>(ts_col)]);
    if (!ts.ok()) return make_error(Errc::kParse, path + ":" + std::to_string(l + 1) + ": " + ts.error().message);
    std::vector<double> row;
    row.reserve(sensor_cols.size());
    for (std::size_t c : sensor_cols) {
      auto v = to_number(cols[c]);
      if (!v.ok()) return make_error(Errc::kParse, path + ":" + std::to_string(l + 1) + ": " + v.error().message);
      row.push_back(*v);
    }
    auto an = to_number(cols[static_cast<std::size_t>(an_col)]);
    if (!an.ok()) return make_error(Errc::kParse, path + ":" + std::to_string(l + 1) + ": " + an.error().message);
    double cp = 0;
    if (cp_col >= 0) {
      auto c = to_number(cols[static_cast<std::size_t>(cp_col)]);
      if (!c.ok()) return make_error(Errc::kParse, path + ":" + std::to_string(l + 1) + ": " + c.error().message);
      cp = *c;
    }
    f.ts_ns.push_back(*ts);
    f.rows.push_back(std::move(row));
    f.anomaly.push_back(*an > 0.5 ? 1 : 0);
    f.changepoint.push_back(cp > 0.5 ? 1 : 0);
  }
  if (f.rows.empty()) return make_error(Errc::kParse, path + ": no rows");
  return f;
}

Result<std::vector<SkabFile>> load_skab_folder(const std::string& dir, const std::string& only) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error(Errc::kNotFound, dir + ": not a folder");
  std::vector<std::string> names;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".csv") continue;
    const std::string rel = fs::relative(it->path(), dir).generic_string();
    if (rel.rfind("anomaly-free/", 0) == 0 || rel.find("/anomaly-free/") != std::string::npos) continue;
    if (!only.empty() && rel.find(only) == std::string::npos) continue;
    names.push_back(rel);
  }
  if (ec) return make_error(Errc::kIo, dir + ": " + ec.message());
  // Natural order: valve1/2.csv before valve1/10.csv.
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    const auto da = a.find_last_of('/'), db = b.find_last_of('/');
    const std::string fa = a.substr(0, da == std::string::npos ? 0 : da), fb = b.substr(0, db == std::string::npos ? 0 : db);
    if (fa != fb) return fa < fb;
    if (a.size() != b.size()) return a.size() < b.size();
    return a < b;
  });
  std::vector<SkabFile> out;
  for (const auto& n : names) {
    auto f = load_skab_csv((fs::path(dir) / n).string(), n);
    if (!f.ok()) {
      if (f.error().message.find("no 'datetime' and 'anomaly'") != std::string::npos) continue;  // not a SKAB experiment
      return f.take_error();
    }
    out.push_back(std::move(*f));
  }
  if (out.empty()) return make_error(Errc::kNotFound, dir + ": no SKAB CSV files" + (only.empty() ? "" : " matching '" + only + "'"));
  return out;
}

SkabCounts skab_count(const std::vector<uint8_t>& predicted, const std::vector<uint8_t>& labels, std::size_t first_row) {
  SkabCounts c;
  for (std::size_t i = first_row; i < labels.size(); ++i) {
    const bool p = i < predicted.size() && predicted[i] != 0;
    const bool l = labels[i] != 0;
    if (p && l) ++c.tp;
    else if (p) ++c.fp;
    else if (l) ++c.fn;
    else ++c.tn;
  }
  return c;
}

SkabMetrics skab_metrics(const SkabCounts& c) {
  SkabMetrics m;
  const double tp = static_cast<double>(c.tp), fp = static_cast<double>(c.fp), fn = static_cast<double>(c.fn),
               tn = static_cast<double>(c.tn);
  m.f1 = tp + (fp + fn) / 2 > 0 ? tp / (tp + (fp + fn) / 2) : 0;
  m.f1_rounded = std::round(m.f1 * 100) / 100;
  m.far = fp + tn > 0 ? 100 * fp / (fp + tn) : 0;
  m.mar = fn + tp > 0 ? 100 * fn / (fn + tp) : 0;
  return m;
}

}  // namespace edgeloop::eval
