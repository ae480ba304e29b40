#include "eval/cwru.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>

#include "eval/mat_file.h"
#include "operators/dsp/resample.h"

namespace edgeloop::eval {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Digits at s[i..], as an int; -1 when none (or too many).
int digits_at(const std::string& s, std::size_t& i) {
  const std::size_t from = i;
  int v = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - from < 6) v = v * 10 + (s[i++] - '0');
  return i == from ? -1 : v;
}

struct DriveEnd {
  std::vector<double> samples;
  int record = 0;
  double rpm = 0;  // 0 when the file has none
};

// The drive-end channel X<nnn>_DE_time and X<nnn>RPM of a CWRU file.
Result<DriveEnd> read_drive_end(const std::string& path) {
  EDGELOOP_ASSIGN_OR_RETURN(MatFile f, read_mat_file(path));
  DriveEnd de;
  const MatArray* channel = nullptr;
  for (const auto& a : f.arrays) {
    if (ends_with(a.name, "_DE_time")) {
      channel = &a;
      break;
    }
  }
  if (!channel) return make_error(Errc::kNotFound, path + ": no drive-end channel (a variable X<nnn>_DE_time)");
  if (channel->numel() == 0 || (channel->rows() != 1 && channel->cols() != 1)) {
    return make_error(Errc::kParse, path + ": " + channel->name + " is not a vector");
  }
  std::size_t i = 1;
  de.record = channel->name.size() > 1 && channel->name[0] == 'X' ? digits_at(channel->name, i) : -1;
  const std::string prefix = channel->name.substr(0, channel->name.size() - std::string_view("_DE_time").size());
  if (auto rpm = f.scalar(prefix + "RPM"); rpm.ok() && *rpm > 0 && std::isfinite(*rpm)) de.rpm = *rpm;
  for (double v : channel->data) {
    if (!std::isfinite(v)) return make_error(Errc::kParse, path + ": " + channel->name + " holds a non-finite value");
  }
  de.samples = channel->data;
  return de;
}

}  // namespace

const char* defect_name(BearingDefect d) {
  switch (d) {
    case BearingDefect::kOuterRace:
      return "outer race";
    case BearingDefect::kInnerRace:
      return "inner race";
    case BearingDefect::kBall:
      return "ball";
    case BearingDefect::kNone:
      break;
  }
  return "none";
}

const char* defect_field(BearingDefect d) {
  switch (d) {
    case BearingDefect::kOuterRace:
      return "bpfo";
    case BearingDefect::kInnerRace:
      return "bpfi";
    case BearingDefect::kBall:
      return "bsf";
    case BearingDefect::kNone:
      break;
  }
  return "";
}

double cwru_nominal_rpm(int load_hp) {
  static constexpr double kRpm[4] = {1797, 1772, 1750, 1730};
  return load_hp >= 0 && load_hp < 4 ? kRpm[load_hp] : 0;
}

Result<CwruRecording> parse_cwru_name(const std::string& stem) {
  const auto bad = [&stem] {
    return make_error(
        Errc::kInvalidArgument,
        "'" + stem + "' is not a CWRU fault recording name (<IR|B|OR><size>[@pos]_<load>, e.g. IR007_1, OR014@6_0)");
  };
  CwruRecording r;
  r.name = stem;
  std::size_t i = 0;
  if (stem.rfind("IR", 0) == 0) {
    r.defect = BearingDefect::kInnerRace;
    i = 2;
  } else if (stem.rfind("OR", 0) == 0) {
    r.defect = BearingDefect::kOuterRace;
    i = 2;
  } else if (stem.rfind("B", 0) == 0) {
    r.defect = BearingDefect::kBall;
    i = 1;
  } else {
    return bad();
  }
  const std::size_t size_at = i;
  const int size = digits_at(stem, i);
  if (size <= 0 || i - size_at != 3) return bad();
  r.size_mils = size;
  if (r.defect == BearingDefect::kOuterRace) {
    if (i >= stem.size() || stem[i] != '@') return bad();  // the outer-race faults name their position
    ++i;
    if (digits_at(stem, i) <= 0) return bad();
  }
  r.fault_class = stem.substr(0, i);
  if (i >= stem.size() || stem[i] != '_') return bad();
  ++i;
  const int load = digits_at(stem, i);
  if (load < 0 || load > 3 || i != stem.size()) return bad();
  r.load_hp = load;
  return r;
}

