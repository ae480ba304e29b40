// op.store and action.store: the plugin objects behind register_store (builtins.h), exposed
// for tests.
#pragma once

#include <memory>
#include <string>

#include "core/plugin.h"
#include "store/store.h"

namespace edgeloop::store {

const OptionTable& store_stage_options();
const OptionTable& store_action_options();

// The Store named by a plugin's options: the process's open one (a config error when it was
// opened with other settings than this instance sets explicitly) or a new one.
Result<std::shared_ptr<Store>> open_store_for(const Options& options);

// op.store: pushes each record's key, time and values into the store's queue (dropped and
// counted when full, never waits) and forwards the record unchanged.
class StoreStage final : public Stage {
 public:
  StoreStage(Schema schema, std::unique_ptr<ReadingQueue> queue)
      : schema_(std::move(schema)), queue_(std::move(queue)) {}
  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override {
    queue_->push(r);
    out.forward(r);
  }
  ReadingQueue& queue() { return *queue_; }

 private:
  Schema schema_;
  std::unique_ptr<ReadingQueue> queue_;
};

// action.store: hands every event it gets to the store's writer (on_event never waits).
// stop() returns once the events it took are committed.
class StoreAction final : public Action {
 public:
  StoreAction(std::shared_ptr<Store> store, std::size_t capacity, std::string gateway)
      : store_(std::move(store)), capacity_(capacity), gateway_(std::move(gateway)) {}
  Status start(ActionContext& ctx) override;
  void on_event(const Event& e) override {
    if (queue_) queue_->push(e);
  }
  void stop() override { queue_.reset(); }
  Store& store() { return *store_; }

 private:
  std::shared_ptr<Store> store_;
  std::size_t capacity_;
  std::string gateway_;
  std::unique_ptr<EventQueue> queue_;
};

}  // namespace edgeloop::store
