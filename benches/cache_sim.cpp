// cache_sim: the hit ratio of frugal::cache on many traces, against LRU, W-TinyLFU with a
// fixed 1 % window (frugal's own policy with the window chooser off) and Belady's optimal
// offline policy. Deterministic: no clock, no threads; a run prints the same figures every
// time.
//
//   cache_sim [--quick] [--seeds N] [--json FILE] [--markdown FILE] [--check]
//   cache_sim --trace FILE --capacity N [--capacity M ...] [--json FILE] [--check]
//
// Without --trace it generates the traces (benches/cache_sim_policies.hpp; seeds 1..N, 3 by
// default) and replays each at capacities of 0.1 %, 1 % and 10 % of its distinct keys. With
// --trace it replays one key per line of FILE (a line that is a decimal number is that key,
// any other line is hashed). --quick: seed 1 and traces a tenth of the size (the ctest check).
// --only NAME[,NAME...]: only the generated traces whose name contains one of the NAMEs.
// --slack P: the first goal allows P points below the better reference instead of 0.5.
// --check: exit 1 when a goal is missed (frugal at least the better of LRU and fixed
// W-TinyLFU minus 0.5 points on every case; on the scan trace at 1 %, LRU plus 5 points).
#include "cache_sim_policies.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using cache_sim::key_type;
using cache_sim::trace;

struct seed_result {
  std::uint64_t seed = 0;
  std::size_t requests = 0;
  std::size_t distinct = 0;
  std::size_t capacity = 0;
  double frugal = 0, lru = 0, fixed = 0, optimal = 0;
  double window_fraction = 0;  // the adaptive cache's window at the end, / capacity
};

// How far below the better of LRU and fixed W-TinyLFU frugal may be, in points (--slack).
double slack_points = 0.5;

struct case_result {
  std::string trace_name;
  std::string capacity_label;  // "0.1 %"
  double fraction = 0;
  std::vector<seed_result> seeds;
  double mean(double seed_result::*field) const {
    double sum = 0;
    for (const auto& s : seeds) sum += s.*field;
    return seeds.empty() ? 0 : sum / static_cast<double>(seeds.size());
  }
  double mean_capacity() const {
    double sum = 0;
    for (const auto& s : seeds) sum += static_cast<double>(s.capacity);
    return seeds.empty() ? 0 : sum / static_cast<double>(seeds.size());
  }
  bool scan_goal() const { return trace_name == "scan" && capacity_label == "1 %"; }
  // The margin to the goal, in points (negative: missed).
  double margin() const {
    const double f = mean(&seed_result::frugal);
    const double base = std::max(mean(&seed_result::lru), mean(&seed_result::fixed));
    double m = (f - base) * 100 + slack_points;
    if (scan_goal()) m = std::min(m, (f - mean(&seed_result::lru)) * 100 - 5);
    return m;
  }
};

seed_result run_one(const trace& keys, std::size_t capacity, std::uint64_t seed) {
  seed_result r;
  r.seed = seed;
  r.requests = keys.size();
  r.distinct = cache_sim::distinct_keys(keys);
  r.capacity = capacity;
  const auto n = static_cast<double>(keys.size());
  {
    cache_sim::frugal_cache_policy p(capacity);
    r.frugal = static_cast<double>(cache_sim::replay(p, keys)) / n;
    r.window_fraction = capacity == 0 ? 0
                                      : static_cast<double>(p.cache().policy_sizes().window) /
                                            static_cast<double>(capacity);
  }
  {
    cache_sim::lru_policy p(capacity);
    r.lru = static_cast<double>(cache_sim::replay(p, keys)) / n;
  }
  {
    cache_sim::w_tinylfu_policy p(capacity, frugal::detail::cache::window_sizing::fixed);
    r.fixed = static_cast<double>(cache_sim::replay(p, keys)) / n;
  }
  r.optimal = static_cast<double>(cache_sim::optimal_hits(keys, capacity)) / n;
  return r;
}

struct family {
  std::string name;
  // Makes the trace of one seed; `capacity` is nonzero only for traces sized by it (the loop).
  std::function<trace(std::uint64_t seed, std::size_t capacity)> make;
  bool sized_by_capacity = false;
};

