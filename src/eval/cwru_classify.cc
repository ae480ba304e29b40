#include "eval/cwru_classify.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "eval/cwru_classify_features.h"
#include "eval/report_util.h"
#include "eval/text_io.h"

namespace edgeloop::eval {

const char* cwru_label(BearingDefect d) {
  switch (d) {
    case BearingDefect::kOuterRace:
      return "outer";
    case BearingDefect::kInnerRace:
      return "inner";
    case BearingDefect::kBall:
      return "ball";
    case BearingDefect::kNone:
      break;
  }
  return "normal";
}

Result<BearingDefect> parse_cwru_label(const std::string& label) {
  for (BearingDefect d : {BearingDefect::kNone, BearingDefect::kInnerRace, BearingDefect::kOuterRace, BearingDefect::kBall})
    if (label == cwru_label(d)) return d;
  return make_error(Errc::kInvalidArgument, "'" + label + "' is not a CWRU label (normal, inner, outer, ball)");
}

std::vector<CwruSegment> cwru_segments(const CwruData& data, std::size_t hop) {
  std::vector<CwruSegment> out;
  for (const auto& r : data.recordings) {
    CwruSegment s;
    s.id = r.name;
    s.defect = r.defect;
    s.size_in = r.size_mils / 1000.0;
    s.load_hp = r.load_hp;
    s.rpm = r.rpm;
    s.samples = &r.samples;
    s.to = r.samples.size();
    out.push_back(std::move(s));
  }
  const CwruBaseline& b = data.baseline;
  const std::string stem = std::filesystem::path(b.name).stem().string();
  if (hop == 0) hop = 1;
  const auto split =
      static_cast<std::size_t>(static_cast<double>(b.samples.size()) * kCwruNormalTrainFraction) / hop * hop;
  for (int part = 1; part <= 2; ++part) {
    CwruSegment s;
    s.id = stem + ".part" + std::to_string(part);
    s.load_hp = 0;  // record 97: 0 hp
    s.rpm = b.rpm;
    s.samples = &b.samples;
    s.from = part == 1 ? 0 : split;
    s.to = part == 1 ? split : b.samples.size();
    out.push_back(std::move(s));
  }
  return out;
}

Status export_cwru_features(const CwruData& data, const std::string& csv_path, std::string* summary) {
  EDGELOOP_ASSIGN_OR_RETURN(auto fx, CwruFeatureExtractor::create(kCwruClassifyWindow, data.baseline.sample_rate_hz));
  std::string csv = "recording,label,size_in,load_hp,rpm,window";
  for (const auto& n : fx->names()) csv += "," + n;
  csv += "\n";
  std::size_t rows = 0;
  const auto segments = cwru_segments(data, kCwruClassifyHop);
  char num[64];
  for (const auto& s : segments) {
    std::size_t windows = 0;
    const auto f = cwru_window_features(*fx, *s.samples, s.from, s.to, kCwruClassifyHop, s.rpm, &windows);
    for (std::size_t w = 0; w < windows; ++w) {
      std::snprintf(num, sizeof num, ",%.3f,%d,%.1f,%zu", s.size_in, s.load_hp, s.rpm, w);
      csv += s.id + "," + cwru_label(s.defect) + num;
      for (std::size_t i = 0; i < fx->count(); ++i) {
        std::snprintf(num, sizeof num, ",%.7g", static_cast<double>(f[w * fx->count() + i]));
        csv += num;
      }
      csv += "\n";
    }
    rows += windows;
  }
  EDGELOOP_TRY(write_file_atomic(csv_path, csv));
  if (summary) {
    *summary = "features: " + std::to_string(rows) + " windows of " + std::to_string(kCwruClassifyWindow) + " (hop " +
               std::to_string(kCwruClassifyHop) + ") from " + std::to_string(segments.size()) + " recordings, " +
               std::to_string(fx->count()) + " features each, written to " + csv_path + "\n";
  }
  return Status{};
}

int vote(std::span<const float> scores, std::size_t windows, std::size_t classes) {
  if (windows == 0 || classes == 0 || scores.size() < windows * classes) return -1;
  std::vector<std::size_t> votes(classes, 0);
  std::vector<double> sums(classes, 0.0);
  for (std::size_t w = 0; w < windows; ++w) {
    const float* s = scores.data() + w * classes;
    std::size_t best = 0;
    for (std::size_t c = 0; c < classes; ++c) {
      sums[c] += s[c];
      if (s[c] > s[best]) best = c;
    }
    ++votes[best];
  }
  std::size_t win = 0;
  for (std::size_t c = 1; c < classes; ++c)
    if (votes[c] > votes[win] || (votes[c] == votes[win] && sums[c] > sums[win])) win = c;
  return static_cast<int>(win);
}

ConfusionMatrix::ConfusionMatrix(std::vector<std::string> names)
    : classes(std::move(names)), counts(classes.size(), std::vector<std::size_t>(classes.size(), 0)) {}

void ConfusionMatrix::add(std::size_t truth, std::size_t predicted) {
  if (truth < counts.size() && predicted < counts.size()) ++counts[truth][predicted];
}

std::size_t ConfusionMatrix::total() const {
  std::size_t t = 0;
  for (const auto& row : counts)
    for (std::size_t c : row) t += c;
  return t;
}

std::size_t ConfusionMatrix::correct() const {
  std::size_t t = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) t += counts[i][i];
  return t;
}

