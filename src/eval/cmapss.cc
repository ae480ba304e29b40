#include "eval/cmapss.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "eval/cmapss_regimes.h"
#include "eval/report_util.h"
#include "eval/text_io.h"
#include "models/infer/tensor_model.h"

namespace edgeloop::eval {

namespace {

constexpr std::size_t kBatch = 64;  // engines per run() call

Result<std::vector<double>> numbers_of(std::string_view line, const std::string& where) {
  std::vector<std::string_view> fields;
  split(line, ' ', fields);
  std::vector<double> out;
  for (std::string_view f : fields) {
    if (f.empty() || f == "\r") continue;  // the files end each line with two spaces
    auto v = to_number(f);
    if (!v.ok()) return make_error(Errc::kParse, where + ": " + v.error().message);
    if (!std::isfinite(*v)) return make_error(Errc::kParse, where + ": not a finite number: " + std::string(f));
    out.push_back(*v);
  }
  return out;
}

}  // namespace

Result<std::vector<CmapssEngine>> parse_cmapss(std::string_view text, const std::string& name) {
  std::vector<CmapssEngine> engines;
  std::size_t line_no = 0;
  double last_cycle = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = name + ":" + std::to_string(line_no);
    EDGELOOP_ASSIGN_OR_RETURN(std::vector<double> row, numbers_of(line, where));
    if (row.size() != kCmapssColumns) {
      return make_error(Errc::kParse, where + ": expected " + std::to_string(kCmapssColumns) + " numbers, got " +
                                          std::to_string(row.size()));
    }
    const double unit = row[0];
    if (unit < 1 || unit != std::floor(unit) || unit > 1e6)
      return make_error(Errc::kParse, where + ": the unit number is not a positive integer");
    if (engines.empty() || engines.back().unit != static_cast<int>(unit)) {
      for (const CmapssEngine& e : engines) {
        if (e.unit == static_cast<int>(unit))
          return make_error(Errc::kParse,
                            where + ": the rows of unit " + std::to_string(e.unit) + " are not contiguous");
      }
      engines.push_back(CmapssEngine{static_cast<int>(unit), {}});
    } else if (row[1] <= last_cycle) {
      return make_error(Errc::kParse,
                        where + ": the cycles of unit " + std::to_string(engines.back().unit) + " do not increase");
    }
    last_cycle = row[1];
    engines.back().values.insert(engines.back().values.end(), row.begin(), row.end());
  }
  if (engines.empty()) return make_error(Errc::kParse, name + ": no rows");
  return engines;
}

Result<std::vector<double>> parse_cmapss_rul(std::string_view text, const std::string& name) {
  std::vector<double> out;
  std::size_t line_no = 0;
  for (std::string_view line : lines(text)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = name + ":" + std::to_string(line_no);
    EDGELOOP_ASSIGN_OR_RETURN(std::vector<double> row, numbers_of(line, where));
    if (row.size() != 1) return make_error(Errc::kParse, where + ": expected one number (the true RUL)");
    if (row[0] < 0) return make_error(Errc::kParse, where + ": a negative RUL");
    out.push_back(row[0]);
  }
  if (out.empty()) return make_error(Errc::kParse, name + ": no values");
  return out;
}

double rul_rmse(std::span<const double> predicted, std::span<const double> truth) {
  const std::size_t n = std::min(predicted.size(), truth.size());
  if (n == 0) return 0;
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += (predicted[i] - truth[i]) * (predicted[i] - truth[i]);
  return std::sqrt(s / static_cast<double>(n));
}

double phm08_score(std::span<const double> predicted, std::span<const double> truth) {
  const std::size_t n = std::min(predicted.size(), truth.size());
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = predicted[i] - truth[i];
    s += d < 0 ? std::exp(-d / 13.0) - 1.0 : std::exp(d / 10.0) - 1.0;
  }
  return s;
}

