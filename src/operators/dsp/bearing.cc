#include "operators/dsp/bearing.h"

#include <cmath>
#include <numbers>

namespace edgeloop::dsp {

Status validate(const BearingGeometry& g) {
  if (g.n_balls < 1) return make_error(Errc::kInvalidArgument, "n_balls must be at least 1");
  if (!(g.ball_diameter > 0) || !(g.pitch_diameter > 0))
    return make_error(Errc::kInvalidArgument, "ball_diameter and pitch_diameter must be positive");
  if (g.ball_diameter >= g.pitch_diameter)
    return make_error(Errc::kInvalidArgument, "ball_diameter must be smaller than pitch_diameter");
  if (!(std::fabs(g.contact_angle_deg) < 90))
    return make_error(Errc::kInvalidArgument, "contact_angle must be within (-90, 90) degrees");
  return Status::Ok();
}

DefectFrequencies defect_frequencies(const BearingGeometry& g, double shaft_hz) {
  const double r = g.ball_diameter / g.pitch_diameter * std::cos(g.contact_angle_deg * std::numbers::pi / 180.0);
  DefectFrequencies f;
  f.ftf = shaft_hz / 2 * (1 - r);
  f.bpfo = g.n_balls * shaft_hz / 2 * (1 - r);
  f.bpfi = g.n_balls * shaft_hz / 2 * (1 + r);
  f.bsf = g.pitch_diameter * shaft_hz / (2 * g.ball_diameter) * (1 - r * r);
  return f;
}

}  // namespace edgeloop::dsp