double ConfusionMatrix::accuracy() const {
  const std::size_t t = total();
  return t == 0 ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(correct()) / static_cast<double>(t);
}

std::string ConfusionMatrix::to_text() const {
  const std::string corner = "truth\\pred";
  std::size_t w = 6, first = corner.size();
  for (const auto& c : classes) {
    w = std::max(w, c.size() + 1);
    first = std::max(first, c.size());
  }
  const auto pad = [](const std::string& s, std::size_t width) {
    return std::string(width > s.size() ? width - s.size() : 0, ' ') + s;
  };
  std::string t = pad(corner, first);
  for (const auto& c : classes) t += pad(c, w);
  t += "\n";
  for (std::size_t i = 0; i < classes.size(); ++i) {
    t += pad(classes[i], first);
    for (std::size_t j = 0; j < classes.size(); ++j) t += pad(std::to_string(counts[i][j]), w);
    t += "\n";
  }
  return t;
}

std::string cwru_card_path(const std::string& model_path) {
  std::filesystem::path p(model_path);
  return (p.parent_path() / (p.stem().string() + ".sidecar.json")).string();
}

namespace {

Result<CwruModelFile> parse_model_file(const nlohmann::json& j, const std::string& dir, const std::string& where) {
  CwruModelFile m;
  if (!j.is_object() || !j.contains("model") || !j["model"].is_string())
    return make_error(Errc::kParse, where + ": needs \"model\" (a file name)");
  const std::filesystem::path p(j["model"].get<std::string>());
  m.path = p.is_absolute() || dir.empty() ? p.string() : (std::filesystem::path(dir) / p).string();
  if (j.contains("test_load")) {
    if (!j["test_load"].is_number_integer()) return make_error(Errc::kParse, where + ".test_load: an integer");
    m.test_load = j["test_load"].get<int>();
  }
  if (!j.contains("train_recordings") || !j["train_recordings"].is_array())
    return make_error(Errc::kParse, where + ": needs \"train_recordings\" (the ids it was trained on)");
  for (const auto& r : j["train_recordings"]) {
    if (!r.is_string()) return make_error(Errc::kParse, where + ".train_recordings: strings");
    m.train_recordings.push_back(r.get<std::string>());
  }
  return m;
}

}  // namespace

Result<CwruModelCard> parse_cwru_model_card(const std::string& json_text, const std::string& dir) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error(Errc::kParse, "the model card is not a JSON object");
  CwruModelCard c;
  try {
    for (const auto& n : j.at("feature_names")) c.feature_names.push_back(n.get<std::string>());
    for (const auto& k : j.at("classes")) {
      CwruModelClass mc;
      mc.name = k.at("name").get<std::string>();
      EDGELOOP_ASSIGN_OR_RETURN(mc.defect, parse_cwru_label(k.at("label").get<std::string>()));
      mc.size_in = k.value("size_in", 0.0);
      c.classes.push_back(std::move(mc));
    }
    c.window = j.at("window").get<std::size_t>();
    c.hop = j.at("hop").get<std::size_t>();
    c.normal_split = j.value("normal_split", kCwruNormalTrainFraction);
    c.protocol = j.value("protocol", std::string());
    EDGELOOP_ASSIGN_OR_RETURN(c.final_model, parse_model_file(j.at("final"), dir, "final"));
    if (j.contains("folds")) {
      for (std::size_t i = 0; i < j["folds"].size(); ++i) {
        EDGELOOP_ASSIGN_OR_RETURN(auto f, parse_model_file(j["folds"][i], dir, "folds[" + std::to_string(i) + "]"));
        if (f.test_load < 0) return make_error(Errc::kParse, "folds[" + std::to_string(i) + "]: needs \"test_load\"");
        c.folds.push_back(std::move(f));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error(Errc::kParse, std::string("the model card: ") + e.what());
  }
  if (c.feature_names.empty() || c.classes.size() < 2)
    return make_error(Errc::kParse, "the model card needs feature_names and at least 2 classes");
  if (c.normal_split != kCwruNormalTrainFraction)
    return make_error(Errc::kInvalidArgument, "the model card's normal_split (" + std::to_string(c.normal_split) +
                                                  ") differs from this build's (" +
                                                  std::to_string(kCwruNormalTrainFraction) + ")");
  return c;
}

Result<CwruModelCard> load_cwru_model_card(const std::string& model_path) {
  const std::string path = cwru_card_path(model_path);
  auto text = read_file(path);
  if (!text.ok())
    return make_error(text.error().code, text.error().message + " (the classifier's sidecar, written with the model by "
                                                                "tools/train/cwru_classifier.py)");
  auto card = parse_cwru_model_card(*text, std::filesystem::path(path).parent_path().string());
  if (!card.ok()) return make_error(card.error().code, path + ": " + card.error().message);
  return card;
}

const CwruModelFile* model_for(const CwruModelCard& card, const std::string& segment_id, int load_hp) {
  const auto saw = [&segment_id](const CwruModelFile& m) {
    return std::find(m.train_recordings.begin(), m.train_recordings.end(), segment_id) != m.train_recordings.end();
  };
  if (!saw(card.final_model)) return &card.final_model;
  for (const auto& f : card.folds)
    if (f.test_load == load_hp && !saw(f)) return &f;
  return nullptr;
}

}  // namespace edgeloop::eval