Result<CmapssFeature> parse_cmapss_feature(std::string_view token, int window) {
  using Stat = CmapssFeature::Stat;
  const std::size_t at = token.find('@');
  const std::string_view stat = token.substr(0, at);
  const std::string_view arg = at == std::string_view::npos ? std::string_view() : token.substr(at + 1);
  const std::string quoted = "feature '" + std::string(token) + "'";
  static constexpr std::pair<std::string_view, Stat> kWindowed[] = {{"last", Stat::kLast},   {"mean", Stat::kMean},
                                                                    {"slope", Stat::kSlope}, {"std", Stat::kStd},
                                                                    {"min", Stat::kMin},     {"max", Stat::kMax}};
  CmapssFeature out;
  if (stat == "cycle") {
    if (at != std::string_view::npos) return make_error(Errc::kParse, quoted + ": 'cycle' takes no argument");
    out.stat = Stat::kCycle;
    return out;
  }
  if (stat == "ewm") {
    auto alpha = to_number(arg);
    if (arg.empty() || !alpha.ok() || !(*alpha > 0 && *alpha <= 1))
      return make_error(Errc::kParse, quoted + ": 'ewm@ALPHA' needs 0 < ALPHA <= 1");
    out.stat = Stat::kEwm;
    out.alpha = *alpha;
    return out;
  }
  for (const auto& [name, s] : kWindowed) {
    if (stat != name) continue;
    out.stat = s;
    if (at == std::string_view::npos) return out;
    auto n = to_number(arg);
    if (arg.empty() || !n.ok() || *n != std::floor(*n) || *n < 2 || *n > window || s == Stat::kLast)
      return make_error(Errc::kParse, quoted + ": the '@N' window must be an integer in [2, " + std::to_string(window) +
                                          "] (the sidecar window; not for 'last')");
    out.window = static_cast<int>(*n);
    return out;
  }
  return make_error(Errc::kParse, quoted +
                                      " is not one of last, mean, slope, std, min, max (each optionally @N), "
                                      "ewm@ALPHA, cycle");
}

Result<CmapssModelSpec> parse_cmapss_sidecar(std::string_view json, const std::string& name) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error(Errc::kParse, name + ": not a JSON object");
  CmapssModelSpec spec;
  auto kind = j.find("kind");
  if (kind == j.end() || !kind->is_string())
    return make_error(Errc::kParse, name + ": 'kind' must be \"sequence\" or \"window_features\"");
  if (*kind == "sequence") {
    spec.kind = CmapssModelSpec::Kind::kSequence;
  } else if (*kind == "window_features") {
    spec.kind = CmapssModelSpec::Kind::kWindowFeatures;
  } else {
    return make_error(Errc::kParse, name + ": 'kind' must be \"sequence\" or \"window_features\", not " + kind->dump());
  }
  auto window = j.find("window");
  if (window == j.end() || !window->is_number_integer() || window->get<int>() < 2 || window->get<int>() > 10000)
    return make_error(Errc::kParse, name + ": 'window' must be an integer in [2, 10000]");
  spec.window = window->get<int>();
  EDGELOOP_ASSIGN_OR_RETURN(spec.columns, json_int_array(j, "columns", name));
  for (int c : spec.columns) {
    // Column 1, the cycle number, is the engine's age: a channel of the age-aware sequence model.
    if (c < 1 || c >= kCmapssColumns)
      return make_error(Errc::kParse,
                        name + ": column " + std::to_string(c) + " is not the cycle, a setting or a sensor (1..25)");
  }
  if (spec.kind == CmapssModelSpec::Kind::kWindowFeatures) {
    auto features = j.find("features");
    if (features == j.end()) return spec;  // the first sidecars' layout
    if (!features->is_array() || features->empty())
      return make_error(Errc::kParse, name + ": 'features' must be a non-empty array of strings");
    spec.features.clear();
    for (const auto& f : *features) {
      if (!f.is_string()) return make_error(Errc::kParse, name + ": 'features' must hold strings");
      auto feature = parse_cmapss_feature(f.get<std::string>(), spec.window);
      if (!feature.ok()) return make_error(Errc::kParse, name + ": " + feature.error().message);
      spec.features.push_back(*feature);
    }
    return spec;
  }
  auto in_graph = j.find("scaling_in_graph");
  spec.scale_in_graph = in_graph == j.end() || (in_graph->is_boolean() && in_graph->get<bool>());
  if (!spec.scale_in_graph) {
    EDGELOOP_ASSIGN_OR_RETURN(spec.scale_min, json_number_array(j, "scale_min", name));
    EDGELOOP_ASSIGN_OR_RETURN(spec.scale_max, json_number_array(j, "scale_max", name));
    if (spec.scale_min.size() != spec.columns.size() || spec.scale_max.size() != spec.columns.size())
      return make_error(Errc::kParse, name + ": 'scale_min' and 'scale_max' need one value per column");
  }
  return spec;
}

