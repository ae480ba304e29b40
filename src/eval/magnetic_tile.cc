#include "eval/magnetic_tile.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "connectors/images/image_preprocess.h"
#include "core/clock.h"
#include "eval/report_util.h"
#include "models/infer/tensor_model.h"

namespace edgeloop::eval {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kDefaultClasses = {"MT_Free", "MT_Blowhole", "MT_Break", "MT_Crack", "MT_Fray", "MT_Uneven"};

struct Item {
  std::string rel;  // relative to the data folder
  int label = 0;
};

// Every image of every class folder (DIR/<class>/Imgs/*.jpg, or DIR/<class>/*.jpg), by name.
Result<std::vector<Item>> all_images(const std::string& dir, const std::vector<std::string>& classes) {
  std::vector<Item> items;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    fs::path folder = fs::path(dir) / classes[c] / "Imgs";
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) folder = fs::path(dir) / classes[c];
    if (!fs::is_directory(folder, ec)) return make_error(Errc::kNotFound, "no folder " + folder.string());
    std::vector<std::string> names;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      std::string ext = it->path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (ext == ".jpg" || ext == ".jpeg") names.push_back(fs::relative(it->path(), dir).string());
    }
    std::sort(names.begin(), names.end());
    for (auto& n : names) items.push_back(Item{std::move(n), static_cast<int>(c)});
  }
  return items;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - (q > 0 ? 1 : 0);
  return v[std::min(i, v.size() - 1)];
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

}  // namespace

Result<TileSidecar> read_tile_sidecar(const std::string& path) {
  TileSidecar s;
  s.classes = kDefaultClasses;
  std::ifstream in(path);
  if (!in) return s;  // no sidecar: the defaults, every image
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    if (auto it = j.find("classes"); it != j.end()) s.classes = it->get<std::vector<std::string>>();
    if (s.classes.empty()) return make_error(Errc::kParse, "sidecar " + path + ": 'classes' is empty");
    if (auto it = j.find("pass_class"); it != j.end()) {
      const auto name = it->get<std::string>();
      const auto at = std::find(s.classes.begin(), s.classes.end(), name);
      if (at == s.classes.end()) return make_error(Errc::kParse, "sidecar " + path + ": pass_class '" + name + "' is not a class");
      s.pass_class = static_cast<int>(at - s.classes.begin());
    }
    if (auto it = j.find("threshold"); it != j.end() && it->is_number()) s.threshold = it->get<double>();
    if (auto it = j.find("test_p_free_first10"); it != j.end()) s.reference_p_pass = it->get<std::vector<double>>();
    for (const char* key : {"test_files", "test_split", "test"}) {
      if (auto it = j.find(key); it != j.end() && it->is_array()) {
        s.test_files = it->get<std::vector<std::string>>();
        break;
      }
    }
  } catch (const std::exception& e) {
    return make_error(Errc::kParse, "sidecar " + path + ": " + e.what());
  }
  return s;
}

