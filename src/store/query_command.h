// `edgeloop query`: reads a store database from the command line (another process may be
// writing it: the query uses its own read-only connection).
//
//   edgeloop query --db PATH readings --key K [--from T] [--to T] [--field F] [--rollup 1m]
//                                      [--limit N] [--order asc|desc] [--json-array]
//   edgeloop query --db PATH events [--key K] [--kind alert] [--pipeline P] [--state raised]
//                                    [--from T] [--to T] [--limit N] [--order asc|desc] [--json-array]
//
// Output: one JSON object per line (store_query.h), or with --json-array one JSON array.
// Times: see time_spec.h. Exit code 1 with a message on stderr for a bad query.
//
// For the binary's main():
//   edgeloop::store::QueryCommand query_command(app);   // before CLI11_PARSE
//   if (query_command.selected()) return query_command.run();
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

namespace edgeloop::store {

class QueryCommand {
 public:
  explicit QueryCommand(CLI::App& app);
  bool selected() const { return query_->parsed(); }
  // Runs the selected query, printing to `out`; returns the process exit code.
  int run(std::FILE* out = stdout);

 private:
  struct Filters {
    std::string key, from, to, limit, order;
  };
  CLI::App* query_ = nullptr;
  CLI::App* readings_ = nullptr;
  CLI::App* events_ = nullptr;
  std::string db_;
  bool json_array_ = false;
  Filters readings_filters_, events_filters_;
  std::string field_, rollup_;
  std::string kind_, pipeline_, state_;
};

}  // namespace edgeloop::store
