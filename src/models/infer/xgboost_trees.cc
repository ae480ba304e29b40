#include "models/infer/xgboost_trees.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace edgeloop::models {
namespace {

double number(const nlohmann::json& j) { return j.is_string() ? std::stod(j.get<std::string>()) : j.get<double>(); }

}  // namespace

Result<TreeEnsemble> TreeEnsemble::from_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::kNotFound, "cannot open '" + path + "'");
  TreeEnsemble t;
  try {
    const auto doc = nlohmann::json::parse(in);
    const auto& learner = doc.at("learner");
    const std::string objective = learner.at("objective").at("name").get<std::string>();
    const auto& booster = learner.at("gradient_booster");
    if (booster.at("name").get<std::string>() != "gbtree") {
      return make_error(Errc::kInvalidArgument, "booster " + booster.at("name").get<std::string>() + " (only gbtree)");
    }
    const auto& mp = learner.at("learner_model_param");
    t.features_ = static_cast<int64_t>(number(mp.at("num_feature")));
    const int classes = static_cast<int>(number(mp.at("num_class")));
    const double base = number(mp.at("base_score"));
    static const std::set<std::string> kIdentity = {"reg:squarederror", "reg:linear", "reg:absoluteerror",
                                                    "reg:pseudohubererror", "reg:squaredlogerror"};
    if (kIdentity.count(objective) && objective != "reg:squaredlogerror") {
      t.link_ = Link::kIdentity;
      t.base_margin_ = static_cast<float>(base);
    } else if (objective == "binary:logistic" || objective == "reg:logistic") {
      t.link_ = Link::kSigmoid;
      t.base_margin_ = static_cast<float>(-std::log(1.0 / base - 1.0));
    } else if (objective == "multi:softprob" || objective == "multi:softmax") {
      t.link_ = Link::kSoftmax;
      t.base_margin_ = static_cast<float>(base);
      t.groups_ = classes;
    } else if (objective == "count:poisson" || objective == "reg:gamma" || objective == "reg:tweedie") {
      t.link_ = Link::kExp;
      t.base_margin_ = static_cast<float>(std::log(base));
    } else {
      return make_error(Errc::kInvalidArgument, "objective " + objective);
    }
    const auto& model = booster.at("model");
    const auto& trees = model.at("trees");
    const auto& info = model.at("tree_info");
    if (info.size() != trees.size()) return make_error(Errc::kParse, "tree_info and trees differ in size");
    for (std::size_t k = 0; k < trees.size(); ++k) {
      const auto& tree = trees[k];
      if (!tree.at("categories").empty()) return make_error(Errc::kInvalidArgument, "categorical splits");
      const auto& left = tree.at("left_children");
      const auto& right = tree.at("right_children");
      const auto& feat = tree.at("split_indices");
      const auto& cond = tree.at("split_conditions");
      const auto& dleft = tree.at("default_left");
      const std::size_t n = left.size();
      if (right.size() != n || feat.size() != n || cond.size() != n || dleft.size() != n || n == 0) {
        return make_error(Errc::kParse, "tree " + std::to_string(k) + " has arrays of different sizes");
      }
      const int group = info[k].get<int>();
      if (group < 0 || group >= t.groups_) return make_error(Errc::kParse, "tree " + std::to_string(k) + " group");
      t.roots_.push_back(static_cast<uint32_t>(t.nodes_.size()));
      t.tree_group_.push_back(group);
      const int32_t off = static_cast<int32_t>(t.nodes_.size());
      for (std::size_t i = 0; i < n; ++i) {
        Node node;
        const int32_t l = left[i].get<int32_t>();
        const int32_t r = right[i].get<int32_t>();
        if (l >= 0) {
          if (l >= static_cast<int32_t>(n) || r < 0 || r >= static_cast<int32_t>(n)) {
            return make_error(Errc::kParse, "tree " + std::to_string(k) + " has a child out of range");
          }
          node.left = off + l;
          node.right = off + r;
          node.feature = feat[i].get<uint32_t>();
          if (static_cast<int64_t>(node.feature) >= t.features_) {
            return make_error(Errc::kParse, "tree " + std::to_string(k) + " splits on a feature out of range");
          }
        }
        node.value = cond[i].get<float>();
        node.default_left = dleft[i].is_boolean() ? dleft[i].get<bool>() : dleft[i].get<int>() != 0;
        t.nodes_.push_back(node);
      }
    }
  } catch (const std::exception& e) {
    return make_error(Errc::kParse, std::string("not an XGBoost JSON model: ") + e.what());
  }
  return t;
}

void TreeEnsemble::margins(const float* x, float* out) const {
  for (int g = 0; g < groups_; ++g) out[g] = base_margin_;
  for (std::size_t k = 0; k < roots_.size(); ++k) {
    const Node* node = &nodes_[roots_[k]];
    while (node->left >= 0) {
      const float v = x[node->feature];
      const bool go_left = std::isnan(v) ? node->default_left : v < node->value;
      node = &nodes_[static_cast<std::size_t>(go_left ? node->left : node->right)];
    }
    out[tree_group_[k]] += node->value;
  }
}

}  // namespace edgeloop::models
