// Bearing fault classification on the CWRU recordings (../shared/data/cwru): the feature
// export for training (tools/train/cwru_classifier.py), the model card (the sidecar JSON next
// to the model: feature names, classes, the fold protocol), the per-recording vote over its
// windows, the confusion matrix, and the cross-load evaluation `edgeloop eval cwru --model`.
//
// Protocol (the README's: no recording is split between training and test). Folds by motor
// load: fold L's model is trained on every fault recording at the other loads and tested on
// the recordings at load L. The healthy baseline is a single recording (0 hp): its first
// `normal_split` (60 %) trains every model, the rest is held back (a split by time, as the
// detection does). A recording is classified by the model that never saw it: the fold model
// of its load when the final model was trained on it, else the final model (e.g. the
// recordings that ../shared/data/cwru leaves out).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "eval/cwru.h"

namespace edgeloop::eval {

inline constexpr double kCwruNormalTrainFraction = 0.6;

// "normal", "inner", "outer", "ball" (the training labels).
const char* cwru_label(BearingDefect d);
Result<BearingDefect> parse_cwru_label(const std::string& label);

// One contiguous signal cut into feature windows: a fault recording, or a part of the baseline.
struct CwruSegment {
  std::string id;  // "IR007_1"; the baseline's parts "<stem>.part1" (training) and ".part2" (held back)
  BearingDefect defect = BearingDefect::kNone;
  double size_in = 0;  // 0.007, 0.014, 0.021; 0 for normal
  int load_hp = 0;
  double rpm = 0;
  const std::vector<double>* samples = nullptr;
  std::size_t from = 0, to = 0;
};
// The fault recordings, then the baseline's two parts (split at kCwruNormalTrainFraction,
// rounded down to a multiple of `hop`).
std::vector<CwruSegment> cwru_segments(const CwruData& data, std::size_t hop);

// Writes one CSV row per window: recording,label,size_in,load_hp,rpm,window,<features...>.
// `summary` gets one line (rows, recordings, features).
Status export_cwru_features(const CwruData& data, const std::string& csv_path, std::string* summary);

// The majority class of a recording's windows (argmax of each window's `classes` scores);
// ties go to the larger summed score. -1 when there is no window.
int vote(std::span<const float> scores, std::size_t windows, std::size_t classes);

struct ConfusionMatrix {
  std::vector<std::string> classes;
  std::vector<std::vector<std::size_t>> counts;  // [truth][predicted]

  ConfusionMatrix() = default;
  explicit ConfusionMatrix(std::vector<std::string> names);
  void add(std::size_t truth, std::size_t predicted);
  std::size_t total() const;
  std::size_t correct() const;
  double accuracy() const;  // correct / total; NaN when empty
  std::string to_text() const;  // rows truth, columns predicted
};

// The sidecar of a classifier (models/cwru_fault_xgb.json -> models/cwru_fault_xgb.sidecar.json).
struct CwruModelClass {
  std::string name;  // "IR014", "normal"
  BearingDefect defect = BearingDefect::kNone;
  double size_in = 0;  // 0 when the class says nothing of the size
};
struct CwruModelFile {
  std::string path;  // resolved against the card's folder
  int test_load = -1;  // fold models: the load held back; -1 for the final model
  std::vector<std::string> train_recordings;  // segment ids
};
struct CwruModelCard {
  std::vector<std::string> feature_names;
  std::vector<CwruModelClass> classes;
  std::size_t window = 0, hop = 0;
  double normal_split = kCwruNormalTrainFraction;
  CwruModelFile final_model;
  std::vector<CwruModelFile> folds;
  std::string protocol;  // in words, from the card
};
// The card's path for a model file: "<stem>.sidecar.json" next to it.
std::string cwru_card_path(const std::string& model_path);
Result<CwruModelCard> parse_cwru_model_card(const std::string& json_text, const std::string& dir);
Result<CwruModelCard> load_cwru_model_card(const std::string& model_path);

// Which of the card's models has not seen `segment_id` at `load_hp`: the final model when it
// did not train on it, else the fold model of that load; null when every model saw it.
const CwruModelFile* model_for(const CwruModelCard& card, const std::string& segment_id, int load_hp);

// The classification of every held-back segment of `data` (`edgeloop eval cwru --model`).
struct CwruRecordingResult {
  std::string id;
  int load_hp = 0;
  std::string truth, predicted;  // class names (truth: the card's class of the recording)
  BearingDefect defect = BearingDefect::kNone, predicted_defect = BearingDefect::kNone;
  double size_in = 0, predicted_size_in = 0;
  std::size_t windows = 0;
  double vote_share = 0;  // windows voting for the predicted class / windows
  std::string model;  // the file that classified it
  int fold = -1;      // its test load, -1 for the final model
};
struct CwruClassification {
  std::vector<CwruRecordingResult> recordings;
  std::size_t defects_right = 0, sizes_right = 0, classes_right = 0;
  double accuracy = 0;  // defect (normal/inner/outer/ball) right / recordings held back
  double size_accuracy = 0;  // defect and size right / recordings held back
  ConfusionMatrix by_defect;  // normal, inner, outer, ball
  ConfusionMatrix by_class;   // the model's classes
  std::size_t windows = 0;  // classified
  double seconds = 0;       // computing their features and running the models (not loading)
  std::string text;  // per recording, per fold, confusion matrices
};
Result<CwruClassification> classify_cwru(const CwruData& data, const std::string& model_path);

}  // namespace edgeloop::eval
