#include "store/query_command.h"

#include "core/clock.h"
#include "store/store_reader.h"

namespace edgeloop::store {

namespace {

void add_filters(CLI::App* cmd, std::string& key, std::string& from, std::string& to, std::string& limit,
                 std::string& order, bool& json_array, bool key_required) {
  auto* k = cmd->add_option("--key", key, key_required ? "The stream key (required)" : "Only this stream key");
  if (key_required) k->required();
  cmd->add_option("--from", from,
                  "From this time, inclusive (ISO-8601, Unix time like 1732536000s or ...ms, now, -15m)");
  cmd->add_option("--to", to, "Up to this time, exclusive (same forms as --from)");
  cmd->add_option("--limit", limit, "At most this many rows (1..100000, default 1000)");
  cmd->add_option("--order", order, "asc (oldest first, the default) or desc (newest first)");
  cmd->add_flag("--json-array", json_array, "Print one JSON array instead of one JSON object per line");
}

void put(QueryParams& p, const char* name, const std::string& value) {
  if (!value.empty()) p[name] = value;
}

}  // namespace

QueryCommand::QueryCommand(CLI::App& app) {
  query_ = app.add_subcommand("query", "Query a store database: readings (raw or rollups) or events, as JSON.");
  query_->add_option("--db", db_, "The store's SQLite file (op.store / action.store `path`)")->required();
  query_->require_subcommand(1);
  readings_ = query_->add_subcommand("readings", "Readings of one key: raw, or one rollup interval (--rollup 1m).");
  auto& rf = readings_filters_;
  add_filters(readings_, rf.key, rf.from, rf.to, rf.limit, rf.order, json_array_, true);
  readings_->add_option("--field", field_, "Only this field");
  readings_->add_option("--rollup", rollup_, "A rollup interval the store keeps (e.g. 1m); default: raw readings");
  events_ = query_->add_subcommand("events", "Events (alerts, insights, commands), in the event JSON shape.");
  auto& ef = events_filters_;
  add_filters(events_, ef.key, ef.from, ef.to, ef.limit, ef.order, json_array_, false);
  events_->add_option("--kind", kind_, "alert, insight or command");
  events_->add_option("--pipeline", pipeline_, "Only this pipeline");
  events_->add_option("--state", state_, "raised, cleared or none");
}

int QueryCommand::run(std::FILE* out) {
  auto reader = StoreReader::open(db_);
  if (!reader.ok()) {
    std::fprintf(stderr, "edgeloop query: %s\n", reader.error().message.c_str());
    return 1;
  }
  QueryParams p;
  Result<std::vector<std::string>> rows = std::vector<std::string>{};
  const int64_t now = unix_now_ns();
  if (readings_->parsed()) {
    const auto& f = readings_filters_;
    put(p, "key", f.key);
    put(p, "from", f.from);
    put(p, "to", f.to);
    put(p, "limit", f.limit);
    put(p, "order", f.order);
    put(p, "field", field_);
    put(p, "rollup", rollup_);
    auto q = reading_query_from(p, now);
    rows = q.ok() ? (*reader)->readings_json(*q) : Result<std::vector<std::string>>(q.error());
  } else {
    const auto& f = events_filters_;
    put(p, "key", f.key);
    put(p, "from", f.from);
    put(p, "to", f.to);
    put(p, "limit", f.limit);
    put(p, "order", f.order);
    put(p, "kind", kind_);
    put(p, "pipeline", pipeline_);
    put(p, "state", state_);
    auto q = event_query_from(p, now);
    rows = q.ok() ? (*reader)->events_json(*q) : Result<std::vector<std::string>>(q.error());
  }
  if (!rows.ok()) {
    std::fprintf(stderr, "edgeloop query: %s\n", rows.error().message.c_str());
    return 1;
  }
  if (json_array_) std::fputc('[', out);
  for (std::size_t i = 0; i < rows->size(); ++i) {
    if (json_array_ && i) std::fputc(',', out);
    std::fputs((*rows)[i].c_str(), out);
    if (!json_array_) std::fputc('\n', out);
  }
  if (json_array_) std::fputs("]\n", out);
  std::fflush(out);
  return 0;
}

}  // namespace edgeloop::store