Result<CwruData> load_cwru(const std::string& dir, const std::string& only) {
  namespace fs = std::filesystem;
  CwruData data;
  std::error_code ec;
  const fs::path faults = fs::path(dir) / "12k_DE";
  const fs::path normal = fs::path(dir) / "normal";
  if (!fs::is_directory(faults, ec))
    return make_error(Errc::kNotFound, dir + ": no 12k_DE/ folder (the fault recordings)");
  if (!fs::is_directory(normal, ec))
    return make_error(Errc::kNotFound, dir + ": no normal/ folder (the healthy baseline)");

  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(faults, ec)) {
    if (e.path().extension() == ".mat") files.push_back(e.path());
  }
  if (ec) return make_error(Errc::kIo, faults.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    const std::string stem = p.stem().string();
    if (!only.empty() && stem.find(only) == std::string::npos) continue;
    auto rec = parse_cwru_name(stem);
    if (!rec.ok()) return make_error(Errc::kInvalidArgument, p.string() + ": " + rec.error().message);
    EDGELOOP_ASSIGN_OR_RETURN(DriveEnd de, read_drive_end(p.string()));
    rec->record = de.record;
    rec->rpm_from_file = de.rpm > 0;
    rec->rpm = de.rpm > 0 ? de.rpm : cwru_nominal_rpm(rec->load_hp);
    rec->samples = std::move(de.samples);
    data.recordings.push_back(std::move(rec).value());
  }
  if (data.recordings.empty()) {
    return make_error(Errc::kNotFound, faults.string() + ": no fault recording" +
                                           (only.empty() ? "" : " whose name contains '" + only + "'"));
  }

  std::vector<fs::path> normals;
  for (const auto& e : fs::directory_iterator(normal, ec)) {
    if (e.path().extension() == ".mat") normals.push_back(e.path());
  }
  if (normals.empty()) return make_error(Errc::kNotFound, normal.string() + ": no .mat file (the healthy baseline)");
  std::sort(normals.begin(), normals.end());
  EDGELOOP_ASSIGN_OR_RETURN(DriveEnd base, read_drive_end(normals.front().string()));
  CwruBaseline& b = data.baseline;
  b.name = "normal/" + normals.front().filename().string();
  b.record = base.record;
  b.rpm = base.rpm > 0 ? base.rpm : cwru_nominal_rpm(0);
  b.source_samples = base.samples.size();
  b.decimation = static_cast<int>(std::lround(b.source_rate_hz / kCwruRateHz));
  auto dec = dsp::Decimator::create(b.decimation);
  if (!dec.ok()) return dec.take_error();
  b.samples = dec->decimate(base.samples);
  return data;
}

std::vector<std::shared_ptr<const SampleBlock>> make_blocks(const std::vector<double>& x, std::size_t from,
                                                            std::size_t to, std::size_t block, double sample_rate_hz) {
  std::vector<std::shared_ptr<const SampleBlock>> out;
  to = std::min(to, x.size());
  if (block == 0) return out;
  for (std::size_t at = from; at + block <= to; at += block) {
    auto b = std::make_shared<SampleBlock>();
    b->sample_rate_hz = sample_rate_hz;
    b->samples.resize(block);
    for (std::size_t i = 0; i < block; ++i) b->samples[i] = static_cast<float>(x[at + i]);
    out.push_back(std::move(b));
  }
  return out;
}

DefectNaming name_defect(const std::vector<double>& bpfo, const std::vector<double>& bpfi,
                         const std::vector<double>& bsf, std::size_t from, std::size_t to) {
  DefectNaming n;
  std::vector<double> e[3];
  to = std::min({to, bpfo.size(), bpfi.size(), bsf.size()});
  for (std::size_t i = from; i < to; ++i) {
    if (std::isnan(bpfo[i]) || std::isnan(bpfi[i]) || std::isnan(bsf[i])) continue;
    e[0].push_back(bpfo[i]);
    e[1].push_back(bpfi[i]);
    e[2].push_back(bsf[i]);
  }
  n.windows = e[0].size();
  if (n.windows == 0) return n;
  double med[3];
  for (int k = 0; k < 3; ++k) {
    auto& v = e[k];
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size();
    med[k] = m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
  }
  n.bpfo = med[0];
  n.bpfi = med[1];
  n.bsf = med[2];
  const int best = static_cast<int>(std::max_element(med, med + 3) - med);
  double second = 0;
  for (int k = 0; k < 3; ++k)
    if (k != best) second = std::max(second, med[k]);
  static constexpr BearingDefect kOrder[3] = {BearingDefect::kOuterRace, BearingDefect::kInnerRace,
                                              BearingDefect::kBall};
  n.named = kOrder[best];
  n.lead = second > 0 ? med[best] / second : std::numeric_limits<double>::infinity();
  return n;
}

}  // namespace edgeloop::eval
