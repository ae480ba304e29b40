#include "runtime/inproc_source.h"

namespace edgeloop {
namespace {

class InprocSource final : public Source {
 public:
  explicit InprocSource(Schema schema) : schema_(std::move(schema)) {}
  const Schema& schema() const override { return schema_; }
  Status start(SourceContext&) override { return Status::Ok(); }
  void stop() override {}
  Health health() const override { return Health::kConnected; }

 private:
  Schema schema_;
};

}  // namespace

void register_runtime(Registry& registry) {
  registry.add_source(
      PluginInfo{.name = "inproc",
                 .summary = "Records pushed by code in the same process (benchmarks, tests, embedding).",
                 .options = {{.name = "fields", .type = OptionType::kList, .default_value = "[v]",
                              .description = "Names of the values each record carries."}}},
      [](const Options& o) -> Result<std::unique_ptr<Source>> {
        auto fields = o.list("fields");
        if (fields.empty() || fields.size() > kMaxFields) {
          return o.error("fields", "give 1 to " + std::to_string(kMaxFields) + " field names");
        }
        return std::unique_ptr<Source>(new InprocSource(Schema(std::move(fields))));
      });
}

}  // namespace edgeloop
