// Rolling-element bearing defect frequencies from geometry and shaft speed.
#pragma once

#include "core/result.h"

namespace edgeloop::dsp {

struct BearingGeometry {
  int n_balls = 0;               // rolling elements
  double ball_diameter = 0;      // d, any length unit (the same as pitch_diameter)
  double pitch_diameter = 0;     // D, diameter of the circle through the ball centres
  double contact_angle_deg = 0;  // φ, degrees
};

// In Hz, for a shaft turning at f_r Hz with the outer race fixed:
//   FTF  = f_r / 2 · (1 - d/D cos φ)                 cage (fundamental train)
//   BPFO = n f_r / 2 · (1 - d/D cos φ)               ball pass, outer race
//   BPFI = n f_r / 2 · (1 + d/D cos φ)               ball pass, inner race
//   BSF  = D f_r / (2 d) · (1 - (d/D cos φ)²)        ball spin (a spall hits both races: 2·BSF shows too)
struct DefectFrequencies {
  double bpfo = 0, bpfi = 0, bsf = 0, ftf = 0;
};

// kInvalidArgument for an impossible geometry (no balls, d >= D, |φ| >= 90°).
Status validate(const BearingGeometry& g);
DefectFrequencies defect_frequencies(const BearingGeometry& g, double shaft_hz);

}  // namespace edgeloop::dsp
