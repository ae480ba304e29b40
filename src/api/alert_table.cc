#include "api/alert_table.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace edgeloop {

const char* alert_phase_name(AlertPhase p) {
  switch (p) {
    case AlertPhase::kRaised: return "raised";
    case AlertPhase::kAcknowledged: return "acknowledged";
    case AlertPhase::kCleared: return "cleared";
  }
  return "raised";
}

std::string alert_json(const Alert& a) {
  nlohmann::json j;
  j["id"] = a.id;
  j["key"] = a.key;
  j["pipeline"] = a.pipeline;
  j["name"] = a.name;
  j["severity"] = a.severity;
  j["state"] = alert_phase_name(a.phase);
  j["raised_ns"] = a.raised_ns;
  j["cleared_ns"] = a.cleared_ns;
  j["acked_ns"] = a.acked_ns;
  j["acked_by"] = a.acked_by;
  nlohmann::json values = nlohmann::json::object();
  for (const auto& [name, v] : a.values) values[name] = v;  // NaN becomes null
  j["values"] = std::move(values);
  nlohmann::json comments = nlohmann::json::array();
  for (const auto& c : a.comments) comments.push_back({{"by", c.by}, {"ts_ns", c.ts_ns}, {"text", c.text}});
  j["comments"] = std::move(comments);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

bool parse_id(const std::string& id, uint64_t& out) {
  if (id.empty()) return false;
  const auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), out);
  return ec == std::errc() && p == id.data() + id.size();
}

}  // namespace

Alert& AlertTable::create(const std::string& key, const std::string& pipeline, const std::string& name,
                          const std::string& severity) {
  const uint64_t id = next_id_++;
  Alert& a = alerts_[id];
  a.id = std::to_string(id);
  a.key = key;
  a.pipeline = pipeline;
  a.name = name;
  a.severity = severity;
  return a;
}

const Alert& AlertTable::raise(const std::string& key, const std::string& pipeline, const std::string& name,
                               const std::string& severity, int64_t ts_ns,
                               std::vector<std::pair<std::string, double>> values) {
  const OpenKey ok{pipeline, name, key};
  if (auto it = open_.find(ok); it != open_.end()) {
    Alert& a = alerts_.at(it->second);
    a.values = std::move(values);
    return a;
  }
  Alert& a = create(key, pipeline, name, severity);
  a.raised_ns = ts_ns;
  a.values = std::move(values);
  open_[ok] = std::stoull(a.id);
  return a;
}

const Alert& AlertTable::clear(const std::string& key, const std::string& pipeline, const std::string& name,
                               const std::string& severity, int64_t ts_ns,
                               std::vector<std::pair<std::string, double>> values) {
  const OpenKey ok{pipeline, name, key};
  uint64_t id = 0;
  if (auto it = open_.find(ok); it != open_.end()) {
    id = it->second;
    open_.erase(it);
  } else {
    id = std::stoull(create(key, pipeline, name, severity).id);
  }
  Alert& a = alerts_.at(id);
  a.phase = AlertPhase::kCleared;
  a.cleared_ns = ts_ns;
  a.values = std::move(values);
  closed_order_.push_back(id);
  trim();
  return alerts_.at(id);
}

void AlertTable::trim() {
  while (closed_order_.size() > max_closed_) {
    alerts_.erase(closed_order_.front());
    closed_order_.pop_front();
  }
}

Result<const Alert*> AlertTable::ack(const std::string& id, const std::string& by, const std::string& comment,
                                     int64_t now_ns) {
  uint64_t n = 0;
  auto it = parse_id(id, n) ? alerts_.find(n) : alerts_.end();
  if (it == alerts_.end()) return make_error(Errc::kNotFound, "no alert with id '" + id + "'");
  if (comment.size() > kMaxCommentBytes) return make_error(Errc::kTooLarge, "the comment is longer than 4096 bytes");
  Alert& a = it->second;
  if (!comment.empty() && a.comments.size() >= kMaxComments) {
    return make_error(Errc::kTooLarge, "the alert already has 100 comments");
  }
  if (a.phase == AlertPhase::kRaised) a.phase = AlertPhase::kAcknowledged;
  a.acked_ns = now_ns;
  a.acked_by = by;
  if (!comment.empty()) a.comments.push_back({by, now_ns, comment});
  return &a;
}

Result<const Alert*> AlertTable::comment(const std::string& id, const std::string& by, const std::string& text,
                                         int64_t now_ns) {
  uint64_t n = 0;
  auto it = parse_id(id, n) ? alerts_.find(n) : alerts_.end();
  if (it == alerts_.end()) return make_error(Errc::kNotFound, "no alert with id '" + id + "'");
  if (text.empty()) return make_error(Errc::kInvalidArgument, "the comment's text is empty");
  if (text.size() > kMaxCommentBytes) return make_error(Errc::kTooLarge, "the comment is longer than 4096 bytes");
  Alert& a = it->second;
  if (a.comments.size() >= kMaxComments) return make_error(Errc::kTooLarge, "the alert already has 100 comments");
  a.comments.push_back({by, now_ns, text});
  return &a;
}

const Alert* AlertTable::find(const std::string& id) const {
  uint64_t n = 0;
  if (!parse_id(id, n)) return nullptr;
  auto it = alerts_.find(n);
  return it == alerts_.end() ? nullptr : &it->second;
}

std::vector<const Alert*> AlertTable::list(bool open_only) const {
  std::vector<const Alert*> out;
  for (auto it = alerts_.rbegin(); it != alerts_.rend(); ++it) {
    if (!open_only || it->second.open()) out.push_back(&it->second);
  }
  return out;
}

int AlertTable::open_count(const std::string& key) const {
  int n = 0;
  for (const auto& [k, id] : open_) {
    if (std::get<2>(k) == key) ++n;
  }
  return n;
}

}  // namespace edgeloop