std::string cmapss_sidecar_path(const std::string& model_path) {
  namespace fs = std::filesystem;
  fs::path p(model_path);
  fs::path sidecar = p;
  sidecar.replace_extension(".sidecar.json");
  std::error_code ec;
  if (fs::exists(sidecar, ec)) return sidecar.string();
  fs::path plain = p;
  plain.replace_extension(".json");
  if (plain != p) return plain.string();
  return sidecar.string();
}

std::size_t cmapss_input_size(const CmapssModelSpec& spec) {
  const std::size_t f = spec.columns.size();
  if (spec.kind == CmapssModelSpec::Kind::kSequence) return static_cast<std::size_t>(spec.window) * f;
  std::size_t n = 0;
  for (const CmapssFeature& feature : spec.features) n += feature.stat == CmapssFeature::Stat::kCycle ? 1 : f;
  return n;
}

std::vector<float> cmapss_model_input(const CmapssEngine& engine, std::size_t end_row, const CmapssModelSpec& spec) {
  const std::size_t f = spec.columns.size();
  const std::size_t w = static_cast<std::size_t>(spec.window);
  end_row = std::min(end_row, engine.rows());
  // Value of column c at window step t; steps before the first row repeat the first row.
  // Rounded through float as the training script reads the files (float32): features then
  // match its values bit for bit up to summation order.
  auto value = [&](std::size_t t, std::size_t c) {
    const std::size_t row = end_row >= w - t ? end_row - (w - t) : 0;
    return static_cast<double>(static_cast<float>(engine.at(row, spec.columns[c])));
  };
  std::vector<float> out(cmapss_input_size(spec));
  if (spec.kind == CmapssModelSpec::Kind::kSequence) {
    for (std::size_t t = 0; t < w; ++t) {
      for (std::size_t c = 0; c < f; ++c) {
        double x = value(t, c);
        if (!spec.scale_in_graph) {
          const double span = std::max(spec.scale_max[c] - spec.scale_min[c], 1e-6);
          x = (x - spec.scale_min[c]) / span;
        }
        out[t * f + c] = static_cast<float>(x);
      }
    }
    return out;
  }
  using Stat = CmapssFeature::Stat;
  std::size_t k = 0;
  for (const CmapssFeature& feature : spec.features) {
    if (feature.stat == Stat::kCycle) {
      out[k++] = end_row == 0 ? 0.0f : static_cast<float>(engine.at(end_row - 1, 1));
      continue;
    }
    // The block's steps: the last n of the model window.
    const std::size_t n = feature.window > 0 ? static_cast<std::size_t>(feature.window) : w;
    const std::size_t first = w - n;
    const double t_mean = static_cast<double>(n - 1) / 2.0;
    for (std::size_t c = 0; c < f; ++c) {
      double v = 0;
      if (feature.stat == Stat::kLast) {
        v = value(w - 1, c);
      } else if (feature.stat == Stat::kEwm) {
        // Over the whole history: the first row is the start value (as if padded forever).
        const auto at = [&](std::size_t r) {
          return static_cast<double>(static_cast<float>(engine.at(r, spec.columns[c])));
        };
        v = end_row > 0 ? at(0) : 0;
        for (std::size_t r = 1; r < end_row; ++r) v = feature.alpha * at(r) + (1.0 - feature.alpha) * v;
      } else if (feature.stat == Stat::kMin || feature.stat == Stat::kMax) {
        v = value(first, c);
        for (std::size_t t = first + 1; t < w; ++t)
          v = feature.stat == Stat::kMin ? std::min(v, value(t, c)) : std::max(v, value(t, c));
      } else {
        double sum = 0;
        for (std::size_t t = first; t < w; ++t) sum += value(t, c);
        const double mean = sum / static_cast<double>(n);
        double acc = 0, t_ss = 0;
        for (std::size_t t = first; t < w; ++t) {
          const double dt = static_cast<double>(t - first) - t_mean;
          const double dv = value(t, c) - mean;
          if (feature.stat == Stat::kSlope) {
            acc += dt * dv;
            t_ss += dt * dt;
          } else {
            acc += dv * dv;
          }
        }
        if (feature.stat == Stat::kMean)
          v = mean;
        else if (feature.stat == Stat::kSlope)
          v = acc / t_ss;
        else
          v = std::sqrt(acc / static_cast<double>(n));
      }
      out[k++] = static_cast<float>(v);
    }
  }
  return out;
}

