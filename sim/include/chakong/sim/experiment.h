// Experiments behind `chakong experiment`: replications of scenarios over seeds, the mean and
// 95 % confidence interval of every headline figure, paired differences between variants
// (is the effect real or seed noise?) and a search for the smallest parameter value that
// meets a target.
//
// Seeds: replication i of every variant runs with seed base + i (base: --seed, else the first
// variant's scenario seed), so replication 0 is the plain `chakong simulate` run and the
// variants are compared on the same seeds (paired: the difference of each pair, then its
// interval; the population and arrivals are then the same in both runs of a pair).
//
// Determinism: runs go over a pool of threads, each run single-threaded; results are kept by
// (variant, replication), never by completion order, so experiment.json is byte-identical
// whatever the thread count. It holds no wall-clock data.
#ifndef CHAKONG_SIM_EXPERIMENT_H_
#define CHAKONG_SIM_EXPERIMENT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "chakong/base/status.h"
#include "chakong/sim/simulation.h"

namespace chakong::sim {

// One headline figure of a run, named by its path in report.json
// ("deadlines.control_48h.compliance", "connectors[name=securities.csdc].control_missed").
struct Metric {
  std::string name;
  double value = 0;
};

// The headline figures of a run, in a fixed order: the 48-hour control (compliance, met,
// missed), query timeliness, preservation start, renewals lapsed, the sweep, money frozen,
// then every institution's 48-hour misses in report order.
std::vector<Metric> headline_metrics(const SimulationReport& r);

// The two-sided 97.5 % quantile of Student's t with `df` degrees of freedom (df >= 1): exact
// to 6 digits up to 30, then the Cornish-Fisher expansion.
double t_quantile_975(int df);

// The mean of a sample and its 95 % confidence interval, mean +- half_width, from Student's t
// (n - 1 degrees of freedom). With one value, stddev and half_width are 0 and `interval` is
// false.
struct Estimate {
  size_t n = 0;
  double mean = 0, stddev = 0, half_width = 0;
  bool interval = false;  // n >= 2.
  double lo() const { return mean - half_width; }
  double hi() const { return mean + half_width; }
};
Estimate estimate(const std::vector<double>& values);

// One arm of an experiment: a scenario file and the overrides applied to it (`--set`).
struct Variant {
  std::string name;
  std::string scenario;                // Path of the YAML file.
  std::vector<std::string> overrides;  // path=value, as --set takes them.
};

struct ExperimentSpec {
  std::vector<Variant> variants;  // The first is the baseline of the differences.
  int replications = 5;           // >= 2.
  uint64_t seed = 0;              // 0: the first variant's scenario seed.
  int days = 0;                   // 0: each scenario's.
  int threads = 1;                // Runs at once (each run single-threaded).
  // Called after each run, from the thread that ran it, serialised: `done` of `total` runs.
  std::function<void(int done, int total, const std::string& variant, uint64_t seed)> on_run;
};

struct VariantResult {
  Variant variant;
  std::vector<std::string> metrics;         // Names, in headline order.
  std::vector<std::vector<double>> values;  // [metric][replication].
  std::vector<Estimate> estimates;          // [metric].
};

// A metric's paired difference, variant minus baseline, over the common seeds.
struct Difference {
  std::string metric;
  Estimate diff;
  // The interval excludes zero (or, with zero spread, the difference is not zero).
  bool distinguishable = false;
};

struct ExperimentResult {
  std::vector<uint64_t> seeds;
  std::vector<VariantResult> variants;
  std::vector<std::vector<Difference>> differences;  // [variant - 1], metrics both have.
};

// Loads every variant (errors name the file, field and value, as `simulate` does), then runs
// variants x replications. kInvalidArgument for a bad spec or scenario; a failing run's status
// otherwise.
[[nodiscard]] StatusOr<ExperimentResult> run_experiment(const ExperimentSpec& spec);

// `--find PATH --target METRIC>=VALUE` (or <=) over integer values in [lo, hi]: the smallest
// value whose replications' mean meets the target, by bisection (the figure is assumed to
// improve with the value).
struct Target {
  std::string metric;
  bool at_least = true;  // >= (else <=).
  double value = 0;
  bool met_by(double x) const { return at_least ? x >= value : x <= value; }
};
// "deadlines.control_48h.compliance>=0.99"; kInvalidArgument naming the text.
[[nodiscard]] StatusOr<Target> parse_target(const std::string& text);

struct SearchSpec {
  ExperimentSpec base;  // One variant: the scenario searched.
  std::string path;     // The field varied, as --set names it.
  int64_t lo = 1, hi = 64;
  Target target;
};
struct Probe {
  int64_t value = 0;
  Estimate estimate;  // Of the target metric.
  bool met = false;
  // The whole interval is on the target's side (met) or off it (not met).
  bool confident = false;
};
struct SearchResult {
  std::vector<Probe> probes;        // In the order run.
  std::optional<int64_t> smallest;  // Unset: not even hi meets the target.
  // False when a probe met the target at a smaller value than one that did not: the figure
  // does not improve with the value, so `smallest` is not to be trusted.
  bool monotonic = true;
};
// Whether, by value, no probe that meets the target lies below one that does not.
bool probes_monotonic(const std::vector<Probe>& probes);
[[nodiscard]] StatusOr<SearchResult> run_search(const SearchSpec& spec);

// The bisection of run_search: probes hi (unset when it fails), then lo, then midpoints.
[[nodiscard]] StatusOr<std::optional<int64_t>> bisect_smallest(
    int64_t lo, int64_t hi, const std::function<StatusOr<bool>(int64_t)>& meets);

// A headline figure as people read it, by its name: a compliance or coverage in percent
// ("99.21 %"), money in whole yuan with separators ("-¥389,060"), a score or days to two
// decimals, a count to one. Used by experiment.html, `compare` and the command's tables.
std::string format_metric(const std::string& metric, double x);

// experiment.json and experiment.html: the variants side by side, the differences, or the
// probes of a search.
std::string experiment_json(const ExperimentSpec& spec, const ExperimentResult& r);
std::string experiment_html(const ExperimentSpec& spec, const ExperimentResult& r);
std::string search_json(const SearchSpec& spec, const SearchResult& r);

// `chakong compare A B`: the headline figures of two report.json or experiment.json files
// (the first variant of an experiment) side by side with B - A. With replications in both, the
// difference has its 95 % interval (paired when both ran on the same seeds, else Welch's) and
// a verdict, real or noise; with single reports it has none, and the text says so.
// kInvalidArgument naming the file when one is not a Chakong report or experiment.
[[nodiscard]] StatusOr<std::string> compare_reports(const std::string& a_name,
                                                    const std::string& a_text,
                                                    const std::string& b_name,
                                                    const std::string& b_text);

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_EXPERIMENT_H_
