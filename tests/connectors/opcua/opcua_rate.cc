// opcua_rate ENDPOINT ITEMS SECONDS [SAMPLING_MS] [PUBLISHING_MS]: subscribes to ns=1;s=Fast000..
// through source.opcua and prints the monitored-item value changes received per second
// (used by bench/system/opcua_changes.sh; not a test).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "connectors/opcua/opcua_source.h"

namespace {
class CountingOutput final : public edgeloop::RecordOutput {
 public:
  void push(edgeloop::Record&&) override { ++n; }
  uint64_t n = 0;
};
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: opcua_rate ENDPOINT ITEMS SECONDS [SAMPLING_MS] [PUBLISHING_MS]\n");
    return 2;
  }
  using namespace edgeloop;
  OpcuaSourceConfig c;
  c.client.endpoint = argv[1];
  const int items = std::atoi(argv[2]);
  const int seconds = std::atoi(argv[3]);
  c.sampling_interval_ms = argc > 4 ? std::atof(argv[4]) : 10;
  c.publishing_interval_ms = argc > 5 ? std::atof(argv[5]) : 50;
  c.queue_size = 100;
  // 16 fields per record at most: 16 items per group.
  for (int i = 0; i < items; ++i) {
    if (i % 16 == 0) c.groups.push_back({"g" + std::to_string(i / 16), {}});
    char name[32];
    std::snprintf(name, sizeof name, "ns=1;s=Fast%03d", i);
    c.groups.back().nodes.push_back({"f" + std::to_string(i % 16), opcua::NodeId::parse(name).value()});
  }
  auto src = OpcuaSource::create(std::move(c));
  if (!src.ok()) {
    std::fprintf(stderr, "%s\n", src.error().to_string().c_str());
    return 1;
  }
  KeyTable keys;
  CountingOutput out;
  Metrics metrics;
  SourceContext ctx{"rate", 0, &keys, &out, nullptr, &metrics};
  if (!(*src)->start(ctx).ok()) return 1;
  for (int i = 0; i < 100 && (*src)->health() != Health::kConnected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // warm-up: initial values
  const uint64_t c0 = (*src)->value_changes();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const uint64_t c1 = (*src)->value_changes();
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (*src)->stop();
  std::printf("value changes: %llu in %.2f s = %.0f /s (items=%d, records=%llu)\n",
              static_cast<unsigned long long>(c1 - c0), dt, static_cast<double>(c1 - c0) / dt, items,
              static_cast<unsigned long long>(out.n));
  return 0;
}