Result<CmapssScore> evaluate_cmapss(const std::string& model_path, const std::string& sidecar_path,
                                    const std::string& test_path, const std::string& rul_path,
                                    std::size_t max_engines) {
  const std::string sidecar_file = sidecar_path.empty() ? cmapss_sidecar_path(model_path) : sidecar_path;
  EDGELOOP_ASSIGN_OR_RETURN(std::string sidecar_text, read_file(sidecar_file));
  EDGELOOP_ASSIGN_OR_RETURN(CmapssModelSpec spec, parse_cmapss_sidecar(sidecar_text, sidecar_file));
  EDGELOOP_ASSIGN_OR_RETURN(std::string test_text, read_file(test_path));
  EDGELOOP_ASSIGN_OR_RETURN(std::vector<CmapssEngine> engines, parse_cmapss(test_text, test_path));
  EDGELOOP_ASSIGN_OR_RETURN(std::string rul_text, read_file(rul_path));
  EDGELOOP_ASSIGN_OR_RETURN(std::vector<double> truth, parse_cmapss_rul(rul_text, rul_path));
  if (truth.size() != engines.size()) {
    return make_error(Errc::kInvalidArgument, rul_path + " has " + std::to_string(truth.size()) + " values but " +
                                                  test_path + " has " + std::to_string(engines.size()) + " engines");
  }
  if (max_engines > 0 && max_engines < engines.size()) {
    engines.resize(max_engines);
    truth.resize(max_engines);
  }
  // Other subsets (FD002/FD004 fly six conditions) are brought to the training regime's scale.
  EDGELOOP_ASSIGN_OR_RETURN(std::optional<CmapssHealthyBaseline> baseline,
                            parse_cmapss_healthy_baseline(sidecar_text, sidecar_file));
  CmapssScore score;
  if (baseline) score.regimes = map_cmapss_regimes(engines, *baseline).text;

  models::LoadOptions load;
  const std::size_t per_sample = cmapss_input_size(spec);
  if (spec.kind == CmapssModelSpec::Kind::kWindowFeatures) load.features = static_cast<int64_t>(per_sample);
  EDGELOOP_ASSIGN_OR_RETURN(std::unique_ptr<models::TensorModel> model, models::load_tensor_model(model_path, load));
  if (model->inputs().size() != 1 || model->outputs().empty())
    return make_error(Errc::kInvalidArgument, model_path + ": expected one input and at least one output");
  int64_t model_size = 1;
  const auto& shape = model->inputs()[0].shape;
  for (std::size_t i = 1; i < shape.size(); ++i) model_size *= shape[i];
  if (shape.size() < 2 || model_size != static_cast<int64_t>(per_sample)) {
    std::string dims;
    for (int64_t d : shape) dims += (dims.empty() ? "" : ",") + std::to_string(d);
    return make_error(Errc::kInvalidArgument, model_path + ": the input shape [" + dims + "] does not take " +
                                                  std::to_string(per_sample) + " values per sample (sidecar " +
                                                  sidecar_file + ")");
  }

  score.backend = model->backend();
  std::vector<float> batch_input;
  std::vector<std::vector<float>> outputs;
  for (std::size_t first = 0; first < engines.size(); first += kBatch) {
    const std::size_t n = std::min(kBatch, engines.size() - first);
    batch_input.clear();
    for (std::size_t i = first; i < first + n; ++i) {
      const std::vector<float> x = cmapss_model_input(engines[i], engines[i].rows(), spec);
      batch_input.insert(batch_input.end(), x.begin(), x.end());
    }
    EDGELOOP_TRY(model->run(batch_input, static_cast<int>(n), outputs));
    if (outputs.empty() || outputs[0].size() < n)
      return make_error(Errc::kInternal, model_path + ": the model gave fewer outputs than samples");
    const std::size_t stride = outputs[0].size() / n;
    for (std::size_t i = 0; i < n; ++i) {
      score.units.push_back(engines[first + i].unit);
      score.predicted.push_back(static_cast<double>(outputs[0][i * stride]));
    }
  }
  score.truth = truth;
  score.rmse = rul_rmse(score.predicted, score.truth);
  score.phm08 = phm08_score(score.predicted, score.truth);
  return score;
}

}  // namespace edgeloop::eval
