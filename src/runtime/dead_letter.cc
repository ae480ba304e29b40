#include "runtime/dead_letter.h"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace edgeloop {

const OptionTable& DeadLetterOptions::table() {
  static const OptionTable kTable = {
      {.name = "file", .type = OptionType::kString, .description = "Append dead letters to this file, one JSON object per line."},
      {.name = "topic", .type = OptionType::kString,
       .description = "Publish each dead letter (JSON) to this MQTT topic, on the broker of `mqtt`."},
      {.name = "mqtt", .type = OptionType::kMap,
       .description = "Broker for `topic`: the options of action `mqtt_publish` (host, port, ...) without topic/payload."},
      {.name = "max_payload", .type = OptionType::kSize, .default_value = "4KiB",
       .description = "Bytes of the offending payload kept in a dead letter.", .min = 0, .max = 16 * 1024 * 1024},
      {.name = "queue", .type = OptionType::kInt, .default_value = "10000",
       .description = "Dead letters waiting to be written; past it they are dropped and counted.", .min = 1, .max = 10'000'000},
      {.name = "keep", .type = OptionType::kInt, .default_value = "100",
       .description = "Most recent dead letters kept in memory for the API.", .min = 0, .max = 100000},
  };
  return kTable;
}

Result<DeadLetterOptions> DeadLetterOptions::from(const ConfigNode& node, const std::string& path) {
  EDGELOOP_ASSIGN_OR_RETURN(Options o, Options::parse(table(), node, path));
  DeadLetterOptions d;
  d.file = o.str("file");
  d.topic = o.str("topic");
  d.max_payload = static_cast<std::size_t>(o.size_bytes("max_payload"));
  d.queue = static_cast<std::size_t>(o.integer("queue"));
  d.keep = static_cast<std::size_t>(o.integer("keep"));
  return d;
}

std::string dead_letter_json(const DeadLetter& letter) {
  nlohmann::json j = {{"ts", letter.recv_ns},
                      {"source", letter.source},
                      {"reason", letter.reason},
                      {"topic", letter.topic},
                      {"payload", letter.payload}};
  // Payloads can be any bytes: invalid UTF-8 is replaced rather than failing the letter.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

DeadLetterWriter::DeadLetterWriter(DeadLetterOptions options, Metrics& metrics) : options_(std::move(options)) {
  total_ = &metrics.counter("edgeloop_dead_letters_total", "Messages sent to the dead-letter sink.");
  dropped_ = &metrics.counter("edgeloop_dead_letters_dropped_total",
                              "Dead letters dropped because the dead-letter writer fell behind.");
  written_ = &metrics.counter("edgeloop_dead_letters_written_total", "Dead letters written out.");
}

DeadLetterWriter::~DeadLetterWriter() { stop(); }

Status DeadLetterWriter::start() {
  if (!options_.file.empty()) {
    file_ = std::fopen(options_.file.c_str(), "a");
    if (!file_) {
      return make_error(Errc::kIo, "dead_letter.file: cannot open '" + options_.file + "': " + std::strerror(errno));
    }
  }
  thread_ = std::thread([this] { run(); });
  return Status::Ok();
}

void DeadLetterWriter::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (file_) {
    std::fclose(file_);
    file_ = nullptr;
  }
}

void DeadLetterWriter::write(DeadLetter&& letter) {
  total_->add();
  if (letter.payload.size() > options_.max_payload) letter.payload.resize(options_.max_payload);
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue) {
      dropped_->add();
      return;
    }
    queue_.push_back(std::move(letter));
  }
  cv_.notify_one();
}

std::vector<DeadLetter> DeadLetterWriter::recent() const {
  std::lock_guard lock(mu_);
  return {recent_.begin(), recent_.end()};
}

void DeadLetterWriter::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) break;
    std::deque<DeadLetter> batch;
    batch.swap(queue_);
    lock.unlock();
    for (const auto& letter : batch) {
      const std::string json = dead_letter_json(letter);
      if (file_) {
        std::fwrite(json.data(), 1, json.size(), file_);
        std::fputc('\n', file_);
      }
      for (auto& out : outputs_) out(letter, json);
      written_->add();
    }
    if (file_) std::fflush(file_);
    lock.lock();
    for (auto& letter : batch) {
      if (options_.keep == 0) break;
      recent_.push_back(std::move(letter));
      if (recent_.size() > options_.keep) recent_.pop_front();
    }
  }
}

}  // namespace edgeloop