std::vector<family> families(bool quick) {
  const std::size_t d = quick ? 10 : 1;  // the quick run: a tenth of every size
  std::vector<family> out;
  for (double s : {0.8, 0.9, 0.99}) {
    char name[32];
    std::snprintf(name, sizeof name, "zipf %.2g", s);
    out.push_back({name, [=](std::uint64_t seed, std::size_t) {
                     return cache_sim::zipf_trace(100'000 / d, s, 1'000'000 / d, seed);
                   }});
  }
  out.push_back({"scan", [=](std::uint64_t seed, std::size_t) {
                   return cache_sim::scan_trace(100'000 / d, 1'000'000 / d, 50'000 / d, 20'000 / d,
                                                seed);
                 }});
  out.push_back({"loop",
                 [=](std::uint64_t seed, std::size_t capacity) {
                   return cache_sim::loop_trace(capacity + capacity / 2, 1'000'000 / d, seed);
                 },
                 true});
  out.push_back({"shifting", [=](std::uint64_t seed, std::size_t) {
                   return cache_sim::shifting_trace(10, 100'000 / d, 50'000 / d, 10'000 / d, seed);
                 }});
  out.push_back({"bursts", [=](std::uint64_t seed, std::size_t) {
                   return cache_sim::burst_trace(1'000'000 / d, seed);
                 }});
  return out;
}

struct capacity_point {
  const char* label;
  double fraction;
};
constexpr capacity_point capacity_points[] = {{"0.1 %", 0.001}, {"1 %", 0.01}, {"10 %", 0.1}};

std::vector<case_result> run_generated(bool quick, unsigned seeds, const std::string& only) {
  std::vector<case_result> out;
  // The loop has no natural key count: its capacities are those fractions of the Zipf traces'
  // key count, and it loops over 1.5 times the capacity.
  const std::size_t nominal_keys = quick ? 10'000 : 100'000;
  for (const family& f : families(quick)) {
    if (!only.empty()) {
      bool wanted = false;
      for (std::size_t at = 0; at <= only.size();) {
        std::size_t comma = only.find(',', at);
        if (comma == std::string::npos) comma = only.size();
        const std::string part = only.substr(at, comma - at);
        if (!part.empty() && f.name.find(part) != std::string::npos) wanted = true;
        at = comma + 1;
      }
      if (!wanted) continue;
    }
    std::vector<case_result> cases;
    for (const auto& cp : capacity_points) {
      cases.push_back({f.name, cp.label, cp.fraction, {}});
    }
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
      trace shared;
      std::size_t distinct = 0;
      if (!f.sized_by_capacity) {
        shared = f.make(seed, 0);
        distinct = cache_sim::distinct_keys(shared);
      }
      for (auto& c : cases) {
        if (f.sized_by_capacity) {
          const auto capacity = static_cast<std::size_t>(
              std::llround(c.fraction * static_cast<double>(nominal_keys)));
          c.seeds.push_back(run_one(f.make(seed, capacity), capacity, seed));
        } else {
          const auto capacity = std::max<std::size_t>(
              1,
              static_cast<std::size_t>(std::llround(c.fraction * static_cast<double>(distinct))));
          c.seeds.push_back(run_one(shared, capacity, seed));
        }
        std::fprintf(stderr,
                     "%s at %s, seed %llu: frugal %.4f lru %.4f fixed %.4f optimal %.4f "
                     "window %.3f\n",
                     c.trace_name.c_str(), c.capacity_label.c_str(),
                     static_cast<unsigned long long>(seed), c.seeds.back().frugal,
                     c.seeds.back().lru, c.seeds.back().fixed, c.seeds.back().optimal,
                     c.seeds.back().window_fraction);
      }
    }
    out.insert(out.end(), cases.begin(), cases.end());
  }
  return out;
}

key_type key_of_line(std::string_view line) {
  key_type v = 0;
  bool number = !line.empty() && line.size() <= 19;
  for (char ch : line) {
    if (ch < '0' || ch > '9') {
      number = false;
      break;
    }
    v = v * 10 + static_cast<key_type>(ch - '0');
  }
  if (number) return v;
  key_type h = 0xcbf29ce484222325ull;  // FNV-1a
  for (char ch : line) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", ratio * 100);
  return buf;
}

std::string with_commas(std::uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string json_number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

// A mean as the JSON file holds it (6 decimals), so that the table printed here and the one
// scripts/cache_sim_table.py renders from the file round alike.
double as_stored(double v) { return std::strtod(json_number(v).c_str(), nullptr); }

// The table docs/cache.md quotes; scripts/cache_sim_table.py renders the same from the JSON.
std::string markdown(const std::vector<case_result>& cases) {
  std::string out =
      "| trace | capacity | frugal | LRU | W-TinyLFU 1 % | optimal | frugal - best of LRU, "
      "W-TinyLFU 1 % |\n|---|---|---|---|---|---|---|\n";
  for (const auto& c : cases) {
    const double f = as_stored(c.mean(&seed_result::frugal)),
                 l = as_stored(c.mean(&seed_result::lru)),
                 w = as_stored(c.mean(&seed_result::fixed)),
                 o = as_stored(c.mean(&seed_result::optimal));
    char diff[32];
    std::snprintf(diff, sizeof diff, "%+.1f", (f - std::max(l, w)) * 100);
    out += "| " + c.trace_name + " | " + c.capacity_label + " (" +
           with_commas(static_cast<std::uint64_t>(std::llround(c.mean_capacity()))) + ") | " +
           percent(f) + " | " + percent(l) + " | " + percent(w) + " | " + percent(o) + " | " +
           diff + " |\n";
  }
  return out;
}

std::string json(const std::vector<case_result>& cases, const std::string& what, bool quick,
                 unsigned seeds) {
  std::ostringstream o;
  o << "{\n  \"generator\": \"benches/cache_sim.cpp\",\n  \"traces\": \"" << what
    << "\",\n  \"quick\": " << (quick ? "true" : "false") << ",\n  \"seeds\": " << seeds
    << ",\n  \"results\": [\n";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    o << "    {\"trace\": \"" << c.trace_name << "\", \"capacity_label\": \"" << c.capacity_label
      << "\", \"capacity\": " << std::llround(c.mean_capacity())
      << ", \"frugal\": " << json_number(c.mean(&seed_result::frugal))
      << ", \"lru\": " << json_number(c.mean(&seed_result::lru))
      << ", \"wtinylfu_fixed\": " << json_number(c.mean(&seed_result::fixed))
      << ", \"optimal\": " << json_number(c.mean(&seed_result::optimal))
      << ", \"goal_margin_points\": " << json_number(c.margin()) << ",\n     \"per_seed\": [";
    for (std::size_t j = 0; j < c.seeds.size(); ++j) {
      const auto& s = c.seeds[j];
      o << (j ? ", " : "") << "{\"seed\": " << s.seed << ", \"requests\": " << s.requests
        << ", \"distinct_keys\": " << s.distinct << ", \"capacity\": " << s.capacity
        << ", \"frugal\": " << json_number(s.frugal) << ", \"lru\": " << json_number(s.lru)
        << ", \"wtinylfu_fixed\": " << json_number(s.fixed)
        << ", \"optimal\": " << json_number(s.optimal)
        << ", \"final_window_fraction\": " << json_number(s.window_fraction) << "}";
    }
    o << "]}" << (i + 1 < cases.size() ? "," : "") << "\n";
  }
  o << "  ]\n}\n";
  return o.str();
}

int usage(const char* why) {
  std::fprintf(stderr,
               "cache_sim: %s\nusage: cache_sim [--quick] [--seeds N] [--only NAME,...] [--slack "
               "P] [--json FILE] "
               "[--markdown FILE] [--check]\n       cache_sim --trace FILE --capacity N "
               "[--capacity M ...] [--json FILE] [--markdown FILE] [--check]\n",
               why);
  return 2;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, check = false;
  unsigned seeds = 3;
  std::string json_path, markdown_path, trace_path, only;
  std::vector<std::size_t> capacities;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--quick") {
      quick = true;
    } else if (a == "--check") {
      check = true;
    } else if (a == "--seeds" || a == "--json" || a == "--markdown" || a == "--trace" ||
               a == "--capacity" || a == "--only" || a == "--slack") {
      const char* v = value();
      if (v == nullptr) return usage("an option lacks its value");
      if (a == "--seeds") {
        seeds = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
        if (seeds == 0) return usage("--seeds must be at least 1");
      } else if (a == "--json") {
        json_path = v;
      } else if (a == "--markdown") {
        markdown_path = v;
      } else if (a == "--slack") {
        slack_points = std::strtod(v, nullptr);
      } else if (a == "--only") {
        only = v;
      } else if (a == "--trace") {
        trace_path = v;
      } else {
        char* end = nullptr;
        const unsigned long long c = std::strtoull(v, &end, 10);
        if (end == v || *end != '\0') return usage("--capacity takes a number of entries");
        capacities.push_back(static_cast<std::size_t>(c));
      }
    } else {
      return usage(("unknown argument " + std::string(a)).c_str());
    }
  }
  if (quick) seeds = 1;

  std::vector<case_result> cases;
  std::string what = "generated";
  if (!trace_path.empty()) {
    if (capacities.empty()) return usage("--trace needs at least one --capacity");
    std::ifstream in(trace_path);
    if (!in) return usage(("cannot read " + trace_path).c_str());
    trace keys;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) keys.push_back(key_of_line(line));
    }
    if (keys.empty()) return usage((trace_path + " holds no key").c_str());
    what = trace_path;
    seeds = 1;
    for (std::size_t c : capacities) {
      case_result r{trace_path, std::to_string(c), 0, {run_one(keys, c, 0)}};
      cases.push_back(std::move(r));
    }
  } else {
    if (!capacities.empty()) return usage("--capacity needs --trace");
    cases = run_generated(quick, seeds, only);
  }

  const std::string table = markdown(cases);
  std::fputs(table.c_str(), stdout);
  if (!json_path.empty() && !write_file(json_path, json(cases, what, quick, seeds))) {
    std::fprintf(stderr, "cache_sim: cannot write %s\n", json_path.c_str());
    return 2;
  }
  if (!markdown_path.empty() && !write_file(markdown_path, table)) {
    std::fprintf(stderr, "cache_sim: cannot write %s\n", markdown_path.c_str());
    return 2;
  }
  int missed = 0;
  for (const auto& c : cases) {
    if (c.margin() < 0) {
      ++missed;
      std::fprintf(stderr, "goal missed: %s at %s by %.2f points\n", c.trace_name.c_str(),
                   c.capacity_label.c_str(), -c.margin());
    }
  }
  if (missed == 0) std::fprintf(stderr, "every goal met\n");
  return check && missed > 0 ? 1 : 0;
}
