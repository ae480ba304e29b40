// `edgeloop eval cmapss --model FILE --test FILE --rul FILE [--sidecar FILE] [--report FILE]`:
// a trained RUL model (cmapss.h) on a C-MAPSS test subset, scored at each engine's last row.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "eval/cmapss.h"
#include "eval/evaluation.h"
#include "eval/report_util.h"

namespace edgeloop::eval {

Result<EvalResult> run_cmapss_eval(const EvalOptions& options, const Registry& /*registry*/) {
  if (options.model_path.empty() || options.test_path.empty() || options.rul_path.empty())
    return make_error(Errc::kInvalidArgument, "eval cmapss needs --model, --test and --rul");
  const std::string sidecar =
      options.sidecar_path.empty() ? cmapss_sidecar_path(options.model_path) : options.sidecar_path;
  const auto start = std::chrono::steady_clock::now();
  EDGELOOP_ASSIGN_OR_RETURN(CmapssScore score,
                            evaluate_cmapss(options.model_path, sidecar, options.test_path, options.rul_path));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  EvalResult result;
  const std::string test_name = std::filesystem::path(options.test_path).filename().string();
  result.text = "cmapss: " + test_name + ", " + std::to_string(score.units.size()) + " engines, model " +
                std::filesystem::path(options.model_path).filename().string() + " (sidecar " +
                std::filesystem::path(sidecar).filename().string() + ", backend " + score.backend +
                "), scored at each engine's last row in " + format_number("%.3f", seconds) + " s\n";
  if (!score.regimes.empty()) result.text += "regimes: " + score.regimes + "\n";
  // Written by hand: the contract fixes the key order.
  char line[160];
  std::snprintf(line, sizeof line, R"({"dataset":"cmapss","engines":%zu,"rmse":%.4f,"phm08":%.2f})", score.units.size(),
                score.rmse, score.phm08);
  result.summary_json = line;
  if (!options.report_path.empty()) {
    nlohmann::json engines = nlohmann::json::array();
    for (std::size_t i = 0; i < score.units.size(); ++i) {
      engines.push_back({{"unit", score.units[i]},
                         {"true_rul", score.truth[i]},
                         {"predicted_rul", score.predicted[i]},
                         {"error", score.predicted[i] - score.truth[i]}});
    }
    nlohmann::json report = {
        {"dataset", "cmapss"}, {"engines", score.units.size()}, {"rmse", score.rmse}, {"phm08", score.phm08}};
    report["model"] = options.model_path;
    report["sidecar"] = sidecar;
    report["test"] = options.test_path;
    report["rul"] = options.rul_path;
    report["seconds"] = seconds;
    report["backend"] = score.backend;
    report["regimes"] = score.regimes;
    report["per_engine"] = std::move(engines);
    EDGELOOP_TRY(write_report(options.report_path, report));
    result.text += "report: " + options.report_path + "\n";
  }
  return result;
}

}  // namespace edgeloop::eval
