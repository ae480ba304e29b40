// The alerts the operator sees: raised by a rule, acknowledged (with comments) by an operator,
// cleared by the rule. Built from the runtime's alert events; in memory only (a restart starts
// an empty table: rules that restore a raised state report it again at their next clear).
// Not thread-safe: LiveHub guards it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/result.h"

namespace edgeloop {

enum class AlertPhase { kRaised, kAcknowledged, kCleared };
const char* alert_phase_name(AlertPhase p);  // "raised", "acknowledged", "cleared"

struct Alert;
// The alert as the API shows it: {"id","key","pipeline","name","severity","state","raised_ns",
// "cleared_ns","acked_ns","acked_by","values":{..},"comments":[{"by","ts_ns","text"}]}.
std::string alert_json(const Alert& a);

struct AlertComment {
  std::string by;
  int64_t ts_ns = 0;
  std::string text;
};

struct Alert {
  std::string id;  // decimal, unique in this process
  std::string key;
  std::string pipeline;
  std::string name;  // the rule's name
  std::string severity;
  AlertPhase phase = AlertPhase::kRaised;
  int64_t raised_ns = 0;  // event time of the raise (0: raised before this process started)
  int64_t cleared_ns = 0;
  int64_t acked_ns = 0;
  std::string acked_by;
  std::vector<std::pair<std::string, double>> values;  // the fields at the last change
  std::vector<AlertComment> comments;
  bool open() const { return phase != AlertPhase::kCleared; }
};

class AlertTable {
 public:
  static constexpr std::size_t kMaxComments = 100;
  static constexpr std::size_t kMaxCommentBytes = 4096;

  // Keeps every open alert and the newest `max_closed` cleared ones.
  explicit AlertTable(std::size_t max_closed = 1000) : max_closed_(max_closed) {}

  // A raise of (pipeline, name, key): a new alert, or the open one again (a rule restored
  // from a snapshot raises nothing twice, but a replayed raise must not duplicate).
  const Alert& raise(const std::string& key, const std::string& pipeline, const std::string& name,
                     const std::string& severity, int64_t ts_ns, std::vector<std::pair<std::string, double>> values);
  // Clears the open alert of (pipeline, name, key); one with no raise seen (raised before a
  // restart) is recorded cleared, raised_ns 0.
  const Alert& clear(const std::string& key, const std::string& pipeline, const std::string& name,
                     const std::string& severity, int64_t ts_ns, std::vector<std::pair<std::string, double>> values);
  // kNotFound for an unknown id. Acknowledging a cleared alert records who and when.
  Result<const Alert*> ack(const std::string& id, const std::string& by, const std::string& comment, int64_t now_ns);
  // kNotFound, or kInvalidArgument for an empty text / kTooLarge past the bounds above.
  Result<const Alert*> comment(const std::string& id, const std::string& by, const std::string& text, int64_t now_ns);

  const Alert* find(const std::string& id) const;
  // Newest first; open_only: raised and acknowledged.
  std::vector<const Alert*> list(bool open_only) const;
  // Open alerts of a key (every pipeline).
  int open_count(const std::string& key) const;
  std::size_t size() const { return alerts_.size(); }

 private:
  using OpenKey = std::tuple<std::string, std::string, std::string>;  // pipeline, name, key
  Alert& create(const std::string& key, const std::string& pipeline, const std::string& name, const std::string& severity);
  void trim();

  std::size_t max_closed_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Alert> alerts_;        // by numeric id: oldest first
  std::map<OpenKey, uint64_t> open_;        // the open alert of each (pipeline, name, key)
  std::deque<uint64_t> closed_order_;       // cleared alerts, oldest first
};

}  // namespace edgeloop
