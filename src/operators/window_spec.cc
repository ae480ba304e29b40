#include "operators/window_spec.h"

#include <numeric>

namespace edgeloop {

bool parse_agg(std::string_view name, Agg& out) {
  for (std::size_t i = 0; i < std::size(kAggNames); ++i) {
    if (kAggNames[i] == name) {
      out = static_cast<Agg>(i);
      return true;
    }
  }
  return false;
}

std::string_view agg_name(Agg a) { return kAggNames[static_cast<std::size_t>(a)]; }

Metrics::Labels stage_labels(const StageContext& ctx) {
  return {{"pipeline", ctx.pipeline}, {"stage", std::to_string(ctx.stage_index) + ":" + ctx.name}};
}

PluginInfo window_info() {
  PluginInfo p;
  p.name = "window";
  p.summary =
      "Per-key windows over event time: count windows (`size`, `hop`) or time windows (`duration`, `hop`), "
      "emitting one record of aggregates per window (mean, min, max, sum, count, stddev, first, last, rate).";
  p.shorthand = "size";
  p.options = {
      {.name = "size", .type = OptionType::kInt,
       .description = "Count window: the number of readings in a window. Give `size` or `duration`, not both.",
       .min = 1, .max = static_cast<double>(kMaxCountWindow)},
      {.name = "duration", .type = OptionType::kDuration,
       .description = "Time window: its length in event time; windows are [start, start + duration) with start a "
                      "multiple of `hop` since the Unix epoch. Give `size` or `duration`, not both.",
       .min = 1e-9},
      {.name = "hop", .type = OptionType::kString,
       .description = "Count window: readings between two emissions (integer; default `size`: tumbling; 1: sliding, "
                      "one emission per reading). Time window: a duration between window starts (default `duration`)."},
      {.name = "field", .type = OptionType::kString,
       .description = "The input field to aggregate. Default: the first input field."},
      {.name = "fields", .type = OptionType::kList,
       .description = "Several input fields to aggregate (instead of `field`); outputs are named `<field>_<aggregate>`."},
      {.name = "aggregates", .type = OptionType::kList, .default_value = "mean",
       .description = "Aggregates to emit, per field, in this order: mean, min, max, sum, count, stddev (sample), "
                      "first, last, rate (change per second between the first and the last reading)."},
      {.name = "partial", .type = OptionType::kBool, .default_value = "false",
       .description = "Count windows: also emit, on the hop schedule, before the window holds `size` readings "
                      "(false: nothing is emitted before it is full)."},
      {.name = "idle_close", .type = OptionType::kDuration, .default_value = "0s",
       .description = "Time windows: close a key's open window once the wall clock is this far past its end with no "
                      "newer reading of the key (0: only a newer reading closes it). For live data.",
       .min = 0},
  };
  return p;
}

namespace {

std::string field_list(const Schema& s) {
  std::string out;
  for (const auto& n : s.names()) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

Status scalar_items(const Options& opts, const char* name) {
  const ConfigNode* n = opts.node(name);
  if (n && n->is_sequence()) {
    for (const auto& item : n->items())
      if (!item.is_scalar()) return opts.error(name, std::string("expected a list of names, got a ") + item.kind_name() + " in it");
  }
  return Status::Ok();
}

}  // namespace

Result<WindowSpec> parse_window_spec(const Options& opts, const Schema& input) {
  WindowSpec w;
  const bool has_size = opts.has("size"), has_duration = opts.has("duration");
  if (has_size == has_duration) {
    return opts.error(has_size ? "duration" : "size",
                      has_size ? "give `size` (a count window) or `duration` (a time window), not both"
                               : "missing `size` (a count window) or `duration` (a time window)");
  }
  w.time = has_duration;

  // Fields.
  if (input.size() == 0) return opts.error("field", "the window's input has no fields");
  EDGELOOP_TRY(scalar_items(opts, "fields"));
  EDGELOOP_TRY(scalar_items(opts, "aggregates"));
  std::vector<std::string> names;
  if (opts.has("field") && opts.has("fields")) return opts.error("fields", "give `field` or `fields`, not both");
  if (opts.has("fields")) names = opts.list("fields");
  else if (opts.has("field")) names.push_back(opts.str("field"));
  else names.push_back(input.name(0));
  if (names.empty()) return opts.error("fields", "the list of fields is empty");
  for (const auto& n : names) {
    const int i = input.index_of(n);
    if (i < 0) {
      return opts.error(opts.has("fields") ? "fields" : "field",
                        "unknown field '" + n + "' (input fields: " + field_list(input) + ")");
    }
    if (static_cast<std::size_t>(i) >= kMaxFields) {
      return opts.error(opts.has("fields") ? "fields" : "field",
                        "field '" + n + "' is past the first " + std::to_string(kMaxFields) + " values a record carries");
    }
    for (uint16_t prev : w.fields)
      if (prev == i) return opts.error("fields", "field '" + n + "' is listed twice");
    w.fields.push_back(static_cast<uint16_t>(i));
  }

  // Aggregates.
  for (const auto& a : opts.list("aggregates")) {
    Agg agg{};
    if (!parse_agg(a, agg)) {
      return opts.error("aggregates",
                        "unknown aggregate '" + a + "' (one of: mean, min, max, sum, count, stddev, first, last, rate)");
    }
    for (Agg prev : w.aggs)
      if (prev == agg) return opts.error("aggregates", "aggregate '" + a + "' is listed twice");
    w.aggs.push_back(agg);
    w.needs_welford = w.needs_welford || agg == Agg::kStddev;
    w.needs_minmax = w.needs_minmax || agg == Agg::kMin || agg == Agg::kMax;
    w.needs_ts = w.needs_ts || agg == Agg::kRate;
  }
  if (w.aggs.empty()) return opts.error("aggregates", "the list of aggregates is empty");
  const std::size_t nout = w.fields.size() * w.aggs.size();
  if (nout > kMaxFields) {
    return opts.error("aggregates", std::to_string(w.fields.size()) + " fields x " + std::to_string(w.aggs.size()) +
                                        " aggregates = " + std::to_string(nout) + " outputs, more than a record holds (" +
                                        std::to_string(kMaxFields) + ")");
  }
  std::vector<std::string> out;
  for (uint16_t f : w.fields)
    for (Agg a : w.aggs)
      out.push_back(w.fields.size() == 1 ? std::string(agg_name(a)) : input.name(f) + "_" + std::string(agg_name(a)));
  w.output = Schema(std::move(out));

  // Extent and hop.
  const std::string hop = opts.str("hop");
  if (!w.time) {
    w.size = static_cast<uint64_t>(opts.integer("size"));
    w.hop = w.size;
    if (!hop.empty()) {
      auto h = parse_int(hop);
      if (!h.ok() || *h < 1 || *h > kMaxCountWindow) {
        return opts.error("hop", "a count window's hop is a whole number of readings from 1 to " +
                                     std::to_string(kMaxCountWindow) + ", got '" + hop + "'");
      }
      w.hop = static_cast<uint64_t>(*h);
    }
    w.partial = opts.flag("partial");
    if (opts.has("idle_close")) return opts.error("idle_close", "`idle_close` is for time windows (`duration`)");
  } else {
    w.duration_ns = opts.duration_ns("duration");
    w.hop_ns = w.duration_ns;
    if (!hop.empty()) {
      auto h = parse_duration_ns(hop);
      if (!h.ok()) return opts.error("hop", "a time window's hop is a duration: " + h.error().message);
      if (*h <= 0) return opts.error("hop", "a time window's hop must be longer than 0");
      w.hop_ns = *h;
    }
    const int64_t g = std::gcd(w.duration_ns, w.hop_ns);
    if (w.duration_ns / g > kMaxPanes) {
      return opts.error("hop", "duration / gcd(duration, hop) = " + std::to_string(w.duration_ns / g) +
                                   " panes per window, more than " + std::to_string(kMaxPanes) +
                                   ": use a hop that divides the duration into fewer steps");
    }
    w.idle_close_ns = opts.duration_ns("idle_close");
    if (opts.has("partial")) return opts.error("partial", "`partial` is for count windows (`size`)");
  }
  return w;
}

}  // namespace edgeloop

