// The dead-letter sink: every message that could not be used, with its reason, goes to a
// JSON-lines file and/or further outputs (an MQTT topic), written on its own thread. Bounded:
// when the writer falls behind, dead letters (never good messages) are dropped and counted.
#pragma once

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/options.h"
#include "core/plugin.h"

namespace edgeloop {

struct DeadLetterOptions {
  std::string file;      // JSON lines; empty: no file
  std::string topic;     // MQTT topic; empty: none (wired by the app)
  std::size_t max_payload = 4096;  // bytes of the payload kept per dead letter
  std::size_t queue = 10000;       // dead letters waiting to be written
  std::size_t keep = 100;          // the most recent ones kept in memory (API)

  static const OptionTable& table();
  static Result<DeadLetterOptions> from(const ConfigNode& node, const std::string& path);
};

// One dead letter as a JSON object (one line, no newline).
std::string dead_letter_json(const DeadLetter& letter);

class DeadLetterWriter final : public DeadLetterSink {
 public:
  using Output = std::function<void(const DeadLetter&, const std::string& json)>;

  DeadLetterWriter(DeadLetterOptions options, Metrics& metrics);
  ~DeadLetterWriter() override;

  // Before start(): another place to write to (e.g. an MQTT publisher).
  void add_output(Output out) { outputs_.push_back(std::move(out)); }
  Status start();
  void stop();  // writes what is queued, then joins

  void write(DeadLetter&& letter) override;
  std::vector<DeadLetter> recent() const;
  uint64_t written() const { return written_->value(); }

 private:
  void run();

  DeadLetterOptions options_;
  Counter* total_;
  Counter* dropped_;
  Counter* written_;
  std::vector<Output> outputs_;
  std::FILE* file_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<DeadLetter> queue_;   // guarded by mu_
  std::deque<DeadLetter> recent_;  // guarded by mu_
  bool stop_ = false;              // guarded by mu_
  std::thread thread_;
};

}  // namespace edgeloop
