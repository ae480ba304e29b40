// The T1 workload (../shared/bench/WORKLOADS.md) as a reference: the value formula and a plain
// simulation of the rule, shared by `edgeloop bench t1` and the end-to-end tests.
#pragma once

#include <cstdint>
#include <vector>

namespace edgeloop::t1 {

// Message k of device i.
inline double value(int64_t k, int64_t i) { return (k + i) % 40 >= 20 ? 100.0 : 60.0; }

struct Alert {
  int64_t ts;
  double mean;
};

// Per device: the mean of the last 10 readings; fires when armed and > 80, re-arms when < 75.
// Devices publish round robin, reading k of device i carrying ts0 + k * devices + i.
inline std::vector<std::vector<Alert>> reference_alerts(int devices, int64_t per_device, int64_t ts0) {
  std::vector<std::vector<Alert>> out(static_cast<std::size_t>(devices));
  for (int i = 0; i < devices; ++i) {
    double ring[10] = {};
    bool armed = true;
    for (int64_t k = 0; k < per_device; ++k) {
      ring[k % 10] = value(k, i);
      if (k < 9) continue;
      double sum = 0;
      for (double v : ring) sum += v;
      const double mean = sum / 10;
      if (armed && mean > 80) {
        out[static_cast<std::size_t>(i)].push_back({ts0 + k * devices + i, mean});
        armed = false;
      } else if (!armed && mean < 75) {
        armed = true;
      }
    }
  }
  return out;
}

}  // namespace edgeloop::t1
