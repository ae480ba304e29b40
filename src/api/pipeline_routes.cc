#include "api/pipeline_routes.h"

#include <httplib.h>

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/clock.h"

namespace edgeloop {

namespace {

nlohmann::json node_json(const ConfigNode& n) {
  if (n.is_map()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : n.entries()) j[k] = node_json(v);
    return j;
  }
  if (n.is_sequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : n.items()) j.push_back(node_json(v));
    return j;
  }
  if (n.is_scalar()) {
    const std::string& s = n.str();
    if (s == "true" || s == "false") return s == "true";
    if (auto i = parse_int(s); i.ok() && !s.empty()) return *i;
    if (auto num = parse_number(s); num.ok() && !s.empty()) return *num;
    return s;
  }
  return nullptr;
}

std::string flip(const std::string& op) {
  if (op == ">") return "<";
  if (op == "<") return ">";
  if (op == ">=") return "<=";
  if (op == "<=") return ">=";
  return op;
}

// The rule's name and its when/clear texts (a scalar step is the `when` shorthand).
void rule_texts(const ConfigNode& node, std::string& name, std::string& when, std::string& clear) {
  name = "rule";
  if (node.is_scalar()) {
    when = node.str();
    return;
  }
  if (!node.is_map()) return;
  if (const ConfigNode* n = node.find("name"); n && n->is_scalar()) name = n->str();
  if (const ConfigNode* n = node.find("when"); n && n->is_scalar()) when = n->str();
  if (const ConfigNode* n = node.find("clear"); n && n->is_scalar()) clear = n->str();
}

// Samples of a stage's input counter, for a rate between two requests.
struct RateSampler {
  std::mutex mu;
  struct Sample {
    int64_t ns = 0;
    double count = 0;
    double rate = 0;
  };
  std::map<std::string, Sample> samples;
  double rate(const std::string& id, double count, int64_t now) {
    std::lock_guard lock(mu);
    Sample& s = samples[id];
    if (s.ns == 0) {
      s = {now, count, 0};
    } else if (now - s.ns >= 1'000'000'000) {  // shorter: the counters move by tick, the rate jitters
      s.rate = (count - s.count) * 1e9 / static_cast<double>(now - s.ns);
      s.ns = now;
      s.count = count;
    }
    return s.rate;
  }
};

}  // namespace

std::vector<Threshold> thresholds_of(const std::string& text) {
  static const std::regex kFieldOpNum(R"(([A-Za-z_][A-Za-z0-9_.]*)\s*(>=|<=|==|!=|>|<)\s*(-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?))");
  static const std::regex kNumOpField(R"((-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*(>=|<=|==|!=|>|<)\s*([A-Za-z_][A-Za-z0-9_.]*))");
  std::vector<Threshold> out;
  try {
    for (std::sregex_iterator it(text.begin(), text.end(), kFieldOpNum), end; it != end; ++it) {
      const auto& m = *it;
      if (m[1].str() == "and" || m[1].str() == "or" || m[1].str() == "not") continue;
      auto v = parse_number(m[3].str());
      if (v.ok()) out.push_back({"", "", m[1].str(), m[2].str(), *v, ""});
    }
    for (std::sregex_iterator it(text.begin(), text.end(), kNumOpField), end; it != end; ++it) {
      const auto& m = *it;
      // "x > 3 and 5 < y": the first pattern already took "x > 3"; a number right after an
      // identifier's comparison is the right side of it, not a left side.
      const auto pos = static_cast<std::size_t>(m.position(0));
      bool taken = false;
      for (std::sregex_iterator jt(text.begin(), text.end(), kFieldOpNum), jend; jt != jend; ++jt) {
        const auto start = static_cast<std::size_t>(jt->position(0));
        if (pos >= start && pos < start + static_cast<std::size_t>(jt->length(0))) taken = true;
      }
      if (taken) continue;
      auto v = parse_number(m[1].str());
      if (v.ok()) out.push_back({"", "", m[3].str(), flip(m[2].str()), *v, ""});
    }
  } catch (const std::exception&) {
    // A regex error on odd input: no thresholds, which only costs the chart its lines.
  }
  return out;
}

std::vector<Threshold> pipeline_thresholds(const AppConfig& config) {
  std::vector<Threshold> out;
  for (const auto& p : config.pipelines) {
    for (const auto& step : p.steps) {
      if (step.name != "rule") continue;
      std::string name, when, clear;
      rule_texts(step.node, name, when, clear);
      for (auto [text, kind] : {std::pair{&when, "when"}, std::pair{&clear, "clear"}}) {
        for (auto t : thresholds_of(*text)) {
          t.pipeline = p.name;
          t.stage = name;
          t.kind = kind;
          out.push_back(std::move(t));
        }
      }
    }
  }
  return out;
}

void register_pipeline_routes(ApiServer& api, Runtime& runtime, const AppConfig& config) {
  auto sampler = std::make_shared<RateSampler>();
  auto thresholds = std::make_shared<const std::vector<Threshold>>(pipeline_thresholds(config));
  api.add_get("/api/v1/pipelines", [&runtime, &config, sampler, thresholds](const httplib::Request&,
                                                                             httplib::Response& res) {
    Metrics& m = runtime.metrics();
    const int64_t now = mono_now_ns();
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : config.pipelines) {
      nlohmann::json pj;
      pj["name"] = p.name;
      pj["sources"] = nlohmann::json::array({p.from});
      nlohmann::json stages = nlohmann::json::array();
      double in = m.value("edgeloop_pipeline_records_total", {{"pipeline", p.name}});
      for (std::size_t i = 0; i < p.steps.size(); ++i) {
        const auto& step = p.steps[i];
        const std::string id = std::to_string(i) + ":" + step.name;
        const double out_count = m.value("edgeloop_stage_out_total", {{"pipeline", p.name}, {"stage", id}});
        nlohmann::json sj;
        sj["name"] = step.name;
        sj["type"] = "op." + step.name;
        sj["records_in"] = in;
        sj["records_out"] = out_count;
        sj["rate_per_s"] = sampler->rate(p.name + '\x1f' + id, in, now);
        sj["options"] = node_json(step.node);
        stages.push_back(std::move(sj));
        in = out_count;  // what a stage passes on is what the next one receives
      }
      pj["stages"] = std::move(stages);
      nlohmann::json th = nlohmann::json::array();
      for (const auto& t : *thresholds) {
        if (t.pipeline != p.name) continue;
        th.push_back({{"stage", t.stage}, {"field", t.field}, {"op", t.op}, {"value", t.value}, {"kind", t.kind}});
      }
      pj["thresholds"] = std::move(th);
      out.push_back(std::move(pj));
    }
    res.set_content(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
  });
}

}  // namespace edgeloop
