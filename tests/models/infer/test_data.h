// The tiny committed models of tests/models/data (made by tools/train/make_test_models.py)
// and the outputs that script computed for them.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace edgeloop::testing {

inline std::string model_data(const std::string& name) { return std::string(EDGELOOP_SOURCE_DIR) + "/tests/models/data/" + name; }

struct Expected {
  std::vector<float> input;
  std::vector<std::vector<float>> outputs;
};

// NAME.expected.txt: "input: v ...", then "output NAME: v ..." lines.
inline Expected expected_for(const std::string& model) {
  Expected e;
  std::ifstream in(model_data(model + ".expected.txt"));
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream vals(line.substr(colon + 1));
    std::vector<float> v;
    float x = 0;
    while (vals >> x) v.push_back(x);
    if (line.rfind("input", 0) == 0) {
      e.input = std::move(v);
    } else {
      e.outputs.push_back(std::move(v));
    }
  }
  return e;
}

}  // namespace edgeloop::testing
