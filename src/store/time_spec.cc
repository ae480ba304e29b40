#include "store/time_spec.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>

#include "core/options.h"

namespace edgeloop::store {

namespace {

Error bad_time(std::string_view text, std::string_view why) {
  return make_error(Errc::kInvalidArgument, "bad time '" + std::string(text) + "': " + std::string(why) +
                                                " (ISO-8601 like 2024-11-25T12:00:00Z, Unix time like 1732536000s "
                                                "or 1732536000000ms, now, or -15m)");
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

Result<int64_t> parse_iso(std::string_view s) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int64_t frac_ns = 0;
  if (!digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' || !digits(s, pos, 2, month) || pos >= s.size() ||
      s[pos++] != '-' || !digits(s, pos, 2, day)) {
    return bad_time(s, "expected a date YYYY-MM-DD");
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return bad_time(s, "month or day out of range");
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ')) {
    ++pos;
    if (!digits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' || !digits(s, pos, 2, minute)) {
      return bad_time(s, "expected a time HH:MM[:SS[.fraction]]");
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!digits(s, pos, 2, second)) return bad_time(s, "expected seconds SS");
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        ++pos;
        int64_t scale = 100'000'000;
        std::size_t n = 0;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
          if (n < 9) frac_ns += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
          ++n;
        }
        if (n == 0) return bad_time(s, "expected digits after the decimal point");
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return bad_time(s, "hour, minute or second out of range");
  }
  int64_t offset_s = 0;
  if (pos < s.size()) {
    const char c = s[pos];
    if ((c == 'Z' || c == 'z') && pos + 1 == s.size()) {
      ++pos;
    } else if (c == '+' || c == '-') {
      ++pos;
      int oh = 0, om = 0;
      if (!digits(s, pos, 2, oh)) return bad_time(s, "expected a zone offset +HH:MM");
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (!digits(s, pos, 2, om) || pos != s.size() || oh > 23 || om > 59) {
        return bad_time(s, "expected a zone offset +HH:MM");
      }
      offset_s = (oh * 3600 + om * 60) * (c == '-' ? -1 : 1);
    } else {
      return bad_time(s, "unexpected text after the time");
    }
  }
  const int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return secs * 1'000'000'000 + frac_ns;
}

}  // namespace

Result<int64_t> parse_time_ns(std::string_view text, int64_t now_ns) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return bad_time(text, "empty");
  if (text == "now") return now_ns;
  if (text.front() == '-') {
    const std::string_view rest = text.substr(1);
    if (rest.empty() || !std::isalpha(static_cast<unsigned char>(rest.back()))) {
      return bad_time(text, "a relative time needs a unit, like -15m");
    }
    auto d = parse_duration_ns(rest);
    if (!d.ok()) return bad_time(text, d.error().message);
    return now_ns - *d;
  }
  // A date has a '-' after four digits; a Unix time is digits and maybe a unit.
  if (text.size() >= 5 && text[4] == '-') return parse_iso(text);
  std::size_t n = 0;
  while (n < text.size() && std::isdigit(static_cast<unsigned char>(text[n]))) ++n;
  if (n == 0) return bad_time(text, "not a time");
  int64_t v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + n, v);
  if (ec != std::errc() || p != text.data() + n) return bad_time(text, "number out of range");
  const std::string_view unit = text.substr(n);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t mult = 0;
  if (unit.empty()) {
    if (v < 100'000'000'000) return bad_time(text, "ambiguous bare number: add a unit (s, ms, us, ns)");
    mult = v < 1'000'000'000'000'000 ? 1'000'000 : 1;
  } else if (unit == "s") {
    mult = 1'000'000'000;
  } else if (unit == "ms") {
    mult = 1'000'000;
  } else if (unit == "us") {
    mult = 1'000;
  } else if (unit == "ns") {
    mult = 1;
  } else {
    return bad_time(text, "unknown unit '" + std::string(unit) + "' (s, ms, us, ns)");
  }
  if (v > kMax / mult) return bad_time(text, "out of range");
  return v * mult;
}

std::string format_time_utc(int64_t ns) {
  int64_t secs = ns / 1'000'000'000;
  int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60), static_cast<long long>(frac));
  return buf;
}

}  // namespace edgeloop::store