Result<EvalResult> run_magnetic_tile_eval(const EvalOptions& o, const Registry& registry) {
  (void)registry;
  if (o.model_path.empty()) return make_error(Errc::kInvalidArgument, "magnetic_tile needs --model (an ONNX classifier)");
  const std::string sidecar_path = fs::path(o.model_path).replace_extension(".json").string();
  EDGELOOP_ASSIGN_OR_RETURN(TileSidecar side, read_tile_sidecar(sidecar_path));
  ImagePreprocessConfig pc;
  if (fs::exists(sidecar_path)) {
    EDGELOOP_ASSIGN_OR_RETURN(pc, preprocess_from_sidecar(sidecar_path, pc));
  }
  models::LoadOptions load;
  load.threads = o.threads;
  EDGELOOP_ASSIGN_OR_RETURN(std::unique_ptr<models::TensorModel> model, models::load_tensor_model(o.model_path, load));
  if (model->inputs().empty() || model->outputs().empty()) {
    return make_error(Errc::kInvalidArgument, o.model_path + ": the model has no input or no output");
  }
  // The input size from the model when the sidecar did not give it.
  const auto& in_shape = model->inputs()[0].shape;
  if (pc.width == 0 && in_shape.size() == 4 && in_shape[2] > 0 && in_shape[3] > 0) {
    pc.channels = static_cast<int>(in_shape[1]);
    pc.height = static_cast<int>(in_shape[2]);
    pc.width = static_cast<int>(in_shape[3]);
  }
  EDGELOOP_TRY(validate_preprocess(pc));
  ImagePreprocessor pre(pc);
  const int nclass = static_cast<int>(side.classes.size());

  std::vector<Item> items;
  for (const auto& rel : side.test_files) {
    const std::string cls = fs::path(rel).begin()->string();  // the first folder is the class
    const auto at = std::find(side.classes.begin(), side.classes.end(), cls);
    if (at == side.classes.end()) return make_error(Errc::kParse, "test file " + rel + " is in no class folder");
    items.push_back(Item{rel, static_cast<int>(at - side.classes.begin())});
  }
  // The sidecar's test split when DIR is the folder the model was trained from. A folder holding
  // none of its files is another part of the dataset (a held-out part), never seen by training:
  // every image in it is scored. One holding some but not all is an error, not a silent switch
  // to every image (that would score the training images).
  std::size_t present = 0;
  const Item* missing = nullptr;
  for (const Item& it : items) {
    std::error_code ec;
    if (fs::exists(fs::path(o.data_dir) / it.rel, ec)) ++present;
    else if (missing == nullptr) missing = &it;
  }
  if (present > 0 && missing != nullptr) {
    return make_error(Errc::kNotFound, (fs::path(o.data_dir) / missing->rel).string() +
                                           ": a file of the sidecar's test split is missing (" + std::to_string(present) +
                                           " of " + std::to_string(items.size()) + " are here)");
  }
  const bool use_split = present > 0;
  if (!use_split) {
    EDGELOOP_ASSIGN_OR_RETURN(items, all_images(o.data_dir, side.classes));
  }
  if (!o.only.empty()) {
    std::erase_if(items, [&](const Item& it) { return it.rel.find(o.only) == std::string::npos; });
  }
  if (items.empty()) return make_error(Errc::kNotFound, "no images to evaluate in " + o.data_dir);

  SampleBlock block;
  std::vector<std::vector<float>> outputs;
  std::vector<double> latency_ms;
  std::vector<std::vector<int>> confusion(static_cast<std::size_t>(nclass), std::vector<int>(static_cast<std::size_t>(nclass)));
  DefectCounts counts;
  int right6 = 0;
  nlohmann::json per_image = nlohmann::json::array();
  // Against the training script's own P(pass) of the first test images (same files, in order).
  const bool check_reference = use_split && o.only.empty() && !side.reference_p_pass.empty();
  double reference_diff = 0;
  std::size_t index = 0;
  const int64_t start = mono_now_ns();
  for (const Item& it : items) {
    const int64_t t0 = mono_now_ns();
    const std::string path = (fs::path(o.data_dir) / it.rel).string();
    if (Status s = pre.run_file(path, block); !s.ok()) return make_error(s.error().code, path + ": " + s.error().message);
    if (Status s = model->run(block.samples, 1, outputs); !s.ok()) return make_error(s.error().code, path + ": " + s.error().message);
    const int64_t t1 = mono_now_ns();
    latency_ms.push_back(static_cast<double>(t1 - t0) / static_cast<double>(kNsPerMs));
    const std::vector<float>& p = outputs[0];
    if (static_cast<int>(p.size()) < nclass) {
      return make_error(Errc::kInvalidArgument, "the model gives " + std::to_string(p.size()) + " outputs for " +
                                                    std::to_string(nclass) + " classes");
    }
    const int argmax = static_cast<int>(std::max_element(p.begin(), p.begin() + nclass) - p.begin());
    const double p_pass = p[static_cast<std::size_t>(side.pass_class)];
    if (check_reference && index < side.reference_p_pass.size()) {
      reference_diff = std::max(reference_diff, std::abs(p_pass - side.reference_p_pass[index]));
    }
    ++index;
    const bool fail = side.threshold >= 0 ? p_pass < side.threshold : argmax != side.pass_class;
    const bool defect = it.label != side.pass_class;
    if (fail && defect) ++counts.tp;
    else if (fail) ++counts.fp;
    else if (defect) ++counts.fn;
    else ++counts.tn;
    right6 += argmax == it.label;
    ++confusion[static_cast<std::size_t>(it.label)][static_cast<std::size_t>(argmax)];
    if (!o.report_path.empty()) {
      per_image.push_back({{"file", it.rel}, {"label", side.classes[static_cast<std::size_t>(it.label)]},
                           {"p_pass", p_pass}, {"class", side.classes[static_cast<std::size_t>(argmax)]},
                           {"fail", fail}, {"latency_ms", latency_ms.back()}});
    }
  }
  const double secs = static_cast<double>(mono_now_ns() - start) / 1e9;
  const int n = static_cast<int>(items.size());
  const double per_s = n / secs;
  const double p50 = quantile(latency_ms, 0.5);
  const double p99 = quantile(latency_ms, 0.99);

  EvalResult res;
  res.text += "magnetic_tile: " + std::to_string(n) + " images (" +
              (use_split ? std::string("the sidecar's test split")
                         : side.test_files.empty() ? std::string("all")
                                                   : std::string("all: the sidecar's test split is not in this folder")) + "), model " +
              o.model_path + " on " + model->backend() + ", input " + std::to_string(pc.channels) + "x" +
              std::to_string(pc.height) + "x" + std::to_string(pc.width) + "\n";
  res.text += "decision: defect when " +
              (side.threshold >= 0 ? "P(" + side.classes[static_cast<std::size_t>(side.pass_class)] + ") < " + fixed(side.threshold, 6)
                                   : std::string("the top class is not ") + side.classes[static_cast<std::size_t>(side.pass_class)]) +
              "\n";
  if (check_reference) {
    res.text += "P(" + side.classes[static_cast<std::size_t>(side.pass_class)] + ") of the first " +
                std::to_string(std::min(side.reference_p_pass.size(), items.size())) +
                " test images: at most " + fixed(reference_diff, 6) + " from the training script's (sidecar)\n";
  }
  res.text += "defect: tp " + std::to_string(counts.tp) + " fp " + std::to_string(counts.fp) + " fn " +
              std::to_string(counts.fn) + " tn " + std::to_string(counts.tn) + "; recall " + fixed(counts.recall(), 4) +
              " precision " + fixed(counts.precision(), 4) + " pass/fail accuracy " + fixed(counts.accuracy(), 4) + "\n";
  res.text += "6-class accuracy " + fixed(static_cast<double>(right6) / n, 4) + "; confusion (rows: true, columns: predicted)\n";
  for (int r = 0; r < nclass; ++r) {
    char line[64];
    std::snprintf(line, sizeof(line), "  %-12s", side.classes[static_cast<std::size_t>(r)].c_str());
    res.text += line;
    for (int c = 0; c < nclass; ++c) {
      std::snprintf(line, sizeof(line), " %4d", confusion[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)]);
      res.text += line;
    }
    res.text += "\n";
  }
  const std::string threads = o.threads == 1 ? "one thread" : "inference on " + std::to_string(o.threads) + " threads";
  res.text += "end to end per image (read + decode + preprocess + infer, " + threads + "): p50 " + fixed(p50, 3) + " ms, p99 " +
              fixed(p99, 3) + " ms, max " + fixed(*std::max_element(latency_ms.begin(), latency_ms.end()), 3) + " ms; " +
              fixed(per_s, 1) + " images/s\n";
  nlohmann::ordered_json summary = {{"dataset", "magnetic_tile"},
                                    {"images", n},
                                    {"accuracy", std::round(counts.accuracy() * 1e4) / 1e4},
                                    {"defect_recall", std::round(counts.recall() * 1e4) / 1e4},
                                    {"defect_precision", std::round(counts.precision() * 1e4) / 1e4},
                                    {"images_per_s", std::round(per_s * 10) / 10}};
  res.summary_json = summary.dump();
  if (!o.report_path.empty()) {
    nlohmann::json report = {{"summary", nlohmann::json::parse(res.summary_json)},
                             {"model", o.model_path},
                             {"backend", model->backend()},
                             {"threads", o.threads},
                             {"classes", side.classes},
                             {"threshold", side.threshold},
                             {"confusion", confusion},
                             {"accuracy6", static_cast<double>(right6) / n},
                             {"defect", {{"tp", counts.tp}, {"fp", counts.fp}, {"fn", counts.fn}, {"tn", counts.tn}}},
                             {"latency_ms", {{"p50", p50}, {"p99", p99}}},
                             {"reference_p_pass_max_diff", check_reference ? nlohmann::json(reference_diff) : nlohmann::json()},
                             {"images", per_image}};
    EDGELOOP_TRY(write_report(o.report_path, report));
    res.text += "report: " + o.report_path + "\n";
  }
  return res;
}

}  // namespace edgeloop::eval
