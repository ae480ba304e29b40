// classify_cwru: the cross-load evaluation through load_tensor_model (models/infer).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "eval/cwru_classify.h"
#include "eval/cwru_classify_features.h"
#include "eval/report_util.h"
#include "models/infer/tensor_model.h"

namespace edgeloop::eval {

namespace {

// The card's class of a recording: same defect and size (or a class that gives no size).
int class_of(const CwruModelCard& card, BearingDefect defect, double size_in) {
  for (std::size_t c = 0; c < card.classes.size(); ++c) {
    const auto& k = card.classes[c];
    if (k.defect == defect && (k.size_in == 0 || std::fabs(k.size_in - size_in) < 5e-4)) return static_cast<int>(c);
  }
  return -1;
}

struct Loaded {
  std::unique_ptr<models::TensorModel> model;
  std::size_t classes = 0;
};

Result<Loaded> load_checked(const CwruModelCard& card, const CwruModelFile& file) {
  models::LoadOptions lo;
  lo.format = models::ModelFormat::kXgboost;
  lo.features = static_cast<int64_t>(card.feature_names.size());
  auto m = models::load_tensor_model(file.path, lo);
  if (!m.ok()) return m.take_error();
  Loaded l;
  l.model = std::move(m).value();
  const auto& in = l.model->inputs();
  const auto& out = l.model->outputs();
  if (in.size() != 1 || in[0].shape.size() != 2 || (in[0].shape[1] != -1 &&
                                                    in[0].shape[1] != static_cast<int64_t>(card.feature_names.size())))
    return make_error(Errc::kInvalidArgument, file.path + ": expects another input than the card's " +
                                                  std::to_string(card.feature_names.size()) + " features");
  if (out.empty() || out[0].shape.size() != 2 || out[0].shape[1] != static_cast<int64_t>(card.classes.size()))
    return make_error(Errc::kInvalidArgument, file.path + ": its output is not one score per class of the card (" +
                                                  std::to_string(card.classes.size()) + ")");
  l.classes = card.classes.size();
  return l;
}

}  // namespace

Result<CwruClassification> classify_cwru(const CwruData& data, const std::string& model_path) {
  EDGELOOP_ASSIGN_OR_RETURN(CwruModelCard card, load_cwru_model_card(model_path));
  EDGELOOP_ASSIGN_OR_RETURN(auto fx, CwruFeatureExtractor::create(card.window, data.baseline.sample_rate_hz));
  if (fx->names() != card.feature_names) {
    std::string why = "the model card's features (" + std::to_string(card.feature_names.size()) +
                      ") are not this build's (" + std::to_string(fx->count()) + ")";
    for (std::size_t i = 0; i < std::min(fx->count(), card.feature_names.size()); ++i) {
      if (fx->names()[i] != card.feature_names[i]) {
        why += ": #" + std::to_string(i) + " is " + card.feature_names[i] + " there, " + fx->names()[i] + " here";
        break;
      }
    }
    return make_error(Errc::kInvalidArgument, cwru_card_path(model_path) + ": " + why + "; retrain the model");
  }
  std::map<std::string, Loaded> loaded;  // by path

  CwruClassification res;
  std::vector<std::string> defect_names;
  for (BearingDefect d : {BearingDefect::kNone, BearingDefect::kInnerRace, BearingDefect::kOuterRace, BearingDefect::kBall})
    defect_names.push_back(cwru_label(d));
  std::vector<std::string> class_names;
  for (const auto& c : card.classes) class_names.push_back(c.name);
  res.by_defect = ConfusionMatrix(defect_names);
  res.by_class = ConfusionMatrix(class_names);
  ConfusionMatrix& by_defect = res.by_defect;
  ConfusionMatrix& by_class = res.by_class;
  const auto defect_index = [](BearingDefect d) {
    switch (d) {
      case BearingDefect::kInnerRace:
        return 1;
      case BearingDefect::kOuterRace:
        return 2;
      case BearingDefect::kBall:
        return 3;
      case BearingDefect::kNone:
        break;
    }
    return 0;
  };
  const bool sizes = std::any_of(card.classes.begin(), card.classes.end(), [](const auto& c) { return c.size_in > 0; });

  std::vector<std::vector<float>> outputs;
  for (const CwruSegment& s : cwru_segments(data, card.hop)) {
    const CwruModelFile* file = model_for(card, s.id, s.load_hp);
    if (!file) continue;  // trained on by every model (the baseline's training part)
    auto it = loaded.find(file->path);
    if (it == loaded.end()) {
      EDGELOOP_ASSIGN_OR_RETURN(Loaded l, load_checked(card, *file));
      it = loaded.emplace(file->path, std::move(l)).first;
    }
    std::size_t windows = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const auto rows = cwru_window_features(*fx, *s.samples, s.from, s.to, card.hop, s.rpm, &windows);
    if (windows == 0) continue;
    EDGELOOP_TRY(it->second.model->run(rows, static_cast<int>(windows), outputs));
    if (outputs.empty() || outputs[0].size() != windows * card.classes.size())
      return make_error(Errc::kInternal, file->path + ": the model returned " +
                                             std::to_string(outputs.empty() ? 0 : outputs[0].size()) + " values for " +
                                             std::to_string(windows) + " windows of " +
                                             std::to_string(card.classes.size()) + " classes");
    res.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.windows += windows;
    const int p = vote(outputs[0], windows, card.classes.size());
    CwruRecordingResult r;
    r.id = s.id;
    r.load_hp = s.load_hp;
    r.defect = s.defect;
    r.size_in = s.size_in;
    r.windows = windows;
    r.model = std::filesystem::path(file->path).filename().string();
    r.fold = file->test_load;
    const int t = class_of(card, s.defect, s.size_in);
    r.truth = t >= 0 ? card.classes[static_cast<std::size_t>(t)].name : "(no class)";
    const auto& pc = card.classes[static_cast<std::size_t>(p)];
    r.predicted = pc.name;
    r.predicted_defect = pc.defect;
    r.predicted_size_in = pc.size_in;
    std::size_t agree = 0;
    for (std::size_t w = 0; w < windows; ++w) {
      const float* sc = outputs[0].data() + w * card.classes.size();
      agree += static_cast<std::size_t>(std::max_element(sc, sc + card.classes.size()) - sc) ==
                       static_cast<std::size_t>(p)
                   ? 1
                   : 0;
    }
    r.vote_share = static_cast<double>(agree) / static_cast<double>(windows);
    by_defect.add(static_cast<std::size_t>(defect_index(s.defect)), static_cast<std::size_t>(defect_index(pc.defect)));
    if (t >= 0) by_class.add(static_cast<std::size_t>(t), static_cast<std::size_t>(p));
    res.defects_right += pc.defect == s.defect ? 1 : 0;
    res.classes_right += t == p ? 1 : 0;
    res.sizes_right += pc.defect == s.defect && std::fabs(pc.size_in - s.size_in) < 5e-4 ? 1 : 0;
    res.recordings.push_back(std::move(r));
  }
  if (res.recordings.empty()) return make_error(Errc::kNotFound, "no recording held back from the model to classify");
  const double n = static_cast<double>(res.recordings.size());
  res.accuracy = static_cast<double>(res.defects_right) / n;
  res.size_accuracy = static_cast<double>(res.sizes_right) / n;

  std::string& t = res.text;
  char line[256];
  std::snprintf(line, sizeof line, "%-26s %4s %-8s %-8s %-8s %7s %6s  %s\n", "held-back recording", "load", "truth",
                "class", "defect", "windows", "vote", "model");
  t += line;
  for (const auto& r : res.recordings) {
    std::snprintf(line, sizeof line, "%-26s %4d %-8s %-8s %-8s %7zu %5.0f%%  %s%s\n", r.id.c_str(), r.load_hp,
                  r.truth.c_str(), r.predicted.c_str(), cwru_label(r.predicted_defect), r.windows, 100 * r.vote_share,
                  r.model.c_str(), r.predicted_defect == r.defect ? "" : "  WRONG");
    t += line;
  }
  // Per fold: the recordings each model classified.
  std::map<int, std::array<std::size_t, 3>> folds;  // test load -> recordings, defect right, class right
  for (const auto& r : res.recordings) {
    auto& f = folds[r.fold];
    ++f[0];
    f[1] += r.predicted_defect == r.defect ? 1 : 0;
    f[2] += r.predicted_defect == r.defect && std::fabs(r.predicted_size_in - r.size_in) < 5e-4 ? 1 : 0;
  }
  for (const auto& [load, f] : folds) {
    std::snprintf(line, sizeof line, "%s: %zu recordings, defect right %zu (%.1f%%)%s\n",
                  load < 0 ? "final model (recordings it never saw)"
                           : ("fold test load " + std::to_string(load) + " hp").c_str(),
                  f[0], f[1], 100.0 * static_cast<double>(f[1]) / static_cast<double>(f[0]),
                  sizes ? (", defect and size right " + std::to_string(f[2])).c_str() : "");
    t += line;
  }
  t += "confusion (defect, recordings):\n" + by_defect.to_text();
  if (sizes) t += "confusion (class, recordings):\n" + by_class.to_text();
  std::snprintf(line, sizeof line, "classification: %zu held-back recordings, defect right %zu (%.1f%%)",
                res.recordings.size(), res.defects_right, 100 * res.accuracy);
  t += line;
  if (sizes) {
    std::snprintf(line, sizeof line, ", defect and size right %zu (%.1f%%)", res.sizes_right, 100 * res.size_accuracy);
    t += line;
  }
  t += "\n";
  std::snprintf(line, sizeof line, "classifier: %zu windows (features and inference) in %.3f s: %.0f us each\n",
                res.windows, res.seconds, res.windows ? 1e6 * res.seconds / static_cast<double>(res.windows) : 0.0);
  t += line;
  return res;
}

}  // namespace edgeloop::eval
