#include "eval/text_io.h"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace edgeloop::eval {

Result<std::string> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error(Errc::kNotFound, "cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return make_error(Errc::kIo, "cannot read " + path);
  return ss.str();
}

Status write_file_atomic(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return make_error(Errc::kIo, "cannot write " + tmp);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!f) return make_error(Errc::kIo, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return make_error(Errc::kIo, "cannot rename " + tmp + " to " + path);
  return Status::Ok();
}

void split(std::string_view line, char sep, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = line.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(line.substr(start));
      return;
    }
    out.push_back(line.substr(start, pos - start));
    start = pos + 1;
  }
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(start, end - start);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (!l.empty()) out.push_back(l);
    start = end + 1;
  }
  return out;
}

Result<double> to_number(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '"')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '"')) text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return make_error(Errc::kParse, "not a number: '" + std::string(text) + "'");
  }
  return v;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

Result<int64_t> parse_timestamp_ns(std::string_view t) {
  while (!t.empty() && (t.front() == ' ' || t.front() == '"')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '"')) t.remove_suffix(1);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const bool ok = digits(t, 0, 4, y) && t.size() >= 19 && t[4] == '-' && digits(t, 5, 2, mo) && t[7] == '-' &&
                  digits(t, 8, 2, d) && (t[10] == ' ' || t[10] == 'T') && digits(t, 11, 2, h) && t[13] == ':' &&
                  digits(t, 14, 2, mi) && t[16] == ':' && digits(t, 17, 2, s);
  if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return make_error(Errc::kParse, "not a timestamp (YYYY-MM-DD HH:MM:SS): '" + std::string(t) + "'");
  }
  int64_t frac_ns = 0;
  if (t.size() > 19) {
    if (t[19] != '.') return make_error(Errc::kParse, "not a timestamp (YYYY-MM-DD HH:MM:SS): '" + std::string(t) + "'");
    int64_t scale = 100'000'000;
    for (std::size_t i = 20; i < t.size(); ++i) {
      if (t[i] < '0' || t[i] > '9') return make_error(Errc::kParse, "bad fraction in timestamp '" + std::string(t) + "'");
      frac_ns += (t[i] - '0') * scale;
      scale /= 10;
    }
  }
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * int64_t{60'000'000'000} + int64_t{s} * 1'000'000'000 + frac_ns;
}

std::string format_timestamp(int64_t ts_ns) {
  int64_t secs = ts_ns / 1'000'000'000;
  if (ts_ns < 0 && secs * 1'000'000'000 != ts_ns) --secs;
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days (Howard Hinnant).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y0 = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = y0 + (m <= 2);
  char buf[96];  // room for any int64 the compiler cannot rule out
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  return buf;
}

}  // namespace edgeloop::eval
